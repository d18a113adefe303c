//! Who may call a Feishu helpdesk route: the bearer token's kind and freshness, and the
//! helpdesk header.
//!
//! The Get Ticket page (and the custom field list) take a tenant access token; the update page
//! a user access token. The wrong kind is refused the way the token notes describe Feishu's
//! gateway: a user token where only an app identity is accepted is
//! `99991668 user access token not support`, answered here with HTTP 400 (the status that
//! third-party clients record with that body; the vendor pages name no status). A tenant token
//! where only a user is accepted is `99991663` ("…or the API does not support
//! tenant_access_token"), answered like every other `99991663` here, with HTTP 401.

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::{Response, StatusCode};

use super::{error, header_str};
use crate::server::ReceivedRequest;
use crate::state::{Presented, Shared, TokenCheck};

/// The platform's words for a missing, unknown or expired tenant token.
const INVALID_TOKEN: &str =
    "Invalid access token for authorization. Please make a request with token attached.";

/// The token of `Authorization: Bearer <token>`, if the header has that form.
pub(crate) fn bearer_token(req: &ReceivedRequest) -> Option<&str> {
    header_str(req, "authorization")
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

fn presented(shared: &Shared, req: &ReceivedRequest) -> Presented {
    bearer_token(req).map_or(Presented::Unknown, |t| shared.presented(t))
}

fn invalid_token(msg: &str) -> Response<Body> {
    error(StatusCode::UNAUTHORIZED, 99_991_663, msg)
}

/// An update needs a live user token; `Some` is the refusal.
pub(super) fn check_user_token(shared: &Shared, req: &ReceivedRequest) -> Option<Response<Body>> {
    match presented(shared, req) {
        Presented::User(TokenCheck::Valid) => None,
        Presented::User(TokenCheck::Expired) => Some(error(
            StatusCode::OK,
            99_991_677,
            "Authentication token expired",
        )),
        Presented::Tenant(_) => Some(invalid_token(
            "Invalid access token for authorization. The API does not support tenant_access_token.",
        )),
        Presented::Unknown => Some(invalid_token(INVALID_TOKEN)),
    }
}

/// A read needs a live tenant token; `Some` is the refusal. An expired tenant token is
/// `99991663`, which the token notes say means "fetch a new tenant token".
pub(super) fn check_tenant_token(shared: &Shared, req: &ReceivedRequest) -> Option<Response<Body>> {
    match presented(shared, req) {
        Presented::Tenant(TokenCheck::Valid) => None,
        Presented::User(_) => Some(error(
            StatusCode::BAD_REQUEST,
            99_991_668,
            "user access token not support",
        )),
        Presented::Tenant(TokenCheck::Expired) | Presented::Unknown => {
            Some(invalid_token(INVALID_TOKEN))
        }
    }
}

/// Checks `X-Lark-Helpdesk-Authorization`; `Some` is the error response to send.
///
/// The documented value is `base64(id:token)`; the official Node SDK's helper sends
/// `Bearer base64(id:token)`. Both are accepted; the second is counted in
/// `Stats::noncanonical_helpdesk_auth`.
pub(super) fn check_helpdesk(shared: &Shared, req: &ReceivedRequest) -> Option<Response<Body>> {
    let creds = &shared.config.credentials;
    let expected = format!(
        "{}:{}",
        creds.feishu_helpdesk_id, creds.feishu_helpdesk_token
    );
    let value = header_str(req, "x-lark-helpdesk-authorization").map(str::trim);
    let (encoded, canonical) = match value {
        Some(v) => match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                (Some(rest.trim()), false)
            }
            _ => (Some(v), true),
        },
        None => (None, true),
    };
    let ok = encoded
        .and_then(|v| STANDARD.decode(v).ok())
        .is_some_and(|decoded| decoded == expected.as_bytes());
    if ok && !canonical {
        shared.count_noncanonical_helpdesk_auth();
    }
    (!ok).then(|| {
        error(
            StatusCode::FORBIDDEN,
            154_003,
            "Please check you have the correct access",
        )
    })
}
