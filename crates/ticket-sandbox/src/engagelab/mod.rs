//! EngageLab LiveDesk: `GET`/`PUT /api/v2/accounts/tickets/{ticket_id}`, and `GET` on the bare
//! `/v2/accounts/tickets/{ticket_id}` some of the vendor's pages give. Errors, auth and the
//! route; the read and the update have their own files.

mod read;
mod update;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;

use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::json_response;

pub(crate) use update::FIELDS as UPDATE_FIELDS;

/// `{"code":0,"message":"Success","data":...}`.
#[derive(Serialize)]
struct Envelope<'a, T> {
    code: i64,
    message: &'a str,
    data: T,
}

fn success<T: Serialize>(data: T) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &Envelope {
            code: 0,
            message: "Success",
            data,
        },
    )
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: i64,
    message: &'a str,
}

#[derive(Serialize)]
struct NestedError<'a> {
    error: ErrorBody<'a>,
}

/// `{"code":<code>,"message":<message>}` with `status`.
pub(crate) fn error(status: StatusCode, code: i64, message: &str) -> Response<Body> {
    json_response(status, &ErrorBody { code, message })
}

/// `{"error":{"code":40101,"message":"authentication failed"}}` with `status`.
pub(crate) fn auth_error(status: StatusCode) -> Response<Body> {
    json_response(
        status,
        &NestedError {
            error: ErrorBody {
                code: 40101,
                message: "authentication failed",
            },
        },
    )
}

/// 404 for an EngageLab path that is not a ticket route (or a `GET` path switched off).
pub(crate) fn not_found_route() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 40401, "route not found")
}

fn ticket_not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 40401, "ticket not found")
}

fn method_not_allowed() -> Response<Body> {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, 40501, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, PUT"));
    resp
}

/// `Authorization: Basic base64(key:secret)`. The older pages' `Bearer base64(...)` is refused:
/// the overview and every current page say Basic.
fn authorized(shared: &Shared, req: &ReceivedRequest) -> bool {
    let Some(value) = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let creds = &shared.config.credentials;
    let expected = format!("{}:{}", creds.engagelab_api_key, creds.engagelab_api_secret);
    decoded == expected.as_bytes()
}

/// Handles a ticket route. `id` is `None` when the id segment's percent-encoding is invalid;
/// `bare` is the `/v2/...` path, which only reads (and only when the get-path mode serves it).
pub(crate) fn handle_ticket(
    shared: &Shared,
    req: &ReceivedRequest,
    id: Option<String>,
    bare: bool,
) -> Response<Body> {
    let get = req.method == Method::GET;
    let paths = shared.engagelab_get_paths();
    let served = if bare {
        get && paths.serves_bare()
    } else {
        !get || paths.serves_api()
    };
    if !served {
        return not_found_route();
    }
    if !get && req.method != Method::PUT {
        return method_not_allowed();
    }
    if !authorized(shared, req) {
        return auth_error(StatusCode::UNAUTHORIZED);
    }
    let Some(id) = id else {
        return error(
            StatusCode::BAD_REQUEST,
            40001,
            "ticket_id: invalid percent-encoding in path segment",
        );
    };
    if get {
        read::answer(shared, &id)
    } else {
        update::handle(shared, req, &id)
    }
}
