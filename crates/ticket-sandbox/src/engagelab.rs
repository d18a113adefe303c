//! EngageLab LiveDesk: `GET`/`PUT /api/v2/accounts/tickets/{ticket_id}`.

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{EngageLabAttachment, EngageLabTicket};
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::{is_json_content_type, json_response, rfc3339_now};

/// The listed priorities (the vendor's own example sends `normal`, which is refused).
const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];
/// The listed ticket types.
const TICKET_TYPES: [&str; 4] = ["incident", "question", "problem", "task"];
/// Every top-level field the vendor document lists.
const FIELDS: [&str; 7] = [
    "title",
    "description",
    "attachments",
    "priority",
    "ticket_type",
    "custom_fields",
    "tags",
];

#[derive(Serialize)]
struct Envelope<'a, T> {
    code: i64,
    message: &'a str,
    data: T,
}

#[derive(Serialize)]
struct UpdateData<'a> {
    ticket_id: &'a str,
    updated_at: &'a str,
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

/// 404 for an `/api/...` path that is not a ticket route.
pub(crate) fn not_found_route() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 40401, "route not found")
}

fn method_not_allowed() -> Response<Body> {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, 40501, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, PUT"));
    resp
}

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

/// Handles the ticket route. `id` is `None` when the id segment's percent-encoding is invalid.
pub(crate) fn handle_ticket(
    shared: &Shared,
    req: &ReceivedRequest,
    id: Option<String>,
) -> Response<Body> {
    if req.method != Method::GET && req.method != Method::PUT {
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
    if req.method == Method::GET {
        return match shared.engagelab_ticket(&id) {
            Some(ticket) => json_response(
                StatusCode::OK,
                &Envelope {
                    code: 0,
                    message: "Success",
                    data: ticket,
                },
            ),
            None => ticket_not_found(),
        };
    }

    let content_type = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(is_json_content_type) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            40002,
            "unsupported content type: expected application/json",
        );
    }
    let value: Value = match serde_json::from_slice(&req.body) {
        Ok(value) => value,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                40001,
                &format!("invalid JSON body: {err}"),
            );
        }
    };
    let update = match validate(&value) {
        Ok(update) => update,
        Err(reason) => return error(StatusCode::BAD_REQUEST, 40001, &reason),
    };
    let updated_at = shared.update_engagelab(&id, |ticket| {
        update.apply(ticket);
        ticket.updated_at = rfc3339_now();
        ticket.updated_at.clone()
    });
    match updated_at {
        Some(updated_at) => json_response(
            StatusCode::OK,
            &Envelope {
                code: 0,
                message: "Success",
                data: UpdateData {
                    ticket_id: &id,
                    updated_at: &updated_at,
                },
            },
        ),
        None => ticket_not_found(),
    }
}

fn ticket_not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 40401, "ticket not found")
}

/// A validated update body.
#[derive(Debug)]
struct Update {
    title: String,
    description: String,
    attachments: Option<Vec<EngageLabAttachment>>,
    priority: Option<String>,
    ticket_type: Option<String>,
    custom_fields: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
}

impl Update {
    fn apply(self, ticket: &mut EngageLabTicket) {
        ticket.title = self.title;
        ticket.description = self.description;
        if let Some(v) = self.attachments {
            ticket.attachments = v;
        }
        if let Some(v) = self.priority {
            ticket.priority = v;
        }
        if let Some(v) = self.ticket_type {
            ticket.ticket_type = Some(v);
        }
        if let Some(v) = self.custom_fields {
            ticket.custom_fields = v;
        }
        if let Some(v) = self.tags {
            ticket.tags = v;
        }
    }
}

/// Validates a body against the vendor document; the error names the field and the reason.
fn validate(value: &Value) -> Result<Update, String> {
    let Some(obj) = value.as_object() else {
        return Err("body must be a JSON object".to_owned());
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("{unknown}: unknown field"));
    }
    let title = required_string(obj, "title")?;
    let description = required_string(obj, "description")?;
    let attachments = obj
        .get("attachments")
        .map(|v| {
            let items = v
                .as_array()
                .ok_or_else(|| "attachments: must be an array".to_owned())?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let file_url = item
                        .as_object()
                        .filter(|o| o.len() == 1)
                        .and_then(|o| o.get("file_url"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            format!(
                                "attachments[{i}]: must be an object with exactly one string field file_url"
                            )
                        })?;
                    if file_url.is_empty() {
                        return Err(format!("attachments[{i}].file_url: must not be empty"));
                    }
                    Ok(EngageLabAttachment {
                        file_url: file_url.to_owned(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .transpose()?;
    let priority = one_of(obj, "priority", &PRIORITIES)?;
    let ticket_type = one_of(obj, "ticket_type", &TICKET_TYPES)?;
    let custom_fields = obj
        .get("custom_fields")
        .map(|v| {
            v.as_object()
                .cloned()
                .ok_or_else(|| "custom_fields: must be an object".to_owned())
        })
        .transpose()?;
    let tags = obj
        .get("tags")
        .map(|v| {
            let items = v
                .as_array()
                .ok_or_else(|| "tags: must be an array of strings".to_owned())?;
            items
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    t.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("tags[{i}]: must be a string"))
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .transpose()?;
    Ok(Update {
        title,
        description,
        attachments,
        priority,
        ticket_type,
        custom_fields,
        tags,
    })
}

fn required_string(obj: &Map<String, Value>, field: &str) -> Result<String, String> {
    match obj.get(field) {
        None => Err(format!("{field}: is required")),
        Some(Value::String(s)) if s.is_empty() => Err(format!("{field}: must not be empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{field}: must be a string")),
    }
}

fn one_of(
    obj: &Map<String, Value>,
    field: &str,
    allowed: &[&str],
) -> Result<Option<String>, String> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{field}: must be one of {} (got {other})",
            allowed.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"title": "t", "description": "d"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = base();
        v.as_object_mut().unwrap().insert(field.to_owned(), value);
        v
    }

    #[test]
    fn accepts_the_vendor_example_with_a_listed_priority() {
        let body = json!({
            "title": "打印機卡紙", "description": "客戶反映",
            "attachments": [{"file_url": "https://example.com/files/error-photo.jpg"}],
            "priority": "medium", "ticket_type": "incident",
            "custom_fields": {"department": "IT 支持"},
            "tags": ["printer", "hardware"]
        });
        let update = validate(&body).unwrap();
        assert_eq!(update.priority.as_deref(), Some("medium"));
        assert_eq!(update.tags.unwrap().len(), 2);
    }

    #[test]
    fn refuses_bad_fields() {
        let cases = [
            (json!([]), "body must be a JSON object"),
            (json!({"description": "d"}), "title: is required"),
            (
                json!({"title": "", "description": "d"}),
                "title: must not be empty",
            ),
            (
                json!({"title": "t", "description": 3}),
                "description: must be a string",
            ),
            (
                with("priority", json!("normal")),
                "priority: must be one of",
            ),
            (
                with("ticket_type", json!("bug")),
                "ticket_type: must be one of",
            ),
            (
                with("attachments", json!({})),
                "attachments: must be an array",
            ),
            (
                with("attachments", json!([{"file_url": 1}])),
                "attachments[0]",
            ),
            (
                with("attachments", json!([{"file_url": "u", "x": 1}])),
                "attachments[0]",
            ),
            (
                with("custom_fields", json!([])),
                "custom_fields: must be an object",
            ),
            (with("tags", json!(["a", 2])), "tags[1]: must be a string"),
            (with("status", json!(1)), "status: unknown field"),
        ];
        for (body, expected) in cases {
            let err = validate(&body).unwrap_err();
            assert!(err.starts_with(expected), "{body}: {err}");
        }
    }
}
