//! Injected faults turned into answers (or into a dropped connection), and the vendors'
//! rate-limit refusals.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::Notify;
use tokio::time::Sleep;

use crate::fault::Fault;
use crate::state::{RouteKind, Shared};
use crate::util::html_response;
use crate::{engagelab, feishu};

/// Serves a fault. `None` means "now handle the request normally".
pub(super) async fn apply_fault(
    shared: &Shared,
    kind: RouteKind,
    fault: Fault,
    kill: &Arc<Notify>,
) -> Option<Response<Body>> {
    let feishu = kind.is_feishu();
    if let Some(resp) = answer(feishu, &fault) {
        return Some(resp);
    }
    match fault {
        Fault::Latency(delay) => tokio::time::sleep(delay).await,
        Fault::ExpireToken => shared.expire_access_tokens(),
        Fault::DropConnection => {
            kill.notify_one();
            // The connection task drops this future together with the connection.
            std::future::pending::<()>().await;
        }
        Fault::TruncatedBody => return Some(truncated(feishu, kill)),
        _ => {}
    }
    None
}

/// The answer of a fault that replaces the response outright; `None` for the others.
fn answer(feishu: bool, fault: &Fault) -> Option<Response<Body>> {
    let resp = match *fault {
        Fault::RateLimit { reset_secs } => rate_limited(
            feishu,
            StatusCode::TOO_MANY_REQUESTS,
            reset_secs,
            FAULT_RATE_LIMIT,
        ),
        Fault::RateLimitLegacy400 { reset_secs } => rate_limited(
            feishu,
            StatusCode::BAD_REQUEST,
            reset_secs,
            FAULT_RATE_LIMIT,
        ),
        Fault::ServerError { status } => {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if feishu {
                feishu::error(status, 155000, "Internal error")
            } else {
                engagelab::error(status, 50001, "internal error")
            }
        }
        Fault::NonJsonBody => html_response(StatusCode::OK, "<html>gateway</html>"),
        Fault::AuthErrorHttp200 => {
            if feishu {
                feishu::error(StatusCode::OK, 99_991_677, "Authentication token expired")
            } else {
                engagelab::auth_error(StatusCode::OK)
            }
        }
        Fault::NotFoundHttp200 => {
            if feishu {
                feishu::error(StatusCode::OK, 154_004, "Resource not found")
            } else {
                engagelab::error(StatusCode::OK, 40401, "ticket not found")
            }
        }
        Fault::Forbidden => {
            if feishu {
                feishu::error(
                    StatusCode::FORBIDDEN,
                    154_003,
                    "Please check you have the correct access",
                )
            } else {
                engagelab::error(StatusCode::FORBIDDEN, 40301, "forbidden")
            }
        }
        Fault::Latency(_)
        | Fault::ExpireToken
        | Fault::DropConnection
        | Fault::TruncatedBody
        | Fault::SilentDrop(_) => return None,
    };
    Some(resp)
}

/// Status line, headers and the start of a JSON body; then the connection dies.
fn truncated(feishu: bool, kill: &Arc<Notify>) -> Response<Body> {
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
    resp
}

/// The `x-ogw-ratelimit-limit` an injected rate-limit fault states.
const FAULT_RATE_LIMIT: u32 = 50;

/// A rate-limit refusal as the vendor sends it. Feishu states its limit (`limit`, requests per
/// second) and the wait; EngageLab only the wait, as `Retry-After`.
pub(super) fn rate_limited(
    feishu: bool,
    status: StatusCode,
    reset_secs: u64,
    limit: u32,
) -> Response<Body> {
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
