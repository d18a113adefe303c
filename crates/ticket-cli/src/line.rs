//! One JSON Lines update: `{"ticket_id": "…", "title": "…", …}` → (`TicketId`, `TicketUpdate`).
//!
//! The update is `ticket-core`'s documented JSON form of `TicketUpdate` (its `serde` feature:
//! the unified field names, unknown keys refused, validated as the builder validates) with one
//! more key, `ticket_id`.

use serde::Deserialize;
use serde_json::{Map, Value};
use ticket_facade::{TicketId, TicketUpdate};

/// Parses one line into a ticket id and a validated update. The error is a one-line reason.
pub(crate) fn parse_line(line: &str) -> Result<(TicketId, TicketUpdate), String> {
    let mut object: Map<String, Value> = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let id = match object.remove("ticket_id") {
        Some(Value::String(id)) => TicketId::new(id).map_err(|e| e.to_string())?,
        Some(_) => return Err("ticket_id: must be a string".to_owned()),
        None => return Err("missing field `ticket_id`".to_owned()),
    };
    let update = TicketUpdate::deserialize(Value::Object(object)).map_err(|e| e.to_string())?;
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
    use ticket_facade::{Priority, UnsupportedPolicy};

    #[test]
    fn parses_every_field() {
        let (id, u) = parse_line(
            r#"{"ticket_id":"t1","title":"T","description":"D","priority":"high","kind":"task",
            "tags":["a","b"],"custom_fields":[{"key":"k","value":"v"},{"key":"k2","value":"v2","id":"9"}],
            "attachments":["https://x.invalid/a.png"],"status":"in_progress","solved":false,
            "comment":"c","provider_fields":{"feishu":{"channel":3}},"lenient":true}"#,
        )
        .unwrap();
        assert_eq!(id.as_str(), "t1");
        assert_eq!(u.title(), Some("T"));
        assert_eq!(u.priority(), Some(Priority::High));
        assert_eq!(u.tags().unwrap(), ["a", "b"]);
        assert_eq!(u.custom_fields().unwrap()[1].id().unwrap().to_string(), "9");
        assert_eq!(
            u.status().unwrap(),
            &ticket_facade::Status::Unified(ticket_facade::TicketStatus::InProgress)
        );
        assert_eq!(u.solved(), Some(false));
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
