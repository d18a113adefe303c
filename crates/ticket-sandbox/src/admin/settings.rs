//! Admin routes that change how the sandbox behaves: the rate-limit mode, the modes where the
//! documents leave a choice, and the Feishu helpdesk's custom field definitions.

use axum::body::Body;
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::{err, method_not_allowed, not_found, ok, parse};
use crate::model::{EngageLabGetPaths, FeishuFieldDef, OmittedPriority};
use crate::ratelimit::Provider;
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::json_response;

/// Body of `PUT /__sandbox/rate_limit`: a key left out keeps its setting; `null` or 0 turns it
/// off (`feishu_get`: leaves reads unpaced).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitRequest {
    #[serde(default, deserialize_with = "present")]
    engagelab: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    feishu: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    feishu_get: Option<Option<u32>>,
}

/// Tells a key given as `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// Body of `PUT /__sandbox/modes` (a key left out is unchanged), and the answer of both
/// `GET` and `PUT`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Modes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engagelab_omitted_priority: Option<OmittedPriority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engagelab_get_paths: Option<EngageLabGetPaths>,
}

pub(super) fn handle(shared: &Shared, req: &ReceivedRequest, segments: &[&str]) -> Response<Body> {
    match segments {
        ["rate_limit"] => rate_limit(shared, req),
        ["modes"] => modes(shared, req),
        ["feishu", "fields"] => fields(shared, req),
        _ => not_found(),
    }
}

fn rate_limit(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    match req.method {
        Method::GET => json_response(StatusCode::OK, &shared.rate_limits()),
        Method::PUT => match parse::<RateLimitRequest>(req) {
            Ok(body) => {
                if let Some(limit) = body.engagelab {
                    shared.set_rate_limit(Provider::EngageLab, limit);
                }
                if let Some(limit) = body.feishu_get {
                    shared.set_feishu_get_rate_limit(limit.unwrap_or(0));
                }
                if let Some(limit) = body.feishu {
                    shared.set_rate_limit(Provider::Feishu, limit);
                }
                json_response(StatusCode::OK, &shared.rate_limits())
            }
            Err(reason) => err(StatusCode::BAD_REQUEST, &reason),
        },
        _ => method_not_allowed("GET or PUT"),
    }
}

fn current_modes(shared: &Shared) -> Modes {
    Modes {
        engagelab_omitted_priority: Some(shared.omitted_priority()),
        engagelab_get_paths: Some(shared.engagelab_get_paths()),
    }
}

fn modes(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    match req.method {
        Method::GET => json_response(StatusCode::OK, &current_modes(shared)),
        Method::PUT => match parse::<Modes>(req) {
            Ok(body) => {
                if let Some(mode) = body.engagelab_omitted_priority {
                    shared.set_omitted_priority(mode);
                }
                if let Some(paths) = body.engagelab_get_paths {
                    shared.set_engagelab_get_paths(paths);
                }
                json_response(StatusCode::OK, &current_modes(shared))
            }
            Err(reason) => err(StatusCode::BAD_REQUEST, &reason),
        },
        _ => method_not_allowed("GET or PUT"),
    }
}

fn fields(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    match req.method {
        Method::GET => json_response(StatusCode::OK, &shared.feishu_fields()),
        Method::POST | Method::PUT => match parse::<FeishuFieldDef>(req) {
            Ok(def) if def.id.is_empty() => {
                err(StatusCode::BAD_REQUEST, "a field definition needs an id")
            }
            Ok(def) => {
                shared.define_feishu_field(def);
                json_response(StatusCode::OK, &shared.feishu_fields())
            }
            Err(reason) => err(StatusCode::BAD_REQUEST, &reason),
        },
        Method::DELETE => {
            shared.clear_feishu_fields();
            ok()
        }
        _ => method_not_allowed("GET, POST or DELETE"),
    }
}
