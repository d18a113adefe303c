//! Feishu `PUT` ticket: the body checked against the update page (and dropdown values against
//! the field definitions), then stored, with the silent-drop fault applied.

use axum::body::Body;
use hyper::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{bad_request, fields, header_str, success, ticket_not_found};
use crate::fault::DropTarget;
use crate::model::FeishuCustomizedField;
use crate::ratelimit::Provider;
use crate::server::ReceivedRequest;
use crate::state::{FeishuRecord, Shared};
use crate::util::{is_json_content_type, unix_millis_now};

/// Allowed `status` values (52, "closed by the user", is read-only).
const STATUSES: [i64; 7] = [1, 2, 3, 4, 5, 50, 51];
/// Every field the vendor document lists for the update body.
pub(crate) const FIELDS: [&str; 7] = [
    "status",
    "tag_names",
    "comment",
    "customized_fields",
    "ticket_type",
    "solved",
    "channel",
];
/// Keys of `customized_fields` items that the official SDK models carry and the server
/// ignores on update.
const IGNORED_FIELD_KEYS: [&str; 4] = ["display_name", "position", "required", "editable"];

#[derive(Serialize)]
struct Empty {}

/// Checks, in order: `Content-Type`, the JSON body, dropdown values, the ticket; then stores the
/// update and answers `{"code":0,"msg":"success","data":{}}`.
pub(super) fn handle(shared: &Shared, req: &ReceivedRequest, id: &str) -> Response<Body> {
    if !header_str(req, "content-type").is_some_and(is_json_content_type) {
        return bad_request("Content-Type must be application/json; charset=utf-8");
    }
    let value: Value = match serde_json::from_slice(&req.body) {
        Ok(value) => value,
        Err(err) => return bad_request(&format!("invalid JSON: {err}")),
    };
    let mut update = match validate(&value) {
        Ok(update) => update,
        Err(reason) => return bad_request(&reason),
    };
    let written = update.customized_fields.as_deref_mut().unwrap_or_default();
    if let Err(reason) = fields::resolve(&shared.feishu_fields(), written) {
        return bad_request(&reason);
    }
    if !shared.has_feishu_ticket(id) {
        return ticket_not_found();
    }
    let mut body = value.as_object().cloned().unwrap_or_default();
    // A drop names a customized field by id or key name: match it against the items as
    // completed from their definitions, not only as written.
    if let Some(items) = &update.customized_fields
        && let Ok(items) = serde_json::to_value(items)
    {
        body.insert("customized_fields".to_owned(), items);
    }
    let dropped = shared.take_silent_drop(Provider::Feishu, id, |t| t.carried_by(&body));
    let comment_stored =
        update.comment.is_some() && dropped.as_ref().is_none_or(|t| t.field() != "comment");
    let stored = shared.update_feishu(id, |record| {
        // Only a drop needs the old state, so only then is it copied.
        let before = dropped.as_ref().map(|_| record.clone());
        update.apply(record);
        if let (Some(target), Some(before)) = (&dropped, &before) {
            withhold(record, before, target);
        }
    });
    if stored.is_none() {
        return ticket_not_found();
    }
    if comment_stored {
        shared.count_comment();
    }
    if dropped.is_some() {
        shared.count_silent_drop();
    }
    success(Empty {})
}

/// A validated update body.
#[derive(Debug, Default)]
struct Update {
    status: Option<i64>,
    tag_names: Option<Vec<String>>,
    comment: Option<String>,
    customized_fields: Option<Vec<FeishuCustomizedField>>,
    ticket_type: Option<i64>,
    solved: Option<i64>,
    channel: Option<i64>,
}

impl Update {
    /// Replaces what is given; appends the comment; merges the customized fields; closing
    /// stamps `closed_at`, reopening clears it.
    fn apply(self, record: &mut FeishuRecord) {
        let now = unix_millis_now();
        let ticket = &mut record.ticket;
        if let Some(v) = self.status {
            let was_closed = ticket.is_closed();
            ticket.status = v;
            match (was_closed, ticket.is_closed()) {
                (false, true) => ticket.closed_at = now,
                (_, false) => ticket.closed_at = 0,
                (true, true) => {}
            }
        }
        if let Some(v) = self.tag_names {
            ticket.tag_names = v;
        }
        if let Some(v) = self.comment {
            ticket.comments.push(v);
            record.comment_times.push(now);
        }
        if let Some(fields) = self.customized_fields {
            for field in fields {
                merge_field(&mut ticket.customized_fields, field);
            }
        }
        if let Some(v) = self.ticket_type {
            ticket.ticket_type = v;
        }
        if let Some(v) = self.solved {
            ticket.solved = v;
        }
        if let Some(v) = self.channel {
            ticket.channel = v;
        }
        ticket.updated_at = now;
    }
}

/// Puts back what `target` withholds from the update just applied: the field's old value, or
/// for one tag its absence, or for one customized field its old state (or absence).
fn withhold(record: &mut FeishuRecord, before: &FeishuRecord, target: &DropTarget) {
    let (ticket, old) = (&mut record.ticket, &before.ticket);
    match (target.field(), target.key()) {
        ("status", _) => {
            ticket.status = old.status;
            ticket.closed_at = old.closed_at;
        }
        ("ticket_type", _) => ticket.ticket_type = old.ticket_type,
        ("solved", _) => ticket.solved = old.solved,
        ("channel", _) => ticket.channel = old.channel,
        ("comment", _) => {
            ticket.comments.clone_from(&old.comments);
            record.comment_times.clone_from(&before.comment_times);
        }
        ("tag_names", Some(tag)) => ticket.tag_names.retain(|t| t != tag),
        ("tag_names", None) => ticket.tag_names.clone_from(&old.tag_names),
        ("customized_fields", Some(key)) => {
            restore_field(&mut ticket.customized_fields, &old.customized_fields, key);
        }
        ("customized_fields", None) => {
            ticket.customized_fields.clone_from(&old.customized_fields);
        }
        _ => {}
    }
}

/// The item named `key` (by id or key name) goes back to its old state, or away if it had none.
fn restore_field(
    fields: &mut Vec<FeishuCustomizedField>,
    old: &[FeishuCustomizedField],
    key: &str,
) {
    let named = |f: &FeishuCustomizedField| {
        f.id.as_deref() == Some(key) || f.key_name.as_deref() == Some(key)
    };
    match old.iter().find(|f| named(f)) {
        Some(previous) => {
            if let Some(slot) = fields.iter_mut().find(|f| named(f)) {
                slot.clone_from(previous);
            }
        }
        None => fields.retain(|f| !named(f)),
    }
}

/// Merges by `id` when given, else by `key_name`; appends when nothing matches.
fn merge_field(existing: &mut Vec<FeishuCustomizedField>, field: FeishuCustomizedField) {
    let slot = match (&field.id, &field.key_name) {
        (Some(id), _) => existing.iter_mut().find(|f| f.id.as_ref() == Some(id)),
        (None, Some(key)) => existing
            .iter_mut()
            .find(|f| f.key_name.as_ref() == Some(key)),
        (None, None) => None,
    };
    match slot {
        Some(slot) => {
            if field.key_name.is_some() {
                slot.key_name = field.key_name;
            }
            if field.value.is_some() {
                slot.value = field.value;
            }
        }
        None => existing.push(field),
    }
}

fn validate(value: &Value) -> Result<Update, String> {
    let Some(obj) = value.as_object() else {
        return Err("body must be a JSON object".to_owned());
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("{unknown}: unknown field"));
    }
    if obj.is_empty() {
        return Err("at least one field is required".to_owned());
    }
    let mut update = Update {
        status: int_field(obj, "status")?,
        ticket_type: int_field(obj, "ticket_type")?,
        solved: int_field(obj, "solved")?,
        channel: int_field(obj, "channel")?,
        ..Update::default()
    };
    if let Some(status) = update.status
        && !STATUSES.contains(&status)
    {
        return Err(format!(
            "status: must be one of 1, 2, 3, 4, 5, 50, 51 (got {status})"
        ));
    }
    if let Some(solved) = update.solved
        && solved != 1
        && solved != 2
    {
        return Err(format!("solved: must be 1 or 2 (got {solved})"));
    }
    if let Some(v) = obj.get("comment") {
        update.comment = Some(
            v.as_str()
                .ok_or_else(|| "comment: must be a string".to_owned())?
                .to_owned(),
        );
    }
    update.tag_names = obj.get("tag_names").map(tag_names).transpose()?;
    if let Some(v) = obj.get("customized_fields") {
        let items = v
            .as_array()
            .ok_or_else(|| "customized_fields: must be an array".to_owned())?;
        update.customized_fields = Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| customized_field(i, item))
                .collect::<Result<_, String>>()?,
        );
    }
    Ok(update)
}

fn tag_names(value: &Value) -> Result<Vec<String>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| "tag_names: must be an array of strings".to_owned())?;
    items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("tag_names[{i}]: must be a string"))
        })
        .collect()
}

fn customized_field(i: usize, item: &Value) -> Result<FeishuCustomizedField, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| format!("customized_fields[{i}]: must be an object"))?;
    let mut field = FeishuCustomizedField::default();
    for (key, value) in obj {
        if IGNORED_FIELD_KEYS.contains(&key.as_str()) {
            continue;
        }
        let text = value
            .as_str()
            .ok_or_else(|| format!("customized_fields[{i}].{key}: must be a string"))?
            .to_owned();
        match key.as_str() {
            "id" => field.id = Some(text),
            "key_name" => field.key_name = Some(text),
            "value" => field.value = Some(text),
            _ => return Err(format!("customized_fields[{i}].{key}: unknown field")),
        }
    }
    if field.id.is_none() && field.key_name.is_none() {
        return Err(format!("customized_fields[{i}]: needs an id or a key_name"));
    }
    Ok(field)
}

fn int_field(obj: &Map<String, Value>, field: &str) -> Result<Option<i64>, String> {
    match obj.get(field) {
        None => Ok(None),
        // The document types these `int`: 32-bit on Feishu's side.
        Some(v) => v
            .as_i64()
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Some)
            .ok_or_else(|| format!("{field}: must be a 32-bit integer (got {v})")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_the_vendor_example() {
        let body = json!({
            "status": 1, "tag_names": ["abc"], "comment": "good",
            "customized_fields": [{"id": "123", "value": "value", "key_name": "key"}],
            "ticket_type": 1, "solved": 1, "channel": 1
        });
        let update = validate(&body).unwrap();
        assert_eq!(update.status, Some(1));
        assert_eq!(update.comment.as_deref(), Some("good"));
    }

    #[test]
    fn ignores_the_official_models_extra_field_keys() {
        let body = json!({"customized_fields": [{
            "id": "1", "value": "v", "display_name": "Device", "position": "3",
            "required": false, "editable": true
        }]});
        let update = validate(&body).unwrap();
        assert_eq!(
            update.customized_fields.unwrap(),
            [FeishuCustomizedField::new(Some("1"), None, Some("v"))]
        );
    }

    #[test]
    fn refuses_bad_bodies() {
        let cases = [
            (json!({}), "at least one field"),
            (json!("x"), "body must be a JSON object"),
            (json!({"status": 6}), "status: must be one of"),
            (json!({"status": "1"}), "status: must be a 32-bit integer"),
            (json!({"status": 1.5}), "status: must be a 32-bit integer"),
            (json!({"solved": 0}), "solved: must be 1 or 2"),
            (json!({"title": "x"}), "title: unknown field"),
            (json!({"tag_names": "a"}), "tag_names: must be an array"),
            (json!({"tag_names": [1]}), "tag_names[0]"),
            (json!({"comment": 1}), "comment: must be a string"),
            (
                json!({"customized_fields": [{"id": 1}]}),
                "customized_fields[0].id",
            ),
            (
                json!({"customized_fields": [{"id": "1", "x": "y"}]}),
                "customized_fields[0].x",
            ),
            (
                json!({"customized_fields": [{"id": "1", "displayname": "y"}]}),
                "customized_fields[0].displayname",
            ),
            (
                json!({"customized_fields": [{"value": "v"}]}),
                "customized_fields[0]: needs",
            ),
            (
                json!({"channel": null}),
                "channel: must be a 32-bit integer",
            ),
            (
                json!({"ticket_type": 9_223_372_036_854_775_807_i64}),
                "ticket_type: must be a 32-bit integer",
            ),
        ];
        for (body, expected) in cases {
            let err = validate(&body).unwrap_err();
            assert!(err.starts_with(expected), "{body}: {err}");
        }
    }

    #[test]
    fn merges_customized_fields() {
        let mut fields = vec![FeishuCustomizedField {
            id: Some("1".into()),
            key_name: Some("a".into()),
            value: Some("old".into()),
        }];
        let by_key = FeishuCustomizedField {
            id: None,
            key_name: Some("a".into()),
            value: Some("by-key".into()),
        };
        merge_field(&mut fields, by_key);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].value.as_deref(), Some("by-key"));
        let by_id = FeishuCustomizedField {
            id: Some("1".into()),
            key_name: None,
            value: Some("by-id".into()),
        };
        merge_field(&mut fields, by_id);
        assert_eq!(fields[0].value.as_deref(), Some("by-id"));
        assert_eq!(fields[0].key_name.as_deref(), Some("a"));
        let new = FeishuCustomizedField {
            id: Some("2".into()),
            key_name: None,
            value: Some("n".into()),
        };
        merge_field(&mut fields, new);
        assert_eq!(fields.len(), 2);
    }
}
