//! Reading a ticket: `GET …/v2/accounts/tickets/:ticket_id` with the update's Basic auth, and
//! its answer in the unified vocabulary.
//!
//! The Get Ticket pages disagree on the path: most localized pages and every update and create
//! page use `/api/v2/…`, the default Chinese, zh_TW, es_ES and ja_JP copies `/v2/…`
//! (`api/engagelab-livedesk-get-ticket.md`). [`ReadPath::Api`] is the default: it is the
//! prefix of the update this client already uses against the same base URL, so one working
//! base URL proves the read's host too; [`ReadPath::Bare`] is there for the service that
//! answers only the other form.

use std::str::FromStr;

use serde_json::{Map, Value};
use ticket_core::{
    NativeStatus, Priority, SnapshotField, TicketError, TicketId, TicketKind, TicketSnapshot,
    TicketStatus,
};
use ticket_http::RawResponse;

use crate::{PROVIDER, error_from, updated_at};

/// The read route with the `/api` prefix (the default).
pub const READ_ROUTE: &str = "/api/v2/accounts/tickets/{id}";
/// The read route without it.
pub const BARE_READ_ROUTE: &str = "/v2/accounts/tickets/{id}";

/// Which of the two documented forms of the read path to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadPath {
    /// `/api/v2/accounts/tickets/:ticket_id`, the update's own prefix (the default).
    #[default]
    Api,
    /// `/v2/accounts/tickets/:ticket_id`, as several Get Ticket pages write it.
    Bare,
}

impl ReadPath {
    /// The route template.
    pub const fn route(self) -> &'static str {
        match self {
            ReadPath::Api => READ_ROUTE,
            ReadPath::Bare => BARE_READ_ROUTE,
        }
    }
}

impl FromStr for ReadPath {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "api" => Ok(ReadPath::Api),
            "bare" => Ok(ReadPath::Bare),
            _ => Err(TicketError::config(format!(
                "unknown EngageLab read path {s:?}; expected api (`/api/v2/…`) or bare (`/v2/…`)"
            ))),
        }
    }
}

/// The snapshot in a read's answer (`{"code":0,"message":"Success","data":{…}}`), or the
/// error, read as an update's error is.
pub(crate) fn decode(id: &TicketId, response: &RawResponse) -> Result<TicketSnapshot, TicketError> {
    if !response.is_success() {
        return Err(error_from(response));
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
        response.malformed(PROVIDER, format!("not the documented read envelope ({e})"))
    })?;
    let code = body
        .get("code")
        .and_then(Value::as_i64)
        .or_else(|| body.pointer("/error/code").and_then(Value::as_i64));
    if body.get("error").is_some() || code.is_some_and(|c| c != 0) {
        return Err(error_from(response));
    }
    if code.is_none() {
        return Err(response.malformed(PROVIDER, "the envelope has no `code`"));
    }
    let Some(Value::Object(data)) = body.get("data") else {
        return Err(response.malformed(PROVIDER, "`data` is not the ticket object"));
    };
    if let Some(other) = text(data, "ticket_id").filter(|t| t != id.as_str()) {
        return Err(response.malformed(
            PROVIDER,
            format!(
                "answered with ticket {other:?}, not the requested {:?}",
                id.as_str()
            ),
        ));
    }
    let mut s = TicketSnapshot::new(PROVIDER, id.clone());
    s.title = text(data, "title");
    s.description = text(data, "description");
    s.priority = parsed::<Priority>(data, "priority", response)?;
    s.kind = parsed::<TicketKind>(data, "ticket_type", response)?;
    s.tags = strings(data, "tags", response)?;
    s.attachments = match data.get("attachments") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(|a| a.get("file_url").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => return Err(response.malformed(PROVIDER, "`attachments` is not a list")),
    };
    s.custom_fields = match data.get("custom_fields") {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => Some(
            fields
                .iter()
                .map(|(k, v)| SnapshotField::new(v.clone()).with_key(Some(k.clone())))
                .collect(),
        ),
        Some(_) => return Err(response.malformed(PROVIDER, "`custom_fields` is not an object")),
    };
    if let Some(status) = text(data, "status").filter(|t| !t.trim().is_empty()) {
        s.status = status.parse::<TicketStatus>().ok();
        s.native_status = NativeStatus::new(PROVIDER, status).ok();
    }
    if let Some(value) = data.get("updated_at").filter(|v| !v.is_null()) {
        let (at, exact) = updated_at::read(value);
        s.updated_at = at;
        if !exact {
            s.updated_at_raw = Some(response.message(Some(&match value {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            })));
        }
    }
    s.raw = Value::Object(data.clone());
    Ok(s)
}

fn text(data: &Map<String, Value>, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A listed value parsed (`normal` is medium), `None` when absent or empty; a value outside
/// the list is a malformed answer (the unified vocabulary has no name for it).
fn parsed<T: FromStr<Err = TicketError>>(
    data: &Map<String, Value>,
    key: &str,
    response: &RawResponse,
) -> Result<Option<T>, TicketError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if t.trim().is_empty() => Ok(None),
        Some(Value::String(t)) => t
            .parse()
            .map(Some)
            .map_err(|e| response.malformed(PROVIDER, format!("`{key}`: {e}"))),
        Some(_) => Err(response.malformed(PROVIDER, format!("`{key}` is not a string"))),
    }
}

fn strings(
    data: &Map<String, Value>,
    key: &str,
    response: &RawResponse,
) -> Result<Option<Vec<String>>, TicketError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                response.malformed(PROVIDER, format!("`{key}` is not a list of strings"))
            }),
        Some(_) => Err(response.malformed(PROVIDER, format!("`{key}` is not a list"))),
    }
}
