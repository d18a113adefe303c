//! Serving one request: read and record it, apply a queued fault or the rate limit, then hand it
//! to the provider's handler.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Notify;

use super::faults::{apply_fault, rate_limited};
use super::routing::Route;
use crate::model::RecordedRequest;
use crate::ratelimit::Provider;
use crate::state::{Presented, RouteKind, Shared, TicketCall};
use crate::{admin, engagelab, feishu};

/// Largest request body read; bigger ones are refused.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a handler needs from the request.
pub(crate) struct ReceivedRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Serves one request. Every request is counted and (admin ones excepted) recorded before
/// anything can refuse it, so a faulted or refused request still shows in the stats and log.
pub(super) async fn handle(
    shared: Shared,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let route = Route::classify(parts.uri.path());
    let kind = route.kind();
    tracing::debug!(method = %parts.method, path = %parts.uri.path(), "ticket-sandbox: request");

    let Ok(body) = axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES).await else {
        shared.record(kind, None);
        return with_logid(&shared, kind, body_too_large(kind));
    };
    let recorded = (kind != RouteKind::Admin).then(|| record_of(&parts, &body));
    shared.record(kind, recorded);
    let request = ReceivedRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    if kind == RouteKind::Admin {
        return admin::handle(&shared, &request);
    }
    count_ticket_call(&shared, &route, &request);
    if let Some(resp) = refusal(&shared, &route, &request.method, &kill).await {
        return with_logid(&shared, kind, resp);
    }
    let resp = route_to_handler(&shared, &request, route);
    with_logid(&shared, kind, resp)
}

/// The request as the log keeps it: raw path and query, headers in order, the body.
fn record_of(parts: &Parts, body: &Bytes) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
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
    }
}

/// Counts a ticket read or update by method (and for Feishu by the kind of token it carries).
fn count_ticket_call(shared: &Shared, route: &Route, request: &ReceivedRequest) {
    let get = request.method == Method::GET;
    let put = request.method == Method::PUT;
    let call = match route {
        Route::EngageLabTicket { bare, .. } if get => TicketCall::EngageLabGet { bare: *bare },
        // The bare path has no update: a PUT there is not one.
        Route::EngageLabTicket { bare: false, .. } if put => TicketCall::EngageLabPut,
        Route::FeishuTicket(_) if get || put => {
            let token =
                feishu::bearer_token(request).map_or(Presented::Unknown, |t| shared.presented(t));
            if get {
                TicketCall::FeishuGet(token)
            } else {
                TicketCall::FeishuPut(token)
            }
        }
        _ => return,
    };
    shared.count_ticket_call(call);
}

/// A queued fault, then the rate-limit mode: the answer that replaces the normal one, if any.
async fn refusal(
    shared: &Shared,
    route: &Route,
    method: &Method,
    kill: &Arc<Notify>,
) -> Option<Response<Body>> {
    if let Some(scope) = route.fault_scope()
        && let Some(fault) = shared.take_fault(scope, route.ticket_id())
    {
        tracing::debug!(?fault, "ticket-sandbox: applying fault");
        if let Some(resp) = apply_fault(shared, route.kind(), fault, kill).await {
            return Some(resp);
        }
    }
    let lane = route.rate_lane(method)?;
    let (per_second, wait) = shared.take_rate_token(lane).err()?;
    // Whole seconds, as both vendors state them, rounded up and at least 1.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Some(rate_limited(
        lane.provider() == Provider::Feishu,
        StatusCode::TOO_MANY_REQUESTS,
        secs.max(1),
        per_second,
    ))
}

fn route_to_handler(shared: &Shared, request: &ReceivedRequest, route: Route) -> Response<Body> {
    match route {
        Route::EngageLabTicket { id, bare } => engagelab::handle_ticket(shared, request, id, bare),
        Route::EngageLabUnknown => engagelab::not_found_route(),
        Route::FeishuTicket(id) => feishu::handle_ticket(shared, request, id),
        Route::FeishuFields => feishu::handle_fields(shared, request),
        Route::FeishuToken => feishu::handle_user_token(shared, request),
        Route::FeishuTenantToken => feishu::handle_tenant_token(shared, request),
        Route::FeishuUnknown => feishu::not_found_route(),
        Route::Admin | Route::Other => {
            let mut resp = Response::new(Body::from("not found"));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
    }
}

/// Adds `X-Tt-Logid` to every Feishu response.
fn with_logid(shared: &Shared, kind: RouteKind, mut resp: Response<Body>) -> Response<Body> {
    if kind.is_feishu()
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
        RouteKind::Feishu | RouteKind::FeishuToken | RouteKind::FeishuTenantToken => {
            feishu::bad_request("request body too large")
        }
        RouteKind::Admin | RouteKind::Other => {
            let mut resp = Response::new(Body::from("request body too large"));
            *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            resp
        }
    }
}
