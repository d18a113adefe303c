//! A minimal HTTP/1.1 server (hyper 1 + hyper-util) that answers every request with a fixed
//! success body: the floor every client variant is measured against.
//!
//! It reads each request body in full (as any real server does, and so that hyper keeps the
//! connection alive), then answers `200` with the Feishu success body for paths under
//! `/open-apis/` and the EngageLab success body for anything else. No routing, no JSON
//! parsing, no state beyond a request counter.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::fixtures::{ENGAGELAB_SUCCESS, FEISHU_SUCCESS};

/// A running fixed-response server. Dropping it stops it.
#[derive(Debug)]
pub struct FixedServer {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    shutdown: Option<watch::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FixedServer {
    /// Starts the server on a dedicated OS thread running a current-thread Tokio runtime, so
    /// that it never shares a runtime (or a worker thread) with the client being measured.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub fn start_dedicated() -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let (shutdown, rx) = watch::channel(());
        let counter = Arc::clone(&requests);
        let thread = std::thread::Builder::new()
            .name("fixed-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
                    accept_loop(listener, counter, rx).await;
                });
            })?;
        Ok(Self {
            addr,
            requests,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Starts the server as tasks of the current Tokio runtime (it then shares the runtime's
    /// workers with the client).
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start_on_current_runtime() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let (shutdown, rx) = watch::channel(());
        tokio::spawn(accept_loop(listener, Arc::clone(&requests), rx));
        Ok(Self {
            addr,
            requests,
            shutdown: Some(shutdown),
            thread: None,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.shutdown.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    requests: Arc<AtomicU64>,
    mut stop: watch::Receiver<()>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let requests = Arc::clone(&requests);
                conns.spawn(async move {
                    let service = service_fn(move |req| {
                        let requests = Arc::clone(&requests);
                        async move { Ok::<_, Infallible>(answer(req, &requests).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn answer(req: Request<Incoming>, requests: &AtomicU64) -> Response<Full<Bytes>> {
    let feishu = req.uri().path().starts_with("/open-apis/");
    // Read the whole body, as a real server would.
    let _ = req.into_body().collect().await;
    requests.fetch_add(1, Ordering::Relaxed);
    let body = if feishu {
        FEISHU_SUCCESS
    } else {
        ENGAGELAB_SUCCESS
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
