//! Accepting TCP connections and serving HTTP/1 on each, with the header read timeout.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::dispatch::handle;
use crate::state::Shared;

/// Accepts connections until `shutdown` changes or its sender is dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Shared,
    mut shutdown: watch::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    shared.count_connection();
                    conns.spawn(serve_connection(stream, shared.clone(), shutdown.clone()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "ticket-sandbox: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// Per-connection bookkeeping for the header read timeout.
///
/// hyper's own `header_read_timeout` also runs while a keep-alive connection waits idle for its
/// next request, which would close pooled client connections after every pause. This one only
/// runs from a connection's start until its first request head is parsed, and then from the
/// first byte of each later request until its head is parsed.
struct HeaderClock {
    timeout: Option<Duration>,
    /// True between requests, when the next byte read starts a request head.
    idle: AtomicBool,
    deadline: watch::Sender<Option<Instant>>,
}

impl HeaderClock {
    fn new(timeout: Option<Duration>) -> Arc<Self> {
        let (deadline, _) = watch::channel(timeout.map(|t| Instant::now() + t));
        Arc::new(Self {
            timeout,
            idle: AtomicBool::new(false),
            deadline,
        })
    }

    fn bytes_read(&self) {
        if self.idle.swap(false, Ordering::AcqRel)
            && let Some(t) = self.timeout
        {
            self.deadline.send_replace(Some(Instant::now() + t));
        }
    }

    fn head_parsed(&self) {
        self.idle.store(false, Ordering::Release);
        self.deadline.send_replace(None);
    }

    fn request_done(&self) {
        self.idle.store(true, Ordering::Release);
    }

    /// Resolves when a running deadline passes.
    async fn expired(&self) {
        let mut rx = self.deadline.subscribe();
        loop {
            let deadline = *rx.borrow_and_update();
            match deadline {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.into()) => return,
                        changed = rx.changed() => if changed.is_err() { std::future::pending::<()>().await },
                    }
                }
                None => {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

/// The TCP stream, telling the [`HeaderClock`] when bytes arrive.
struct ClockedStream {
    inner: TcpStream,
    clock: Arc<HeaderClock>,
}

impl AsyncRead for ClockedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_read();
        }
        res
    }
}

impl AsyncWrite for ClockedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves one connection; dropping the connection future closes the socket, which is how
/// [`Fault::DropConnection`], [`Fault::TruncatedBody`] and the header read timeout end it.
async fn serve_connection(stream: TcpStream, shared: Shared, mut shutdown: watch::Receiver<()>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let clock = HeaderClock::new(shared.config.header_read_timeout);
    let svc_kill = Arc::clone(&kill);
    let svc_clock = Arc::clone(&clock);
    let service = service_fn(move |req| {
        let shared = shared.clone();
        let kill = Arc::clone(&svc_kill);
        let clock = Arc::clone(&svc_clock);
        async move {
            clock.head_parsed();
            let resp = handle(shared, kill, req).await;
            clock.request_done();
            Ok::<_, Infallible>(resp)
        }
    });
    let io = ClockedStream {
        inner: stream,
        clock: Arc::clone(&clock),
    };
    // Title-case header names (`X-Tt-Logid`, `Content-Type`): the vendors' own spelling, which
    // some SDKs look up case-sensitively.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(err) = res {
                tracing::debug!(error = %err, "ticket-sandbox: connection ended with an error");
            }
        }
        () = kill.notified() => {}
        () = clock.expired() => {
            tracing::debug!("ticket-sandbox: request head not received in time; closing");
        }
        _ = shutdown.changed() => {}
    }
}
