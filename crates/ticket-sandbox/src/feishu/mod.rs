//! Feishu Helpdesk: the ticket route (`GET`/`PUT /open-apis/helpdesk/v1/tickets/{ticket_id}`),
//! the custom field list, and the two token endpoints. Errors and the ticket route live here;
//! each operation has its own file.

mod auth;
mod fields;
mod read;
mod tenant_token;
mod update;
mod user_token;

use axum::body::Body;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;

use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::json_response;

pub(crate) use auth::bearer_token;
pub(crate) use fields::handle as handle_fields;
pub(crate) use tenant_token::handle as handle_tenant_token;
pub(crate) use update::FIELDS as UPDATE_FIELDS;
pub(crate) use user_token::handle as handle_user_token;

/// The documented 400 message.
const BAD_REQUEST_MSG: &str = "Bad request, please check your request body";

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: i64,
    msg: &'a str,
}

/// `{"code":0,"msg":"success","data":...}`.
#[derive(Serialize)]
struct Envelope<'a, T> {
    code: i64,
    msg: &'a str,
    data: T,
}

fn success<T: Serialize>(data: T) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &Envelope {
            code: 0,
            msg: "success",
            data,
        },
    )
}

/// `{"code":<code>,"msg":<msg>}` with `status`.
pub(crate) fn error(status: StatusCode, code: i64, msg: &str) -> Response<Body> {
    json_response(status, &ErrorBody { code, msg })
}

/// HTTP 400, code 154000, the documented message plus `: <detail>`.
pub(crate) fn bad_request(detail: &str) -> Response<Body> {
    error(
        StatusCode::BAD_REQUEST,
        154_000,
        &format!("{BAD_REQUEST_MSG}: {detail}"),
    )
}

/// 404 for an `/open-apis/...` path the sandbox does not serve.
pub(crate) fn not_found_route() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 154_004, "Resource not found")
}

fn ticket_not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 154_004, "Resource not found")
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, 405, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

fn header_str<'a>(req: &'a ReceivedRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Handles the ticket route. `id` is `None` when the id segment's percent-encoding is invalid.
/// Checks, in order: the bearer token (a tenant token to read, a user token to update), the
/// helpdesk header, the id; then the operation's own checks.
pub(crate) fn handle_ticket(
    shared: &Shared,
    req: &ReceivedRequest,
    id: Option<String>,
) -> Response<Body> {
    let get = req.method == Method::GET;
    if !get && req.method != Method::PUT {
        return method_not_allowed("GET, PUT");
    }
    let token_refusal = if get {
        auth::check_tenant_token(shared, req)
    } else {
        auth::check_user_token(shared, req)
    };
    if let Some(resp) = token_refusal.or_else(|| auth::check_helpdesk(shared, req)) {
        return resp;
    }
    let Some(id) = id else {
        return bad_request("ticket_id: invalid percent-encoding in path segment");
    };
    if get {
        read::answer(shared, &id)
    } else {
        update::handle(shared, req, &id)
    }
}
