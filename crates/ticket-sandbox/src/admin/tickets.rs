//! Admin routes for tickets: seed one (`POST`/`PUT` with optional partial JSON), read one as
//! stored, list a Feishu ticket's comments.

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::Deserialize;

use super::{body_is_empty, err, method_not_allowed, not_found, parse};
use crate::model::{EngageLabTicket, FeishuTicket};
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::{json_response, percent_decode};

/// `segments` follow `tickets/`: `{provider}/{id}` or `feishu/{id}/comments`.
pub(super) fn handle(shared: &Shared, req: &ReceivedRequest, segments: &[&str]) -> Response<Body> {
    let (provider, raw_id, rest) = match segments {
        [provider, id, rest @ ..] if !id.is_empty() => (*provider, *id, rest),
        _ => return not_found(),
    };
    let Some(id) = percent_decode(raw_id) else {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid percent-encoding in ticket id",
        );
    };
    match (provider, rest) {
        ("engagelab", []) => ticket::<EngageLabTicket>(
            shared,
            req,
            &id,
            Shared::seed_engagelab,
            Shared::engagelab_ticket,
        ),
        ("feishu", []) => {
            ticket::<FeishuTicket>(shared, req, &id, Shared::seed_feishu, Shared::feishu_ticket)
        }
        ("feishu", ["comments"]) if req.method == Method::GET => match shared.feishu_record(&id) {
            Some(record) => json_response(StatusCode::OK, &record.comments()),
            None => err(StatusCode::NOT_FOUND, "ticket not found"),
        },
        ("engagelab" | "feishu", _) => not_found(),
        _ => err(
            StatusCode::NOT_FOUND,
            "provider must be engagelab or feishu",
        ),
    }
}

/// `GET` answers the stored ticket; `POST`/`PUT` first seeds it from the body (the defaults
/// when the body is empty), then answers it.
fn ticket<T>(
    shared: &Shared,
    req: &ReceivedRequest,
    id: &str,
    seed: fn(&Shared, String, T),
    stored: fn(&Shared, &str) -> Option<T>,
) -> Response<Body>
where
    T: Default + serde::Serialize + for<'de> Deserialize<'de>,
{
    match req.method {
        Method::GET => {}
        Method::POST | Method::PUT => {
            let ticket = if body_is_empty(req) {
                T::default()
            } else {
                match parse::<T>(req) {
                    Ok(t) => t,
                    Err(reason) => return err(StatusCode::BAD_REQUEST, &reason),
                }
            };
            seed(shared, id.to_owned(), ticket);
        }
        _ => return method_not_allowed("GET or POST"),
    }
    match stored(shared, id) {
        Some(t) => json_response(StatusCode::OK, &t),
        None => err(StatusCode::NOT_FOUND, "ticket not found"),
    }
}
