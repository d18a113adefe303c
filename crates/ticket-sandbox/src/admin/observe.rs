//! Admin routes to look and to reset: counters, the request log, tokens, comment counts, the
//! fault queues.

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::{err, method_not_allowed, not_found, ok, parse};
use crate::fault::{Fault, Scope};
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::json_response;

/// Body of `POST /__sandbox/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectRequest {
    fault: Fault,
    scope: Scope,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Serialize)]
struct TokensView {
    access_token: String,
    refresh_token: String,
    tenant_access_token: String,
}

#[derive(Serialize)]
struct RequestView<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a [(String, String)],
    body: String,
}

pub(super) fn handle(shared: &Shared, req: &ReceivedRequest, segments: &[&str]) -> Response<Body> {
    match (&req.method, segments) {
        (&Method::GET, ["stats"]) => json_response(StatusCode::OK, &shared.stats()),
        (&Method::DELETE, ["stats"]) => {
            shared.reset_stats();
            ok()
        }
        (&Method::POST, ["reset"]) => {
            shared.reset();
            ok()
        }
        (_, ["faults"]) => faults(shared, req),
        (&Method::GET, ["comments"]) => json_response(StatusCode::OK, &shared.comment_counts()),
        (&Method::GET, ["tokens"]) => json_response(
            StatusCode::OK,
            &TokensView {
                access_token: shared.current_access_token(),
                refresh_token: shared.current_refresh_token(),
                tenant_access_token: shared.current_tenant_token(),
            },
        ),
        (&Method::POST, ["tokens", "expire"]) => {
            shared.expire_access_tokens();
            ok()
        }
        (&Method::GET, ["requests"]) => requests(shared),
        (&Method::DELETE, ["requests"]) => {
            shared.clear_requests();
            ok()
        }
        _ => not_found(),
    }
}

fn faults(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    match req.method {
        Method::GET => json_response(StatusCode::OK, &shared.pending_faults()),
        Method::DELETE => {
            shared.clear_faults();
            ok()
        }
        Method::POST => match parse::<InjectRequest>(req) {
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
        _ => method_not_allowed("GET, POST or DELETE"),
    }
}

fn requests(shared: &Shared) -> Response<Body> {
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
