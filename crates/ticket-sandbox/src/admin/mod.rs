//! The admin routes under `/__sandbox/`: JSON over HTTP, no auth (loopback only). This file
//! dispatches and holds the route list; each group of routes has its own file.

mod observe;
mod settings;
mod tickets;

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::server::{ADMIN_PREFIX, ReceivedRequest};
use crate::state::Shared;
use crate::util::json_response;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

#[derive(Serialize)]
struct OkBody {
    ok: bool,
}

fn err(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &ErrorBody { error: message })
}

fn ok() -> Response<Body> {
    json_response(StatusCode::OK, &OkBody { ok: true })
}

fn not_found() -> Response<Body> {
    err(
        StatusCode::NOT_FOUND,
        "no such admin route; GET /__sandbox lists them",
    )
}

fn method_not_allowed(allowed: &str) -> Response<Body> {
    err(StatusCode::METHOD_NOT_ALLOWED, &format!("use {allowed}"))
}

fn parse<T: for<'de> Deserialize<'de>>(req: &ReceivedRequest) -> Result<T, String> {
    serde_json::from_slice(&req.body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// Whether the body is empty or only whitespace (a seed without a body takes the defaults).
fn body_is_empty(req: &ReceivedRequest) -> bool {
    req.body.iter().all(u8::is_ascii_whitespace)
}

/// Dispatches one admin request by its first path segment.
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
    match segments.as_slice() {
        [] if req.method == Method::GET => json_response(StatusCode::OK, &ROUTES),
        [] => method_not_allowed("GET"),
        ["tickets", ..] => tickets::handle(shared, req, &segments[1..]),
        ["rate_limit" | "modes" | "feishu", ..] => settings::handle(shared, req, &segments),
        _ => observe::handle(shared, req, &segments),
    }
}

/// The listing served by `GET /__sandbox`.
const ROUTES: [&str; 26] = [
    "GET /__sandbox",
    "GET /__sandbox/stats",
    "DELETE /__sandbox/stats",
    "POST /__sandbox/reset",
    "GET /__sandbox/faults",
    "POST /__sandbox/faults {\"fault\":{\"kind\":...},\"scope\":...,\"times\":1}",
    "DELETE /__sandbox/faults",
    "GET /__sandbox/comments",
    "GET /__sandbox/rate_limit",
    "PUT /__sandbox/rate_limit {\"engagelab\":200,\"feishu\":null,\"feishu_get\":10}",
    "GET /__sandbox/modes",
    "PUT /__sandbox/modes {\"engagelab_omitted_priority\":\"reset|keep\",\"engagelab_get_paths\":\"both|api|bare\"}",
    "GET /__sandbox/feishu/fields",
    "POST /__sandbox/feishu/fields [field definition JSON]",
    "DELETE /__sandbox/feishu/fields",
    "GET /__sandbox/tokens",
    "POST /__sandbox/tokens/expire",
    "GET /__sandbox/requests",
    "DELETE /__sandbox/requests",
    "POST /__sandbox/tickets/{engagelab|feishu}/{id} [ticket JSON]",
    "GET /__sandbox/tickets/{engagelab|feishu}/{id}",
    "GET /__sandbox/tickets/feishu/{id}/comments",
    "(ids are one percent-encoded path segment)",
    "fault kinds: rate_limit, rate_limit_legacy_400, server_error, latency, drop_connection,",
    "  truncated_body, non_json_body, auth_error_http_200, expire_token, not_found_http_200,",
    "  forbidden, silent_drop {\"provider\":\"engagelab|feishu\",\"field\":\"priority|tags.<tag>|...\"}",
];
