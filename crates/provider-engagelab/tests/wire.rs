//! The exact JSON and request EngageLab receives, as reviewed insta snapshots.
#![allow(clippy::unwrap_used)]

use helpdesk_provider_engagelab::{EngageLabClient, EngageLabConfig};
use ticket_core::{
    Field, Priority, TicketError, TicketId, TicketKind, TicketStatus, TicketUpdate,
    TicketUpdateBuilder, TicketUpdater,
};

const KEY: &str = "el-key-4a7f09";
const SECRET: &str = "el-secret-b81c33";

fn client() -> EngageLabClient {
    EngageLabClient::new(EngageLabConfig::new(KEY, SECRET).unwrap()).unwrap()
}

/// What every update must carry: title, description, and priority (an omitted one would be
/// reset to medium by EngageLab).
fn base() -> TicketUpdateBuilder {
    TicketUpdate::builder()
        .title("Printer jammed")
        .description("Paper stuck.")
        .priority(Priority::Medium)
}

/// The body bytes the client would send, as text.
fn body(update: TicketUpdate) -> String {
    let id = TicketId::new("tk_1").unwrap();
    let (request, _) = client().prepare(&id, &update).unwrap();
    String::from_utf8(request.body().to_vec()).unwrap()
}

/// The EngageLab document's own example; its `"priority": "normal"` is parsed as medium.
fn printer_example() -> TicketUpdate {
    TicketUpdate::builder()
        .title("打印機卡紙,無法打印(已更新)")
        .description("客戶反映 A4 紙卡在出紙口,急需處理。\n已派技術員前往。")
        .attachment("https://example.com/files/error-photo.jpg")
        .priority("normal".parse().unwrap())
        .kind("incident".parse().unwrap())
        .custom_field("department", "IT 支持")
        .custom_field("device_sn", "PRN-2024-001")
        .custom_field("location", "北京總部-3 樓打印室")
        .custom_field("resolution_note", "更換了進紙器")
        .tags(["printer", "hardware", "resolved"])
        .build()
        .unwrap()
}

#[test]
fn title_description_and_priority() {
    insta::assert_snapshot!(body(base().build().unwrap()));
}

/// Without a priority the update would reset it to medium: refused, naming both remedies.
#[test]
fn title_and_description_only_are_refused() {
    let update = TicketUpdate::builder()
        .title("Printer jammed")
        .description("Paper stuck.")
        .build()
        .unwrap();
    let err = client()
        .preview(&TicketId::new("tk_1").unwrap(), &update)
        .unwrap_err();
    match &err {
        TicketError::InvalidInput { field, reason } => {
            assert_eq!(field, "priority");
            assert!(reason.contains("set it"), "{reason}");
            assert!(reason.contains("merge"), "{reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn every_priority_sends_a_listed_value() {
    let bodies: Vec<String> = Priority::ALL
        .iter()
        .map(|p| body(base().priority(*p).build().unwrap()))
        .collect();
    insta::assert_snapshot!(bodies.join("\n"));
}

#[test]
fn every_kind_maps_to_ticket_type() {
    let bodies: Vec<String> = TicketKind::ALL
        .iter()
        .map(|k| body(base().kind(*k).build().unwrap()))
        .collect();
    insta::assert_snapshot!(bodies.join("\n"));
}

#[test]
fn tags() {
    insta::assert_snapshot!(body(base().tags(["printer", "hardware"]).build().unwrap()));
}

#[test]
fn empty_tags_clear_them() {
    insta::assert_snapshot!(body(base().tags(Vec::<String>::new()).build().unwrap()));
}

#[test]
fn custom_fields_become_an_object_in_given_order() {
    let update = base()
        .custom_field("zeta", "1")
        .custom_field("alpha", "2")
        .build()
        .unwrap();
    insta::assert_snapshot!(body(update));
}

#[test]
fn attachments() {
    let update = base()
        .attachment("https://example.com/a.jpg")
        .attachment("https://example.com/b.pdf")
        .build()
        .unwrap();
    insta::assert_snapshot!(body(update));
}

#[test]
fn provider_fields_are_merged_and_other_providers_ignored() {
    let update = base()
        .provider_field("engagelab", "assignee_email", "ops@example.com")
        .provider_field("feishu", "channel", 1)
        .build()
        .unwrap();
    insta::assert_snapshot!(body(update));
}

#[test]
fn the_vendor_printer_example() {
    insta::assert_snapshot!(body(printer_example()));
}

#[test]
fn preview_of_a_full_update_redacts_the_credentials() {
    let preview = client()
        .preview(
            &TicketId::new("tk_20251104_789abc").unwrap(),
            &printer_example(),
        )
        .unwrap();
    let text = preview.to_string();
    assert!(!text.contains(KEY) && !text.contains(SECRET));
    insta::assert_snapshot!(text);
}

#[test]
fn lenient_policy_drops_and_reports_what_engagelab_cannot_carry() {
    let update = base()
        .status(TicketStatus::InProgress)
        .solved(false)
        .comment("done")
        .custom_field_with_id("cf_9", "device_sn", "PRN-1")
        .lenient()
        .build()
        .unwrap();
    let preview = client()
        .preview(&TicketId::new("tk_1").unwrap(), &update)
        .unwrap();
    assert_eq!(
        preview.dropped,
        vec![
            Field::CustomFieldIds,
            Field::Status,
            Field::Solved,
            Field::Comment
        ]
    );
    insta::assert_snapshot!(preview.body);
}

#[test]
fn typed_values_are_sent_as_json_and_fields_without_a_key_are_refused() {
    let update = base()
        .custom_field("count", 3)
        .custom_field("vip", true)
        .build()
        .unwrap();
    let preview = client()
        .preview(&TicketId::new("tk_1").unwrap(), &update)
        .unwrap();
    assert!(
        preview
            .body
            .ends_with(r#""custom_fields":{"count":3,"vip":true}}"#),
        "{}",
        preview.body
    );
    let by_id = base()
        .custom_field_by_id(7u64, "x")
        .lenient()
        .build()
        .unwrap();
    match client().preview(&TicketId::new("tk_1").unwrap(), &by_id) {
        Err(TicketError::InvalidInput { field, .. }) => assert_eq!(field, "custom_fields.key"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn strict_policy_names_every_unsupported_field() {
    let update = base()
        .status(TicketStatus::InProgress)
        .solved(false)
        .comment("done")
        .build()
        .unwrap();
    let err = client()
        .preview(&TicketId::new("tk_1").unwrap(), &update)
        .unwrap_err();
    match &err {
        TicketError::Unsupported { provider, fields } => {
            assert_eq!(provider, "engagelab");
            assert_eq!(fields, &[Field::Status, Field::Solved, Field::Comment]);
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "engagelab cannot carry these fields: status, solved, comment"
    );
}
