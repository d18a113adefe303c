//! The JSON form of `TicketUpdate` and `UpdateReceipt` (feature `serde`).
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)]

use helpdesk_ticket_core::{
    CommentVisibility, Field, NativeStatus, Priority, TicketId, TicketStatus, TicketUpdate,
    UnsupportedPolicy, UpdateReceipt,
};
use serde_json::json;

fn parse(value: serde_json::Value) -> Result<TicketUpdate, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[test]
fn the_documented_example_reads_and_writes_back_equal() {
    let value = json!({
        "title": "Printer jammed",
        "description": "A4 stuck",
        "priority": "normal",
        "kind": "incident",
        "tags": ["printer", "hardware"],
        "custom_fields": [
            {"key": "device_sn", "value": "PRN-2024-001"},
            {"id": 360001, "value": 3},
            {"key": "vip", "id": "6981", "value": true}
        ],
        "attachments": ["https://files.example.com/a.png"],
        "status": "in_progress",
        "comment": {"body": "checked", "visibility": "internal"},
        "provider_fields": {"feishu": {"channel": 1}},
        "lenient": true
    });
    let update = parse(value).unwrap();
    let expected = TicketUpdate::builder()
        .title("Printer jammed")
        .description("A4 stuck")
        .priority(Priority::Medium)
        .kind(helpdesk_ticket_core::TicketKind::Incident)
        .tags(["printer", "hardware"])
        .custom_field("device_sn", "PRN-2024-001")
        .custom_field_by_id(360_001u64, 3)
        .custom_field_with_id("6981", "vip", true)
        .attachment("https://files.example.com/a.png")
        .status(TicketStatus::InProgress)
        .internal_comment("checked")
        .provider_field("feishu", "channel", 1)
        .lenient()
        .build()
        .unwrap();
    assert_eq!(update, expected);
    let written = serde_json::to_value(&update).unwrap();
    assert_eq!(written["priority"], "medium");
    assert_eq!(
        written["custom_fields"][1],
        json!({"id": 360001, "value": 3})
    );
    assert_eq!(parse(written).unwrap(), update);
}

#[test]
fn native_status_and_plain_comment_forms() {
    let update = parse(json!({"status": {"feishu": "closed_by_bot"}, "comment": "hi"})).unwrap();
    assert_eq!(
        update.status().unwrap().native(),
        Some(&NativeStatus::new("feishu", "closed_by_bot").unwrap())
    );
    assert_eq!(update.comment(), Some("hi"));
    assert_eq!(update.comment_visibility(), None);
    assert_eq!(update.policy(), UnsupportedPolicy::Strict);
    let written = serde_json::to_string(&update).unwrap();
    assert_eq!(
        written,
        r#"{"status":{"feishu":"closed_by_bot"},"comment":"hi"}"#
    );
    let public = parse(json!({"comment": {"body": "x", "visibility": "public"}})).unwrap();
    assert_eq!(public.comment_visibility(), Some(CommentVisibility::Public));
}

#[test]
fn bad_input_is_refused_with_the_builders_reasons() {
    let cases = [
        (json!({"titel": "x"}), "unknown field `titel`"),
        (json!({"title": " "}), "invalid title: must not be blank"),
        (json!({"tags": ["a", "a"]}), "invalid tags"),
        (json!({"priority": "critical"}), "invalid priority"),
        (json!({"status": "queued"}), "invalid status"),
        (json!({"status": {"a": "x", "b": "y"}}), "invalid status"),
        (json!({"status": {"feishu": ""}}), "invalid status"),
        (
            json!({"custom_fields": [{"value": 1}]}),
            "needs a key or an id",
        ),
        (
            json!({"custom_fields": [{"key": "k"}]}),
            "missing field `value`",
        ),
        (
            json!({"custom_fields": [{"key": "k", "value": [1]}]}),
            "JSON scalar",
        ),
        (
            json!({"custom_fields": [{"id": -1, "value": 1}]}),
            "custom_fields.id",
        ),
        (
            json!({"custom_fields": [{"key": "k", "value": 1, "name": "n"}]}),
            "unknown field `name`",
        ),
        (json!({"custom_fields": []}), "invalid custom_fields"),
        (
            json!({"attachments": ["file:///etc/passwd"]}),
            "invalid attachments",
        ),
        (
            json!({"comment": {"body": "x", "public": true}}),
            "invalid comment",
        ),
        (json!({"comment_visibility": "internal"}), "unknown field"),
        (
            json!({"status": "solved", "solved": false}),
            "invalid solved",
        ),
        (
            json!({"provider_fields": {"Feishu": {"channel": 1}}}),
            "invalid provider_fields",
        ),
        (
            json!({"provider_fields": {"feishu": {}}}),
            "invalid provider_fields.feishu",
        ),
        (json!({"lenient": "yes"}), "invalid type"),
    ];
    for (input, expected) in cases {
        let err = parse(input.clone()).unwrap_err();
        assert!(err.contains(expected), "{input}: {err}");
    }
}

#[test]
fn receipts_round_trip() {
    let receipt = UpdateReceipt::new("engagelab", TicketId::new("tk_1").unwrap())
        .with_updated_at(Some(
            time::OffsetDateTime::parse(
                "2025-11-04T15:42:18+08:00",
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap(),
        ))
        .with_request_id(Some("req-9".into()))
        .with_dropped(vec![Field::Comment, Field::CustomFieldIds])
        .with_attempts(2);
    let value = serde_json::to_value(&receipt).unwrap();
    assert_eq!(
        value,
        json!({
            "provider": "engagelab",
            "ticket_id": "tk_1",
            "updated_at": "2025-11-04T15:42:18+08:00",
            "request_id": "req-9",
            "dropped": ["comment", "custom_fields.id"],
            "attempts": 2
        })
    );
    let back: UpdateReceipt = serde_json::from_value(value).unwrap();
    assert_eq!(back, receipt);
    let bad = serde_json::from_value::<UpdateReceipt>(json!({
        "provider": "p", "ticket_id": "", "attempts": 1
    }));
    assert!(bad.is_err());
    let unknown = serde_json::from_value::<UpdateReceipt>(json!({
        "provider": "p", "ticket_id": "1", "attempts": 1, "extra": 1
    }));
    assert!(unknown.is_err());
}

#[test]
fn a_flattened_update_still_refuses_unknown_keys() {
    #[derive(serde::Deserialize)]
    struct Line {
        ticket_id: TicketId,
        #[serde(flatten)]
        update: TicketUpdate,
    }
    let line: Line = serde_json::from_str(r#"{"ticket_id": "tk_1", "title": "t"}"#).unwrap();
    assert_eq!(line.ticket_id.as_str(), "tk_1");
    assert_eq!(line.update.title(), Some("t"));
    let err = serde_json::from_str::<Line>(r#"{"ticket_id": "tk_1", "titel": "t"}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("unknown field `titel`"), "{err}");
}

#[test]
fn text_input_is_read_directly_and_a_repeated_key_is_refused() {
    // A key given twice would otherwise set the field from whichever came last.
    let err = serde_json::from_str::<TicketUpdate>(r#"{"title": "a", "title": "b"}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("duplicate field `title`"), "{err}");
    // Errors read from text say where.
    let err = serde_json::from_str::<TicketUpdate>(r#"{"title": "a", "titel": "b"}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("unknown field `titel`") && err.contains("line 1 column"),
        "{err}"
    );
    let err = serde_json::from_str::<TicketUpdate>(r#"["title"]"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("expected a ticket update object"), "{err}");
    let update: TicketUpdate =
        serde_json::from_str(r#"{"title": "a", "tags": ["x"], "comment": "c"}"#).unwrap();
    assert_eq!(update.title(), Some("a"));
    assert_eq!(update.tags().unwrap(), ["x"]);
    assert_eq!(update.comment(), Some("c"));
}
