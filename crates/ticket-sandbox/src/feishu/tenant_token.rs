//! The tenant token endpoint for self-built apps,
//! `POST /open-apis/auth/v3/tenant_access_token/internal` with `{"app_id","app_secret"}`.
//!
//! The answer's fields sit at the top level, without `data`. The page states no error table
//! and no HTTP status for errors; the sandbox answers every error with HTTP 200 and a non-zero
//! `code`, as a published client report shows the live service doing for `10003`, so a client
//! must read `code` and not the status. A wrong secret is `10014 app secret invalid`, the
//! pair seen from the live service in the field; the generic error table's
//! `10015 wrong app secret` is not used. An unknown app id is `10003 invalid param`.

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::{error, method_not_allowed};
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::json_response;

#[derive(Serialize)]
struct Granted<'a> {
    code: i64,
    msg: &'a str,
    tenant_access_token: &'a str,
    expire: u64,
}

/// Checks the body and the app, then hands out the current tenant token or a new one.
pub(crate) fn handle(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    if req.method != Method::POST {
        return method_not_allowed("POST");
    }
    if let Err((code, msg)) = check_app(shared, req) {
        shared.count_tenant_token_refused();
        return error(StatusCode::OK, code, msg);
    }
    let grant = shared.tenant_token();
    json_response(
        StatusCode::OK,
        &Granted {
            code: 0,
            msg: "ok",
            tenant_access_token: &grant.token,
            expire: grant.expire,
        },
    )
}

/// The body must name the configured app and its secret.
fn check_app(shared: &Shared, req: &ReceivedRequest) -> Result<(), (i64, &'static str)> {
    const INVALID_PARAM: (i64, &str) = (10003, "invalid param");
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return Err(INVALID_PARAM);
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let (Some(app_id), Some(app_secret)) = (field("app_id"), field("app_secret")) else {
        return Err(INVALID_PARAM);
    };
    let creds = &shared.config.credentials;
    if app_id != creds.feishu_app_id {
        return Err(INVALID_PARAM);
    }
    if app_secret != creds.feishu_app_secret {
        return Err((10014, "app secret invalid"));
    }
    Ok(())
}
