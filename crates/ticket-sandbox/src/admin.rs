//! The admin routes under `/__sandbox/`: JSON over HTTP, no auth (loopback only).

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::fault::{Fault, Scope};
use crate::model::{EngageLabTicket, FeishuTicket};
use crate::ratelimit::Provider;
use crate::server::{ADMIN_PREFIX, ReceivedRequest};
use crate::state::Shared;
use crate::util::{json_response, percent_decode};

/// Body of `POST /__sandbox/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectRequest {
    fault: Fault,
    scope: Scope,
    #[serde(default = "one")]
    times: u32,
}

/// Body of `PUT /__sandbox/rate_limit`: a provider left out keeps its setting; `null` or 0
/// turns it off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitRequest {
    #[serde(default, deserialize_with = "present")]
    engagelab: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    feishu: Option<Option<u32>>,
}

/// Tells a key given as `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

fn one() -> u32 {
    1
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

#[derive(Serialize)]
struct OkBody {
    ok: bool,
}

#[derive(Serialize)]
struct TokensView {
    access_token: String,
    refresh_token: String,
}

#[derive(Serialize)]
struct RequestView<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a [(String, String)],
    body: String,
}

fn err(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &ErrorBody { error: message })
}

fn ok() -> Response<Body> {
    json_response(StatusCode::OK, &OkBody { ok: true })
}

fn parse<T: for<'de> Deserialize<'de>>(req: &ReceivedRequest) -> Result<T, String> {
    serde_json::from_slice(&req.body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// Dispatches one admin request.
pub(crate) fn handle(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    let rest = req
        .path
        .strip_prefix(ADMIN_PREFIX)
        .unwrap_or_default()
        .trim_start_matches('/');
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let method = &req.method;
    match (method, segments.as_slice()) {
        (&Method::GET, []) => json_response(StatusCode::OK, &ROUTES),
        (&Method::GET, ["stats"]) => json_response(StatusCode::OK, &shared.stats()),
        (&Method::DELETE, ["stats"]) => {
            shared.reset_stats();
            ok()
        }
        (&Method::POST, ["reset"]) => {
            shared.reset();
            ok()
        }
        (&Method::GET, ["faults"]) => json_response(StatusCode::OK, &shared.pending_faults()),
        (&Method::DELETE, ["faults"]) => {
            shared.clear_faults();
            ok()
        }
        (&Method::POST, ["faults"]) => match parse::<InjectRequest>(req) {
            Ok(inject) => {
                if let Fault::ServerError { status } = inject.fault
                    && !(400..=599).contains(&status)
                {
                    return err(
                        StatusCode::BAD_REQUEST,
                        "server_error status must be within 400..=599",
                    );
                }
                shared.inject(inject.fault, inject.scope, inject.times);
                json_response(StatusCode::OK, &shared.pending_faults())
            }
            Err(reason) => err(StatusCode::BAD_REQUEST, &reason),
        },
        (&Method::GET, ["comments"]) => json_response(StatusCode::OK, &shared.comment_counts()),
        (&Method::GET, ["rate_limit"]) => json_response(StatusCode::OK, &shared.rate_limits()),
        (&Method::PUT, ["rate_limit"]) => match parse::<RateLimitRequest>(req) {
            Ok(body) => {
                if let Some(limit) = body.engagelab {
                    shared.set_rate_limit(Provider::EngageLab, limit);
                }
                if let Some(limit) = body.feishu {
                    shared.set_rate_limit(Provider::Feishu, limit);
                }
                json_response(StatusCode::OK, &shared.rate_limits())
            }
            Err(reason) => err(StatusCode::BAD_REQUEST, &reason),
        },
        (&Method::GET, ["tokens"]) => json_response(
            StatusCode::OK,
            &TokensView {
                access_token: shared.current_access_token(),
                refresh_token: shared.current_refresh_token(),
            },
        ),
        (&Method::POST, ["tokens", "expire"]) => {
            shared.expire_access_tokens();
            ok()
        }
        (&Method::GET, ["requests"]) => {
            let requests = shared.requests();
            let views: Vec<RequestView<'_>> = requests
                .iter()
                .map(|r| RequestView {
                    method: &r.method,
                    path: &r.path,
                    query: r.query.as_deref(),
                    headers: &r.headers,
                    body: String::from_utf8_lossy(&r.body).into_owned(),
                })
                .collect();
            json_response(StatusCode::OK, &views)
        }
        (&Method::DELETE, ["requests"]) => {
            shared.clear_requests();
            ok()
        }
        (_, ["tickets", provider, raw_id]) if !raw_id.is_empty() => {
            let Some(id) = percent_decode(raw_id) else {
                return err(
                    StatusCode::BAD_REQUEST,
                    "invalid percent-encoding in ticket id",
                );
            };
            ticket_route(shared, req, provider, id)
        }
        _ => err(
            StatusCode::NOT_FOUND,
            "no such admin route; GET /__sandbox lists them",
        ),
    }
}

fn ticket_route(
    shared: &Shared,
    req: &ReceivedRequest,
    provider: &str,
    id: String,
) -> Response<Body> {
    let seeding = match req.method {
        Method::GET => false,
        Method::POST | Method::PUT => true,
        _ => return err(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST"),
    };
    let body_empty = req.body.iter().all(u8::is_ascii_whitespace);
    match provider {
        "engagelab" => {
            if seeding {
                let ticket = if body_empty {
                    EngageLabTicket::default()
                } else {
                    match parse::<EngageLabTicket>(req) {
                        Ok(t) => t,
                        Err(reason) => return err(StatusCode::BAD_REQUEST, &reason),
                    }
                };
                shared.seed_engagelab(id.clone(), ticket);
            }
            match shared.engagelab_ticket(&id) {
                Some(t) => json_response(StatusCode::OK, &t),
                None => err(StatusCode::NOT_FOUND, "ticket not found"),
            }
        }
        "feishu" => {
            if seeding {
                let ticket = if body_empty {
                    FeishuTicket::default()
                } else {
                    match parse::<FeishuTicket>(req) {
                        Ok(t) => t,
                        Err(reason) => return err(StatusCode::BAD_REQUEST, &reason),
                    }
                };
                shared.seed_feishu(id.clone(), ticket);
            }
            match shared.feishu_ticket(&id) {
                Some(t) => json_response(StatusCode::OK, &t),
                None => err(StatusCode::NOT_FOUND, "ticket not found"),
            }
        }
        _ => err(
            StatusCode::NOT_FOUND,
            "provider must be engagelab or feishu",
        ),
    }
}

/// The listing served by `GET /__sandbox`.
const ROUTES: [&str; 17] = [
    "GET /__sandbox",
    "GET /__sandbox/stats",
    "DELETE /__sandbox/stats",
    "POST /__sandbox/reset",
    "GET /__sandbox/faults",
    "POST /__sandbox/faults {\"fault\":{\"kind\":...},\"scope\":...,\"times\":1}",
    "DELETE /__sandbox/faults",
    "GET /__sandbox/comments",
    "GET /__sandbox/rate_limit",
    "PUT /__sandbox/rate_limit {\"engagelab\":200,\"feishu\":null}",
    "GET /__sandbox/tokens",
    "POST /__sandbox/tokens/expire",
    "GET /__sandbox/requests",
    "DELETE /__sandbox/requests",
    "POST /__sandbox/tickets/{engagelab|feishu}/{id} [ticket JSON]",
    "GET /__sandbox/tickets/{engagelab|feishu}/{id}",
    "(ids are one percent-encoded path segment)",
];
