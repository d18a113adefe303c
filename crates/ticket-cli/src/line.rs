//! One JSON Lines update: `{"ticket_id": "…", "title": "…", …}` → (`TicketId`, `TicketUpdate`).
//!
//! Kept behind [`parse_line`] so that the JSON form can move to `ticket-core`'s `serde`
//! feature without touching the rest of the command.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use ticket_facade::{
    Priority, TicketError, TicketId, TicketKind, TicketStatus, TicketUpdate, UnsupportedPolicy,
};

/// The documented line form: the unified field names; unknown keys are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineWire {
    ticket_id: String,
    title: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    kind: Option<String>,
    tags: Option<Vec<String>>,
    custom_fields: Option<Vec<CustomFieldWire>>,
    attachments: Option<Vec<String>>,
    status: Option<String>,
    solved: Option<bool>,
    comment: Option<String>,
    #[serde(default)]
    provider_fields: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    lenient: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomFieldWire {
    key: String,
    value: String,
    id: Option<String>,
}

/// Parses one line into a ticket id and a validated update. The error is a one-line reason.
pub(crate) fn parse_line(line: &str) -> Result<(TicketId, TicketUpdate), String> {
    let wire: LineWire = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let id = TicketId::new(wire.ticket_id).map_err(|e| e.to_string())?;
    let mut b = TicketUpdate::builder();
    if let Some(v) = wire.title {
        b = b.title(v);
    }
    if let Some(v) = wire.description {
        b = b.description(v);
    }
    if let Some(v) = wire.priority {
        b = b.priority(v.parse::<Priority>().map_err(|e| e.to_string())?);
    }
    if let Some(v) = wire.kind {
        b = b.kind(v.parse::<TicketKind>().map_err(|e| e.to_string())?);
    }
    if let Some(v) = wire.tags {
        b = b.tags(v);
    }
    for f in wire.custom_fields.into_iter().flatten() {
        b = match f.id {
            Some(id) => b.custom_field_with_id(id, f.key, f.value),
            None => b.custom_field(f.key, f.value),
        };
    }
    for url in wire.attachments.into_iter().flatten() {
        b = b.attachment(url);
    }
    if let Some(v) = wire.status {
        b = b.status(v.parse::<TicketStatus>().map_err(|e| e.to_string())?);
    }
    if let Some(v) = wire.solved {
        b = b.solved(v);
    }
    if let Some(v) = wire.comment {
        b = b.comment(v);
    }
    for (provider, fields) in wire.provider_fields {
        for (key, value) in fields {
            b = b.provider_field(provider.clone(), key, value);
        }
    }
    if wire.lenient {
        b = b.policy(UnsupportedPolicy::Lenient);
    }
    let update = b.build().map_err(|e: TicketError| e.to_string())?;
    Ok((id, update))
}

/// FNV-1a, 64 bits, as 16 hex digits: identifies a line's exact bytes in the journal, so a
/// resumed run notices a file that changed under it. Not a security hash.
pub(crate) fn line_hash(line: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in line.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_every_field() {
        let (id, u) = parse_line(
            r#"{"ticket_id":"t1","title":"T","description":"D","priority":"high","kind":"task",
            "tags":["a","b"],"custom_fields":[{"key":"k","value":"v"},{"key":"k2","value":"v2","id":"9"}],
            "attachments":["https://x.invalid/a.png"],"status":"in_progress","solved":true,
            "comment":"c","provider_fields":{"feishu":{"channel":3}},"lenient":true}"#,
        )
        .unwrap();
        assert_eq!(id.as_str(), "t1");
        assert_eq!(u.title(), Some("T"));
        assert_eq!(u.priority(), Some(Priority::High));
        assert_eq!(u.tags().unwrap(), ["a", "b"]);
        assert_eq!(u.custom_fields().unwrap()[1].id(), Some("9"));
        assert_eq!(u.status(), Some(TicketStatus::InProgress));
        assert_eq!(u.solved(), Some(true));
        assert_eq!(u.comment(), Some("c"));
        assert_eq!(u.provider_fields("feishu").unwrap()["channel"], 3);
        assert_eq!(u.policy(), UnsupportedPolicy::Lenient);
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        for (line, reason) in [
            (r#"{"title":"T"}"#, "missing field `ticket_id`"),
            (r#"{"ticket_id":"t","titel":"T"}"#, "unknown field `titel`"),
            (r#"{"ticket_id":"t","priority":"asap"}"#, "priority"),
            (r#"{"ticket_id":"t","tags":["a","a"]}"#, "given twice"),
            (r#"{"ticket_id":"","title":"T"}"#, "ticket_id"),
            ("not json", "expected"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(reason), "{line}: {err}");
        }
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(line_hash(""), "cbf29ce484222325");
        assert_eq!(line_hash("a"), "af63dc4c8601ec8c");
    }
}
