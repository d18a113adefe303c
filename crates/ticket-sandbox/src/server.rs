//! Connection handling, routing and fault application.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use crate::fault::{Fault, Scope};
use crate::model::RecordedRequest;
use crate::ratelimit::Provider;
use crate::state::{RouteKind, Shared};
use crate::util::{html_response, percent_decode};
use crate::{admin, engagelab, feishu};

/// Largest request body read; bigger ones are refused.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The EngageLab ticket route prefix.
const ENGAGELAB_TICKETS: &str = "/api/v2/accounts/tickets/";
/// The Feishu ticket route prefix.
const FEISHU_TICKETS: &str = "/open-apis/helpdesk/v1/tickets/";
/// The Feishu token refresh route.
pub(crate) const FEISHU_TOKEN: &str = "/open-apis/authen/v2/oauth/token";
/// The admin route prefix.
pub(crate) const ADMIN_PREFIX: &str = "/__sandbox";

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

/// Where a request is going.
#[derive(Debug)]
enum Route {
    /// `/api/v2/accounts/tickets/{id}`; `None` when the id's percent-encoding is invalid.
    EngageLabTicket(Option<String>),
    /// Any other `/api/...` path.
    EngageLabUnknown,
    /// `/open-apis/helpdesk/v1/tickets/{id}`; `None` when the id's percent-encoding is invalid.
    FeishuTicket(Option<String>),
    /// The token refresh endpoint.
    FeishuToken,
    /// Any other `/open-apis/...` path.
    FeishuUnknown,
    /// `/__sandbox...`.
    Admin,
    /// Anything else.
    Other,
}

impl Route {
    fn classify(path: &str) -> Self {
        if path == ADMIN_PREFIX || path.starts_with("/__sandbox/") {
            return Self::Admin;
        }
        if path == FEISHU_TOKEN {
            return Self::FeishuToken;
        }
        if let Some(rest) = path.strip_prefix(FEISHU_TICKETS) {
            return match single_segment(rest) {
                Some(id) => Self::FeishuTicket(id),
                None => Self::FeishuUnknown,
            };
        }
        if path.starts_with("/open-apis/") {
            return Self::FeishuUnknown;
        }
        if let Some(rest) = path.strip_prefix(ENGAGELAB_TICKETS) {
            return match single_segment(rest) {
                Some(id) => Self::EngageLabTicket(id),
                None => Self::EngageLabUnknown,
            };
        }
        if path.starts_with("/api/") {
            return Self::EngageLabUnknown;
        }
        Self::Other
    }

    fn kind(&self) -> RouteKind {
        match self {
            Self::EngageLabTicket(_) | Self::EngageLabUnknown => RouteKind::EngageLab,
            Self::FeishuTicket(_) | Self::FeishuUnknown => RouteKind::Feishu,
            Self::FeishuToken => RouteKind::FeishuToken,
            Self::Admin => RouteKind::Admin,
            Self::Other => RouteKind::Other,
        }
    }
}

/// `Some(Some(id))` for one non-empty, well-encoded segment; `Some(None)` for one segment whose
/// encoding is invalid; `None` when the rest is empty or has more segments.
fn single_segment(rest: &str) -> Option<Option<String>> {
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    Some(percent_decode(rest))
}

/// What a handler needs from the request.
pub(crate) struct ReceivedRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

async fn handle(shared: Shared, kill: Arc<Notify>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let route = Route::classify(&path);
    let kind = route.kind();
    tracing::debug!(method = %parts.method, path = %path, "ticket-sandbox: request");

    let body = match axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            shared.record(kind, None);
            return with_logid(&shared, kind, body_too_large(kind));
        }
    };

    let recorded = (kind != RouteKind::Admin).then(|| RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        body_truncated: false,
    });
    shared.record(kind, recorded);

    let request = ReceivedRequest {
        method: parts.method,
        path,
        headers: parts.headers,
        body,
    };

    if kind == RouteKind::Admin {
        return admin::handle(&shared, &request);
    }

    let (scope, ticket_id) = match &route {
        Route::EngageLabTicket(id) => (Some(Scope::EngageLab), id.as_deref()),
        Route::EngageLabUnknown => (Some(Scope::EngageLab), None),
        Route::FeishuTicket(id) => (Some(Scope::Feishu), id.as_deref()),
        Route::FeishuUnknown => (Some(Scope::Feishu), None),
        Route::FeishuToken => (Some(Scope::FeishuToken), None),
        Route::Admin | Route::Other => (None, None),
    };
    if let Some(scope) = scope
        && let Some(fault) = shared.take_fault(scope, ticket_id)
    {
        tracing::debug!(?fault, "ticket-sandbox: applying fault");
        if let Some(resp) = apply_fault(&shared, kind, fault, &kill).await {
            return with_logid(&shared, kind, resp);
        }
    }

    let provider = match &route {
        Route::EngageLabTicket(_) => Some(Provider::EngageLab),
        Route::FeishuTicket(_) => Some(Provider::Feishu),
        _ => None,
    };
    if let Some(provider) = provider
        && let Err((per_second, wait)) = shared.take_rate_token(provider)
    {
        // Whole seconds, as both vendors state them, rounded up and at least 1.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let resp = rate_limited(
            provider == Provider::Feishu,
            StatusCode::TOO_MANY_REQUESTS,
            secs.max(1),
            per_second,
        );
        return with_logid(&shared, kind, resp);
    }

    let resp = match route {
        Route::EngageLabTicket(id) => engagelab::handle_ticket(&shared, &request, id),
        Route::EngageLabUnknown => engagelab::not_found_route(),
        Route::FeishuTicket(id) => feishu::handle_ticket(&shared, &request, id),
        Route::FeishuToken => feishu::handle_token(&shared, &request),
        Route::FeishuUnknown => feishu::not_found_route(),
        Route::Admin | Route::Other => {
            let mut resp = Response::new(Body::from("not found"));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
    };
    with_logid(&shared, kind, resp)
}

/// Adds `X-Tt-Logid` to every Feishu response.
fn with_logid(shared: &Shared, kind: RouteKind, mut resp: Response<Body>) -> Response<Body> {
    if matches!(kind, RouteKind::Feishu | RouteKind::FeishuToken)
        && let Ok(value) = HeaderValue::from_str(&shared.next_logid())
    {
        resp.headers_mut().insert("x-tt-logid", value);
    }
    resp
}

fn body_too_large(kind: RouteKind) -> Response<Body> {
    match kind {
        RouteKind::EngageLab => engagelab::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            40001,
            "request body too large",
        ),
        RouteKind::Feishu | RouteKind::FeishuToken => feishu::bad_request("request body too large"),
        RouteKind::Admin | RouteKind::Other => {
            let mut resp = Response::new(Body::from("request body too large"));
            *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            resp
        }
    }
}

/// Serves a fault. `None` means "now handle the request normally".
async fn apply_fault(
    shared: &Shared,
    kind: RouteKind,
    fault: Fault,
    kill: &Arc<Notify>,
) -> Option<Response<Body>> {
    let feishu = matches!(kind, RouteKind::Feishu | RouteKind::FeishuToken);
    match fault {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::ExpireToken => {
            shared.expire_access_tokens();
            None
        }
        Fault::DropConnection => {
            kill.notify_one();
            // The connection task drops this future together with the connection.
            std::future::pending::<()>().await;
            None
        }
        Fault::RateLimit { reset_secs } => Some(rate_limited(
            feishu,
            StatusCode::TOO_MANY_REQUESTS,
            reset_secs,
            FAULT_RATE_LIMIT,
        )),
        Fault::RateLimitLegacy400 { reset_secs } => Some(rate_limited(
            feishu,
            StatusCode::BAD_REQUEST,
            reset_secs,
            FAULT_RATE_LIMIT,
        )),
        Fault::ServerError { status } => {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(if feishu {
                feishu::error(status, 155000, "Internal error")
            } else {
                engagelab::error(status, 50001, "internal error")
            })
        }
        Fault::NonJsonBody => Some(html_response(StatusCode::OK, "<html>gateway</html>")),
        Fault::AuthErrorHttp200 => Some(if feishu {
            feishu::error(StatusCode::OK, 99_991_677, "Authentication token expired")
        } else {
            engagelab::auth_error(StatusCode::OK)
        }),
        Fault::NotFoundHttp200 => Some(if feishu {
            feishu::error(StatusCode::OK, 154_004, "Resource not found")
        } else {
            engagelab::error(StatusCode::OK, 40401, "ticket not found")
        }),
        Fault::Forbidden => Some(if feishu {
            feishu::error(
                StatusCode::FORBIDDEN,
                154_003,
                "Please check you have the correct access",
            )
        } else {
            engagelab::error(StatusCode::FORBIDDEN, 40301, "forbidden")
        }),
        Fault::TruncatedBody => {
            let partial: &'static [u8] = if feishu {
                b"{\"code\":0,\"msg\":\"succ"
            } else {
                b"{\"code\":0,\"message\":\"Succ"
            };
            let body = TruncatedBody {
                first: Some(Bytes::from_static(partial)),
                wait: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
                kill: Arc::clone(kill),
                killed: false,
            };
            let mut resp = Response::new(Body::new(body));
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(partial.len() + 64),
            );
            Some(resp)
        }
    }
}

/// The `x-ogw-ratelimit-limit` an injected rate-limit fault states.
const FAULT_RATE_LIMIT: u32 = 50;

/// A rate-limit refusal as the vendor sends it. Feishu states its limit (`limit`, requests per
/// second) and the wait; EngageLab only the wait, as `Retry-After`.
fn rate_limited(feishu: bool, status: StatusCode, reset_secs: u64, limit: u32) -> Response<Body> {
    if feishu {
        let mut resp = feishu::error(status, 99_991_400, "request trigger frequency limit");
        let headers = resp.headers_mut();
        headers.insert("x-ogw-ratelimit-limit", HeaderValue::from(limit));
        headers.insert("x-ogw-ratelimit-reset", HeaderValue::from(reset_secs));
        resp
    } else {
        let mut resp = engagelab::error(status, 42901, "rate limited");
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(reset_secs));
        resp
    }
}

/// A body that sends its first chunk, waits a little so it is flushed, then kills the connection
/// while the declared `Content-Length` is still unmet.
struct TruncatedBody {
    first: Option<Bytes>,
    wait: Pin<Box<Sleep>>,
    kill: Arc<Notify>,
    killed: bool,
}

impl hyper::body::Body for TruncatedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(chunk) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if !this.killed && this.wait.as_mut().poll(cx).is_ready() {
            this.killed = true;
            this.kill.notify_one();
        }
        Poll::Pending
    }
}
