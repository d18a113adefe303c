//! Domain validation, the plan rules, and the mockall mock.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use helpdesk_ticket_core::{
    Capabilities, ErrorKind, Field, FieldSet, Priority, TicketError, TicketId, TicketKind,
    TicketStatus, TicketUpdate, TicketUpdater, UnsupportedPolicy,
};

fn invalid(result: Result<TicketUpdate, TicketError>) -> (String, String) {
    match result.unwrap_err() {
        TicketError::InvalidInput { field, reason } => (field, reason),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn priority_parsing_accepts_normal_as_medium_and_names_the_choices() {
    assert_eq!("normal".parse::<Priority>().unwrap(), Priority::Medium);
    assert_eq!(" Urgent ".parse::<Priority>().unwrap(), Priority::Urgent);
    let err = "critical".parse::<Priority>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid priority: unknown value \"critical\"; expected one of low, medium, high, urgent"
    );
    assert_eq!("TASK".parse::<TicketKind>().unwrap(), TicketKind::Task);
    assert_eq!(
        "in_progress".parse::<TicketStatus>().unwrap(),
        TicketStatus::InProgress
    );
    assert_eq!(
        "hold".parse::<TicketStatus>().unwrap(),
        TicketStatus::OnHold
    );
    assert!("closed_by_bot".parse::<TicketStatus>().is_err());
    assert!("normal".parse::<TicketKind>().is_err());
}

#[test]
fn every_builder_refusal_names_its_field() {
    let b = TicketUpdate::builder;
    let cases = [
        (invalid(b().title("  ").build()), "title"),
        (invalid(b().description("").build()), "description"),
        (invalid(b().comment("\n").build()), "comment"),
        (invalid(b().tags(["a", ""]).build()), "tags"),
        (invalid(b().tags(["a", "a"]).build()), "tags"),
        (invalid(b().custom_field("", "v").build()), "custom_fields"),
        (
            invalid(b().custom_field("k", "1").custom_field("k", "2").build()),
            "custom_fields",
        ),
        (
            invalid(b().custom_field_with_id(" ", "k", "v").build()),
            "custom_fields.id",
        ),
        (
            invalid(
                b().custom_field_with_id("1", "a", "v")
                    .custom_field_with_id("1", "b", "v")
                    .build(),
            ),
            "custom_fields.id",
        ),
        (
            invalid(b().attachment("file:///etc/passwd").build()),
            "attachments",
        ),
        (invalid(b().attachment("https://").build()), "attachments"),
        (
            invalid(b().attachment("https://x.test/a b").build()),
            "attachments",
        ),
        (
            invalid(b().provider_field("Feishu", "channel", 1).build()),
            "provider_fields",
        ),
        (
            invalid(b().provider_field("feishu", "", 1).build()),
            "provider_fields.feishu",
        ),
        (
            invalid(
                b().provider_field("feishu", "channel", 1)
                    .provider_field("feishu", "channel", 2)
                    .build(),
            ),
            "provider_fields.feishu.channel",
        ),
    ];
    for ((field, reason), expected) in cases {
        assert_eq!(field, expected, "{reason}");
        assert!(!reason.is_empty());
    }
}

#[test]
fn ticket_ids_refuse_what_could_change_a_path_or_a_log_line() {
    for bad in [
        "",
        ".",
        "..",
        "a\r\nb",
        "\u{7f}",
        " lead",
        "trail ",
        &"x".repeat(257),
    ] {
        let err = TicketId::new(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    for good in [
        "6945345902185807891",
        "tk_20251104_789abc",
        "../x",
        "a/b",
        "%2F",
        "工單",
    ] {
        assert_eq!(TicketId::new(good).unwrap().as_str(), good);
    }
}

#[test]
fn plan_applies_policy_requirements_and_collisions() {
    let caps = Capabilities::new(FieldSet::of(&[Field::Title, Field::Comment]))
        .requiring(FieldSet::of(&[Field::Title]));
    let update = TicketUpdate::builder()
        .title("t")
        .tag("x")
        .solved(true)
        .build()
        .unwrap();
    let err = update.plan("p", &caps, &[]).unwrap_err();
    assert!(
        matches!(&err, TicketError::Unsupported { fields, .. } if fields == &[Field::Tags, Field::Solved])
    );
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(!err.is_retryable());

    let lenient = TicketUpdate::builder()
        .title("t")
        .tag("x")
        .policy(UnsupportedPolicy::Lenient)
        .build()
        .unwrap();
    let plan = lenient.plan("p", &caps, &[]).unwrap();
    assert_eq!(plan.dropped, vec![Field::Tags]);
    assert_eq!(plan.carried, FieldSet::of(&[Field::Title]));

    let missing = TicketUpdate::builder().comment("c").build().unwrap();
    let (field, _) = invalid(missing.plan("p", &caps, &[]).map(|_| missing.clone()));
    assert_eq!(field, "title");

    let collision = TicketUpdate::builder()
        .title("t")
        .provider_field("p", "title", "x")
        .build()
        .unwrap();
    let (field, _) = invalid(
        collision
            .plan("p", &caps, &["title"])
            .map(|_| collision.clone()),
    );
    assert_eq!(field, "provider_fields.p.title");
}

#[cfg(feature = "mock")]
#[tokio::test]
async fn the_mock_stands_in_for_a_provider() {
    let mut mock = helpdesk_ticket_core::MockTicketUpdater::new();
    mock.expect_provider().return_const("mocked".to_owned());
    mock.expect_update().times(1).returning(|id, _| {
        Ok(helpdesk_ticket_core::UpdateReceipt::new(
            "mocked",
            id.clone(),
        ))
    });
    let updater: Arc<dyn TicketUpdater> = Arc::new(mock);
    let receipt = updater
        .update(&TicketId::new("7").unwrap(), &TicketUpdate::default())
        .await
        .unwrap();
    assert_eq!(
        (updater.provider(), receipt.ticket_id.as_str()),
        ("mocked", "7")
    );
    assert_eq!(
        format!("{updater:?}"),
        "TicketUpdater { provider: \"mocked\", .. }"
    );
}
