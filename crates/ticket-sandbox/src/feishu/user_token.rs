//! The user token refresh endpoint, `POST /open-apis/authen/v2/oauth/token` with
//! `grant_type=refresh_token`: each refresh token works once and is replaced.

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::method_not_allowed;
use crate::server::ReceivedRequest;
use crate::state::{REFRESH_TOKEN_TTL_SECS, RefreshOutcome, Shared};
use crate::util::json_response;

#[derive(Serialize)]
struct TokenError<'a> {
    code: i64,
    error: &'a str,
    error_description: &'a str,
}

#[derive(Serialize)]
struct TokenSuccess<'a> {
    code: i64,
    access_token: &'a str,
    expires_in: u64,
    refresh_token: &'a str,
    refresh_token_expires_in: u64,
    token_type: &'a str,
    scope: &'a str,
}

fn token_error(code: i64, error: &str, description: &str) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &TokenError {
            code,
            error,
            error_description: description,
        },
    )
}

/// Checks the body and the client, then spends the refresh token.
pub(crate) fn handle(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    if req.method != Method::POST {
        return method_not_allowed("POST");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return token_error(
            20001,
            "invalid_request",
            "The request body must be a JSON object",
        );
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let (Some(grant_type), Some(client_id), Some(client_secret), Some(refresh_token)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
        field("refresh_token"),
    ) else {
        return token_error(
            20001,
            "invalid_request",
            "grant_type, client_id, client_secret and refresh_token are required strings",
        );
    };
    if grant_type != "refresh_token" {
        return token_error(
            20001,
            "unsupported_grant_type",
            "The sandbox only supports grant_type=refresh_token",
        );
    }
    let creds = &shared.config.credentials;
    if client_id != creds.feishu_app_id || client_secret != creds.feishu_app_secret {
        return token_error(
            20002,
            "invalid_client",
            "The client_id or client_secret is invalid",
        );
    }
    match shared.refresh(refresh_token) {
        RefreshOutcome::InvalidGrant => token_error(
            20026,
            "invalid_grant",
            "The refresh token passed is invalid",
        ),
        RefreshOutcome::Issued {
            access_token,
            refresh_token,
            expires_in,
        } => json_response(
            StatusCode::OK,
            &TokenSuccess {
                code: 0,
                access_token: &access_token,
                expires_in,
                refresh_token: &refresh_token,
                refresh_token_expires_in: REFRESH_TOKEN_TTL_SECS,
                token_type: "Bearer",
                scope: "",
            },
        ),
    }
}
