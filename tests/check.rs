//! `TicketUpdater::check` refuses exactly what `update` refuses locally, with the same error,
//! and sends nothing: EngageLab, Feishu and a kit provider (Zendesk), against a scripted
//! loopback server that counts what arrives.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use helpdesk::kit::SecretString;
use helpdesk::testkit::{Reply, ScriptedServer};
use helpdesk::{
    Field, FieldSet, NativeStatus, Priority, TicketStatus, TicketUpdate, TicketUpdater,
};
use support::*;

/// For each update: `check` is called first and must send nothing; then `update` is sent.
/// Both refuse it with the same error, or both accept it with the same plan (and `preview`
/// agrees with `check`). Returns how many were accepted.
async fn check_agrees_with_update(
    updater: &dyn TicketUpdater,
    server: &ScriptedServer,
    cases: Vec<TicketUpdate>,
) -> usize {
    let name = updater.provider().to_owned();
    let mut accepted = 0;
    for update in cases {
        let ticket = id("T-1");
        let before = server.requests().len();
        let checked = updater.check(&ticket, &update);
        let previewed = updater.preview(&ticket, &update);
        assert_eq!(
            server.requests().len(),
            before,
            "{name}: check or preview sent a request"
        );
        let updated = updater.update(&ticket, &update).await;
        match (&checked, &previewed, &updated) {
            (Ok(plan), Ok(preview), Ok(receipt)) => {
                accepted += 1;
                assert_eq!(plan.dropped, receipt.dropped, "{name}: {update:?}");
                assert_eq!(plan.dropped, preview.dropped, "{name}: {update:?}");
                let dropped: FieldSet = plan.dropped.iter().copied().collect();
                assert_eq!(plan.carried, update.fields().difference(dropped), "{name}");
                assert_eq!(server.requests().len(), before + 1, "{name}: sent once");
            }
            (Err(c), Err(p), Err(u)) => {
                assert_eq!(
                    (c.kind(), c.to_string()),
                    (u.kind(), u.to_string()),
                    "{name}"
                );
                assert_eq!(c.to_string(), p.to_string(), "{name}");
                assert_eq!(server.requests().len(), before, "{name}: {u} was sent");
            }
            _ => panic!(
                "{name}: check {checked:?}, preview {previewed:?} and update {updated:?} disagree on {update:?}"
            ),
        }
    }
    accepted
}

#[tokio::test]
async fn engagelab_check_refuses_what_update_refuses() {
    let server = ScriptedServer::always(Reply::json(200, EL_OK))
        .await
        .unwrap();
    let updater = engagelab(server.url(), fast(0));
    let valid = || {
        TicketUpdate::builder()
            .title("t")
            .description("d")
            .priority(Priority::Low)
    };
    let cases = vec![
        valid().build().unwrap(),
        // An omitted priority would be reset to medium.
        TicketUpdate::builder()
            .title("t")
            .description("d")
            .build()
            .unwrap(),
        // Unsupported, strict and lenient.
        valid().comment("c").build().unwrap(),
        valid().comment("c").lenient().build().unwrap(),
        // Required fields (EngageLab's PUT would reset them).
        TicketUpdate::builder().title("t").build().unwrap(),
        TicketUpdate::builder()
            .priority(Priority::High)
            .lenient()
            .build()
            .unwrap(),
        // A raw field that collides with a mapped one.
        valid()
            .provider_field("engagelab", "title", "raw")
            .build()
            .unwrap(),
        // A custom field without the key EngageLab addresses it by.
        valid().custom_field_by_id(5_u64, "v").build().unwrap(),
        valid().custom_field("k", "v").tag("x").build().unwrap(),
    ];
    assert_eq!(check_agrees_with_update(&*updater, &server, cases).await, 3);
}

#[tokio::test]
async fn feishu_check_refuses_what_update_refuses_including_the_wire_checks() {
    let server = ScriptedServer::always(Reply::json(200, FS_OK))
        .await
        .unwrap();
    let updater = feishu(server.url(), fast(0));
    let cases = vec![
        TicketUpdate::builder().tag("x").build().unwrap(),
        TicketUpdate::builder()
            .status(TicketStatus::InProgress)
            .comment("c")
            .build()
            .unwrap(),
        // Nothing to send.
        TicketUpdate::default(),
        TicketUpdate::builder()
            .title("t")
            .lenient()
            .build()
            .unwrap(),
        // Another provider's exact status.
        TicketUpdate::builder()
            .status(NativeStatus::new("zendesk", "hold").unwrap())
            .build()
            .unwrap(),
        // Refused by the wire mapping, not by the plan: a Feishu status Feishu does not have,
        // a 64-bit `channel`, a null custom value.
        TicketUpdate::builder()
            .status(NativeStatus::new("feishu", "bogus").unwrap())
            .build()
            .unwrap(),
        TicketUpdate::builder()
            .tag("x")
            .provider_field("feishu", "channel", 9_223_372_036_854_775_807_i64)
            .build()
            .unwrap(),
        TicketUpdate::builder()
            .custom_field_with_id("6981", "vip", helpdesk::CustomValue::Null)
            .build()
            .unwrap(),
        TicketUpdate::builder()
            .tag("x")
            .title("dropped")
            .lenient()
            .build()
            .unwrap(),
    ];
    assert_eq!(check_agrees_with_update(&*updater, &server, cases).await, 3);
    // The plans say what each carries.
    let plan = updater
        .check(
            &id("T-1"),
            &TicketUpdate::builder()
                .tag("x")
                .title("dropped")
                .lenient()
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        (plan.carried, plan.dropped),
        (FieldSet::of(&[Field::Tags]), vec![Field::Title])
    );
}

#[tokio::test]
async fn a_kit_provider_check_runs_its_body_checks() {
    let server = ScriptedServer::always(Reply::json(
        200,
        r#"{"ticket":{"id":1,"updated_at":"2025-11-04T07:42:18Z"}}"#,
    ))
    .await
    .unwrap();
    let client = provider_zendesk::client(
        server.url(),
        "agent@example.com",
        &SecretString::from("zd-token-1"),
        fast(0),
    )
    .unwrap();
    let updater: Arc<dyn TicketUpdater> = Arc::new(client);
    let cases = vec![
        TicketUpdate::builder().title("t").build().unwrap(),
        // Refused by the body: an id that is not a number, a status Zendesk does not have.
        TicketUpdate::builder()
            .custom_field_by_id("abc", 1)
            .build()
            .unwrap(),
        TicketUpdate::builder()
            .status(NativeStatus::new("zendesk", "bogus").unwrap())
            .build()
            .unwrap(),
        TicketUpdate::builder().description("d").build().unwrap(),
    ];
    assert_eq!(check_agrees_with_update(&*updater, &server, cases).await, 1);
}
