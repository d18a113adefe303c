//! A loopback HTTP/1.1 server with scripted replies, for testing providers over real TCP
//! (feature `test-util`).
//!
//! It parses each request (request line, headers, `content-length` body), records it, and
//! answers with whatever the script returns for it: a normal response, raw bytes, a body
//! far larger than any cap, silence, or a closed socket. Connections are kept alive between
//! requests unless the reply closes them, and counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method, such as `PUT`.
    pub method: String,
    /// The request target exactly as sent (path and query, still percent-encoded).
    pub target: String,
    /// Header names (lower case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response with a `content-length`.
    Http {
        /// The status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// These bytes, verbatim, then the connection is closed.
    Raw(Vec<u8>),
    /// A 200 whose body of `bytes` bytes is streamed without a `content-length`, then closed.
    Huge {
        /// How many body bytes to stream (the client is expected to stop first).
        bytes: usize,
    },
    /// Reads the request and never answers (the connection stays open).
    Hang,
    /// Closes the connection without answering.
    Close,
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: &str) -> Self {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// A response with `content-type` and body as given.
    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Adds a header (for [`Reply::Http`] only).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Script = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

/// The server; it stops when dropped.
pub struct ScriptedServer {
    url: String,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedServer {
    /// Starts a server on `127.0.0.1:0` that answers every request with `script(request)`.
    pub async fn start<F>(script: F) -> std::io::Result<Self>
    where
        F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let script: Script = Arc::new(script);
        let task = tokio::spawn({
            let requests = Arc::clone(&requests);
            let connections = Arc::clone(&connections);
            async move {
                let mut open = tokio::task::JoinSet::new();
                while let Ok((stream, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    open.spawn(serve(stream, Arc::clone(&script), Arc::clone(&requests)));
                }
            }
        });
        Ok(Self {
            url,
            requests,
            connections,
            task,
        })
    }

    /// Starts a server that gives every request the same reply.
    pub async fn always(reply: Reply) -> std::io::Result<Self> {
        Self::start(move |_| reply.clone()).await
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, script: Script, log: Arc<Mutex<Vec<RecordedRequest>>>) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        match script(&request) {
            Reply::Http {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} Scripted\r\ncontent-length: {}\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                // One write: a second small one would wait for the client's delayed ACK
                // (Nagle), some 40 ms per answer.
                let mut answer = head.into_bytes();
                answer.extend_from_slice(&body);
                if stream.write_all(&answer).await.is_err() {
                    return;
                }
            }
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                return;
            }
            Reply::Huge { bytes } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                return;
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Reply::Close => return,
        }
    }
}

/// Reads one request; `None` when the peer closed or sent garbage.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<RecordedRequest> {
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + length].to_vec();
    buf.drain(..body_start + length);
    Some(RecordedRequest {
        method,
        target,
        headers,
        body,
    })
}
