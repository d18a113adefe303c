//! EngageLab `PUT` ticket: the body checked against the update document, then stored, with the
//! omitted-priority mode and the silent-drop fault applied.

use axum::body::Body;
use hyper::header;
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{error, success, ticket_not_found};
use crate::fault::DropTarget;
use crate::model::{EngageLabAttachment, EngageLabTicket, OmittedPriority};
use crate::ratelimit::Provider;
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::{is_json_content_type, rfc3339_now};

/// The listed priorities (the vendor's own example sends `normal`, which is refused).
const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];
/// What an omitted `priority` becomes in [`OmittedPriority::Reset`] mode ("不傳默認為 medium").
const DEFAULT_PRIORITY: &str = "medium";
/// The listed ticket types.
const TICKET_TYPES: [&str; 4] = ["incident", "question", "problem", "task"];
/// Every top-level field the vendor document lists.
pub(crate) const FIELDS: [&str; 7] = [
    "title",
    "description",
    "attachments",
    "priority",
    "ticket_type",
    "custom_fields",
    "tags",
];

#[derive(Serialize)]
struct UpdateData<'a> {
    ticket_id: &'a str,
    updated_at: &'a str,
}

/// Checks, in order: `Content-Type`, the JSON body, the ticket; then stores the update.
pub(super) fn handle(shared: &Shared, req: &ReceivedRequest, id: &str) -> Response<Body> {
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
            let reason = format!("invalid JSON body: {err}");
            return error(StatusCode::BAD_REQUEST, 40001, &reason);
        }
    };
    let update = match validate(&value) {
        Ok(update) => update,
        Err(reason) => return error(StatusCode::BAD_REQUEST, 40001, &reason),
    };
    if !shared.has_engagelab_ticket(id) {
        return ticket_not_found();
    }
    let body = value.as_object().cloned().unwrap_or_default();
    let dropped = shared.take_silent_drop(Provider::EngageLab, id, |t| t.carried_by(&body));
    let mode = shared.omitted_priority();
    let updated_at = shared.update_engagelab(id, |ticket| {
        // Only a drop needs the old state, so only then is it copied.
        let before = dropped.as_ref().map(|_| ticket.clone());
        update.apply(ticket, mode);
        if let (Some(target), Some(before)) = (&dropped, &before) {
            withhold(ticket, before, target);
        }
        ticket.updated_at = rfc3339_now();
        ticket.updated_at.clone()
    });
    let Some(updated_at) = updated_at else {
        return ticket_not_found();
    };
    if dropped.is_some() {
        shared.count_silent_drop();
    }
    success(UpdateData {
        ticket_id: id,
        updated_at: &updated_at,
    })
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
    /// Title and description are always replaced, the priority by the mode when omitted, the
    /// other fields only when present.
    fn apply(self, ticket: &mut EngageLabTicket, mode: OmittedPriority) {
        ticket.title = self.title;
        ticket.description = self.description;
        if let Some(v) = self.attachments {
            ticket.attachments = v;
        }
        match (self.priority, mode) {
            (Some(v), _) => ticket.priority = v,
            (None, OmittedPriority::Reset) => DEFAULT_PRIORITY.clone_into(&mut ticket.priority),
            (None, OmittedPriority::Keep) => {}
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

/// Puts back what `target` withholds from the update just applied: the field's old value, or
/// for one tag its absence, or for one custom field key its old value (or absence).
fn withhold(ticket: &mut EngageLabTicket, before: &EngageLabTicket, target: &DropTarget) {
    match (target.field(), target.key()) {
        ("title", _) => ticket.title.clone_from(&before.title),
        ("description", _) => ticket.description.clone_from(&before.description),
        ("attachments", _) => ticket.attachments.clone_from(&before.attachments),
        ("priority", _) => ticket.priority.clone_from(&before.priority),
        ("ticket_type", _) => ticket.ticket_type.clone_from(&before.ticket_type),
        ("tags", Some(tag)) => ticket.tags.retain(|t| t != tag),
        ("tags", None) => ticket.tags.clone_from(&before.tags),
        ("custom_fields", Some(key)) => match before.custom_fields.get(key) {
            Some(old) => {
                ticket.custom_fields.insert(key.to_owned(), old.clone());
            }
            None => {
                ticket.custom_fields.remove(key);
            }
        },
        ("custom_fields", None) => ticket.custom_fields.clone_from(&before.custom_fields),
        _ => {}
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
    Ok(Update {
        title: required_string(obj, "title")?,
        description: required_string(obj, "description")?,
        attachments: obj.get("attachments").map(attachments).transpose()?,
        priority: one_of(obj, "priority", &PRIORITIES)?,
        ticket_type: one_of(obj, "ticket_type", &TICKET_TYPES)?,
        custom_fields: obj.get("custom_fields").map(custom_fields).transpose()?,
        tags: obj.get("tags").map(tags).transpose()?,
    })
}

fn attachments(value: &Value) -> Result<Vec<EngageLabAttachment>, String> {
    let items = value
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
            Ok(EngageLabAttachment::new(file_url))
        })
        .collect()
}

fn custom_fields(value: &Value) -> Result<Map<String, Value>, String> {
    value
        .as_object()
        .cloned()
        .ok_or_else(|| "custom_fields: must be an object".to_owned())
}

fn tags(value: &Value) -> Result<Vec<String>, String> {
    let items = value
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
        .collect()
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
