//! The exact JSON and request Feishu receives, as reviewed insta snapshots.
#![allow(clippy::unwrap_used)]

use helpdesk_provider_feishu::{FeishuClient, FeishuConfig, FeishuStatus, Region};
use ticket_core::{
    Field, Priority, TicketError, TicketId, TicketStatus, TicketUpdate, TicketUpdater,
};

const TOKEN: &str = "u-7f1bcd13fc57d46bac21793a18e560";
const HELPDESK_ID: &str = "7012345678";
const HELPDESK_TOKEN: &str = "ht-0d5e9a71c2";

fn client() -> FeishuClient {
    FeishuClient::new(FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN).unwrap())
        .unwrap()
}

fn body(update: TicketUpdate) -> String {
    let id = TicketId::new("6945345902185807891").unwrap();
    let (request, _) = client().prepare(&id, &update).unwrap();
    String::from_utf8(request.body().to_vec()).unwrap()
}

/// The Feishu document's request example, field for field.
fn document_example() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::Open)
        .tags(["abc"])
        .comment("good")
        .custom_field_with_id("123", "key", "value")
        .provider_field("feishu", "ticket_type", 1)
        .solved(false)
        .provider_field("feishu", "channel", 1)
        .build()
        .unwrap()
}

#[test]
fn every_status_maps_to_its_number() {
    let bodies: Vec<String> = FeishuStatus::ALL
        .iter()
        .map(|s| body(TicketUpdate::builder().status(*s).build().unwrap()))
        .collect();
    insta::assert_snapshot!(bodies.join("\n"));
}

#[test]
fn unified_statuses_map_to_feishu_numbers_and_solved_to_the_flag() {
    let cases = [
        (TicketStatus::Open, r#"{"status":1}"#),
        (TicketStatus::InProgress, r#"{"status":2}"#),
        (TicketStatus::Pending, r#"{"status":5}"#),
        (TicketStatus::OnHold, r#"{"status":4}"#),
        (TicketStatus::Solved, r#"{"solved":2}"#),
        (TicketStatus::Closed, r#"{"status":51}"#),
    ];
    for (status, expected) in cases {
        assert_eq!(
            body(TicketUpdate::builder().status(status).build().unwrap()),
            expected
        );
    }
    let native = "queued".parse::<FeishuStatus>().unwrap();
    assert_eq!("3".parse::<FeishuStatus>().unwrap(), native);
    assert_eq!(
        body(TicketUpdate::builder().status(native).build().unwrap()),
        r#"{"status":3}"#
    );
}

#[test]
fn partial_customized_fields_and_typed_values() {
    let update = TicketUpdate::builder()
        .custom_field_by_id(6981u64, 3)
        .custom_field("flag", true)
        .build()
        .unwrap();
    assert_eq!(
        body(update),
        r#"{"customized_fields":[{"id":"6981","value":"3"},{"value":"true","key_name":"flag"}]}"#
    );
    let null = TicketUpdate::builder()
        .custom_field("gone", ticket_core::CustomValue::Null)
        .build()
        .unwrap();
    let err = client()
        .preview(&TicketId::new("1").unwrap(), &null)
        .unwrap_err();
    assert_eq!(err.kind(), ticket_core::ErrorKind::InvalidInput);
}

#[test]
fn a_foreign_native_status_or_an_internal_comment_is_refused_or_dropped() {
    let foreign = TicketUpdate::builder()
        .status(ticket_core::NativeStatus::new("zendesk", "new").unwrap())
        .comment("c")
        .build()
        .unwrap();
    let err = client()
        .preview(&TicketId::new("1").unwrap(), &foreign)
        .unwrap_err();
    assert_eq!(err.kind(), ticket_core::ErrorKind::Unsupported);
    let lenient = TicketUpdate::builder()
        .status(ticket_core::NativeStatus::new("zendesk", "new").unwrap())
        .internal_comment("agents only")
        .tag("t")
        .lenient()
        .build()
        .unwrap();
    let preview = client()
        .preview(&TicketId::new("1").unwrap(), &lenient)
        .unwrap();
    assert_eq!(preview.body, r#"{"tag_names":["t"]}"#);
    assert_eq!(
        preview.dropped,
        vec![Field::Status, Field::Comment, Field::CommentVisibility]
    );
}

#[test]
fn solved_maps_to_two_and_unsolved_to_one() {
    let bodies: Vec<String> = [true, false]
        .iter()
        .map(|s| body(TicketUpdate::builder().solved(*s).build().unwrap()))
        .collect();
    insta::assert_snapshot!(bodies.join("\n"));
}

#[test]
fn tags_become_tag_names() {
    insta::assert_snapshot!(body(
        TicketUpdate::builder()
            .tags(["vip", "printer"])
            .build()
            .unwrap()
    ));
}

#[test]
fn comment() {
    insta::assert_snapshot!(body(
        TicketUpdate::builder()
            .comment("Technician dispatched.")
            .build()
            .unwrap()
    ));
}

#[test]
fn custom_fields_with_and_without_id() {
    let update = TicketUpdate::builder()
        .custom_field_with_id("6981", "device_sn", "PRN-2024-001")
        .custom_field("location", "HQ 3F")
        .build()
        .unwrap();
    insta::assert_snapshot!(body(update));
}

#[test]
fn provider_fields_are_merged_and_other_providers_ignored() {
    let update = TicketUpdate::builder()
        .provider_field("feishu", "channel", 3)
        .provider_field("engagelab", "assignee_email", "ops@example.com")
        .build()
        .unwrap();
    insta::assert_snapshot!(body(update));
}

#[test]
fn the_vendor_document_example() {
    insta::assert_snapshot!(body(document_example()));
}

#[test]
fn preview_of_a_full_update_redacts_both_tokens() {
    let preview = client()
        .preview(
            &TicketId::new("6945345902185807891").unwrap(),
            &document_example(),
        )
        .unwrap();
    let text = preview.to_string();
    for secret in [TOKEN, HELPDESK_TOKEN] {
        assert!(!text.contains(secret));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn lark_region_changes_only_the_host() {
    let client = FeishuClient::new(
        FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN)
            .unwrap()
            .with_region(Region::Lark),
    )
    .unwrap();
    let preview = client
        .preview(
            &TicketId::new("1").unwrap(),
            &TicketUpdate::builder().comment("x").build().unwrap(),
        )
        .unwrap();
    assert_eq!(
        preview.url,
        "https://open.larksuite.com/open-apis/helpdesk/v1/tickets/1"
    );
}

#[test]
fn lenient_policy_drops_and_reports_what_feishu_cannot_carry() {
    let update = TicketUpdate::builder()
        .title("t")
        .description("d")
        .priority(Priority::High)
        .kind(ticket_core::TicketKind::Task)
        .attachment("https://example.com/a.png")
        .comment("kept")
        .lenient()
        .build()
        .unwrap();
    let preview = client()
        .preview(&TicketId::new("1").unwrap(), &update)
        .unwrap();
    assert_eq!(
        preview.dropped,
        vec![
            Field::Title,
            Field::Description,
            Field::Priority,
            Field::Kind,
            Field::Attachments
        ]
    );
    assert_eq!(preview.body, r#"{"comment":"kept"}"#);
}

#[test]
fn an_update_left_empty_by_the_lenient_policy_is_refused() {
    let update = TicketUpdate::builder()
        .title("t")
        .lenient()
        .build()
        .unwrap();
    let err = client()
        .preview(&TicketId::new("1").unwrap(), &update)
        .unwrap_err();
    assert!(matches!(err, TicketError::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("dropped as unsupported"), "{err}");
}
