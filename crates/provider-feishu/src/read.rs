//! Reading a ticket: `GET /open-apis/helpdesk/v1/tickets/:ticket_id` with a tenant token, and
//! the Get Ticket page's `ticket_v2` in the unified vocabulary (`api/feishu-helpdesk-get-ticket.md`).
//!
//! Where the read differs from the update, as the pages have it:
//! - statuses: the read's 1 is "created" where the update's is "awaiting response" (one state
//!   under two names: nothing else on either page could be it, so both are `open` and the
//!   native `awaiting_response`); 2–5, 50 and 51 mean the same; 52, "closed by the user",
//!   exists only in the read (native `closed_by_user`);
//! - `solve` (read) is `solved` (update), 1 unsolved, 2 solved;
//! - tags are objects `{id, name}`, left out when there are none; so are custom fields;
//! - a dropdown field shows its option's label, which the custom field definitions map back
//!   to the option's `tag` the update writes ([`fields`](crate::fields));
//! - `comments` is one object, the latest remark;
//! - times are Unix milliseconds by the examples' size (the unit is not stated), `-1` unset.

use serde_json::{Map, Value};
use ticket_core::{
    CustomFieldId, NativeStatus, SnapshotField, TicketError, TicketId, TicketSnapshot, TicketStatus,
};
use ticket_http::RawResponse;
use time::OffsetDateTime;

use crate::{PROVIDER, feishu_error};

/// The read route.
pub const READ_ROUTE: &str = "/open-apis/helpdesk/v1/tickets/{id}";

/// The unified status and the native name of a status number as the read writes it; `None`
/// for a number no page lists.
pub(crate) const fn read_status(code: i64) -> Option<(TicketStatus, &'static str)> {
    Some(match code {
        1 => (TicketStatus::Open, "awaiting_response"),
        2 => (TicketStatus::InProgress, "in_progress"),
        // Waiting for an agent to pick it up: nobody works on it yet.
        3 => (TicketStatus::Open, "queued"),
        4 => (TicketStatus::OnHold, "pending"),
        5 => (TicketStatus::Pending, "awaiting_user"),
        50 => (TicketStatus::Closed, "closed_by_bot"),
        51 => (TicketStatus::Closed, "closed_manually"),
        52 => (TicketStatus::Closed, "closed_by_user"),
        _ => return None,
    })
}

/// The snapshot in a read's answer (`{"code":0,"msg":"success","data":{"ticket":{…}}}`), or
/// the error (read as an update's is).
pub(crate) fn decode(id: &TicketId, response: &RawResponse) -> Result<TicketSnapshot, TicketError> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let code = body
        .as_ref()
        .and_then(|b| b.get("code"))
        .and_then(Value::as_i64);
    if !response.is_success() || code.is_some_and(|c| c != 0) {
        let msg = body
            .as_ref()
            .and_then(|b| b.get("msg"))
            .and_then(Value::as_str);
        return Err(feishu_error(response, code, msg));
    }
    let Some(body) = body else {
        return Err(response.malformed(PROVIDER, "not the documented {code, msg, data} envelope"));
    };
    if code.is_none() {
        return Err(response.malformed(PROVIDER, "the envelope has no `code`"));
    }
    let Some(Value::Object(t)) = body.pointer("/data/ticket") else {
        return Err(response.malformed(PROVIDER, "`data.ticket` is not an object"));
    };
    if let Some(other) = loose_text(t.get("ticket_id")).filter(|other| other != id.as_str()) {
        return Err(response.malformed(
            PROVIDER,
            format!(
                "answered with ticket {other:?}, not the requested {:?}",
                id.as_str()
            ),
        ));
    }
    let mut s = TicketSnapshot::new(PROVIDER, id.clone());
    if let Some(code) = t.get("status").and_then(Value::as_i64) {
        let native = read_status(code);
        s.status = native.map(|(unified, _)| unified);
        let name = native.map_or_else(|| code.to_string(), |(_, name)| name.to_owned());
        s.native_status = NativeStatus::new(PROVIDER, name).ok();
        s.native_status_code = Some(code.to_string());
    }
    s.solved = match t.get("solve").and_then(Value::as_i64) {
        Some(2) => Some(true),
        Some(1) => Some(false),
        _ => None,
    };
    // Both lists are left out when empty (the page says so).
    s.tags = Some(match t.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tags)) => tags
            .iter()
            .filter_map(|tag| tag.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(response.malformed(PROVIDER, "`tags` is not a list")),
    });
    s.custom_fields = Some(match t.get("customized_fields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(field).collect(),
        Some(_) => return Err(response.malformed(PROVIDER, "`customized_fields` is not a list")),
    });
    s.latest_comment = t
        .get("comments")
        .and_then(|c| c.get("content"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    s.updated_at = t.get("updated_at").and_then(Value::as_i64).and_then(millis);
    s.raw = Value::Object(t.clone());
    Ok(s)
}

/// One `customized_field_display_item`.
fn field(item: &Value) -> Option<SnapshotField> {
    let item: &Map<String, Value> = item.as_object()?;
    let text = |key: &str| loose_text(item.get(key)).filter(|t| !t.is_empty());
    Some(
        SnapshotField::new(item.get("value").cloned().unwrap_or(Value::Null))
            .with_id(text("id").map(CustomFieldId::Text))
            .with_key(text("key_name"))
            .with_display_name(text("display_name")),
    )
}

/// A string, or a number as its text (ids are strings on the page; a number is read too).
fn loose_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(t) => Some(t.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A Feishu time: milliseconds by the examples' 13 digits (a 10-digit one is read as
/// seconds); `-1` or any other value before 1970 is no time.
fn millis(value: i64) -> Option<OffsetDateTime> {
    const MILLIS_FROM: i64 = 100_000_000_000;
    match value {
        v if v < 0 => None,
        v if v >= MILLIS_FROM => {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000).ok()
        }
        v => OffsetDateTime::from_unix_timestamp(v).ok(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ticket_http::reqwest::header::HeaderMap;

    fn read(body: &str) -> Result<TicketSnapshot, TicketError> {
        let response = RawResponse::new(200, HeaderMap::new(), body.as_bytes().to_vec(), None);
        decode(&TicketId::new("7").unwrap(), &response)
    }

    #[test]
    fn every_read_status_has_its_unified_and_native_name() {
        for (code, unified, native) in [
            (1, TicketStatus::Open, "awaiting_response"),
            (3, TicketStatus::Open, "queued"),
            (4, TicketStatus::OnHold, "pending"),
            (5, TicketStatus::Pending, "awaiting_user"),
            (52, TicketStatus::Closed, "closed_by_user"),
        ] {
            let s = read(&format!(
                r#"{{"code":0,"msg":"success","data":{{"ticket":{{"ticket_id":"7","status":{code},"solve":1,"updated_at":-1}}}}}}"#
            ))
            .unwrap();
            assert_eq!(s.status, Some(unified), "{code}");
            assert_eq!(s.native_status.unwrap().value(), native);
            assert_eq!(
                s.native_status_code.as_deref(),
                Some(code.to_string().as_str())
            );
            assert_eq!((s.solved, s.updated_at), (Some(false), None));
            assert_eq!((s.tags, s.custom_fields), (Some(vec![]), Some(vec![])));
        }
        let odd = read(r#"{"code":0,"data":{"ticket":{"status":77}}}"#).unwrap();
        assert_eq!(odd.status, None);
        assert_eq!(odd.native_status.unwrap().value(), "77");
    }

    #[test]
    fn another_ticket_or_a_broken_envelope_is_malformed() {
        for body in [
            r#"{"code":0,"data":{"ticket":{"ticket_id":"8"}}}"#,
            r#"{"code":0,"data":{}}"#,
            r#"{"msg":"success","data":{"ticket":{}}}"#,
            "<html>",
        ] {
            assert_eq!(
                read(body).unwrap_err().kind(),
                ticket_core::ErrorKind::MalformedResponse,
                "{body}"
            );
        }
    }
}
