//! Merge mode, the comparison of an update with a ticket as read, verification, and the one
//! read → fill → write → read-back sequence, on plain values (the HTTP side is tested against
//! the sandbox in the workspace's `tests/reading.rs`).
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use helpdesk_ticket_core::{
    Capabilities, Check, ErrorKind, Field, FieldSet, NativeStatus, Priority, SnapshotField,
    TicketError, TicketId, TicketSnapshot, TicketStatus, TicketUpdate, UpdateReceipt, Verification,
    compare, update_with_reads,
};
use serde_json::json;
use time::OffsetDateTime;

/// An EngageLab-like provider: title and description required, priority reset when left
/// out, tags and custom fields replaced whole.
fn whole() -> Capabilities {
    Capabilities::new(FieldSet::of(&[
        Field::Title,
        Field::Description,
        Field::Priority,
        Field::Tags,
        Field::CustomFields,
        Field::CustomFieldKeys,
    ]))
    .requiring(FieldSet::of(&[Field::Title, Field::Description]))
    .resetting_when_omitted(FieldSet::of(&[Field::Priority]))
    .replacing_whole(FieldSet::of(&[Field::Tags, Field::CustomFields]))
    .reading(None)
}

/// A Feishu-like provider: custom fields set one by one, statuses and a solved flag.
fn by_item() -> Capabilities {
    Capabilities::new(FieldSet::of(&[
        Field::Tags,
        Field::CustomFields,
        Field::CustomFieldIds,
        Field::CustomFieldKeys,
        Field::Status,
        Field::Solved,
        Field::Comment,
    ]))
    .requiring_any_field()
    .replacing_whole(FieldSet::of(&[Field::Tags]))
    .reading(Some(10))
}

fn ticket() -> TicketSnapshot {
    let mut s = TicketSnapshot::new("demo", TicketId::new("tk_1").unwrap());
    s.title = Some("Printer jam".into());
    s.description = Some("A4 stuck.\r\n".into());
    s.priority = Some(Priority::Urgent);
    s.tags = Some(vec!["printer".into(), "old".into()]);
    s.custom_fields = Some(vec![
        SnapshotField::new("PRN-1").with_key(Some("device_sn".into())),
        SnapshotField::new(3).with_key(Some("floor".into())),
    ]);
    s
}

#[test]
fn merge_fills_what_the_update_needs_or_would_reset_and_resolves_tag_edits() {
    let update = TicketUpdate::builder()
        .merge()
        .add_tag("vip")
        .add_tag("printer")
        .remove_tag("old")
        .remove_tag("absent")
        .build()
        .unwrap();
    // In merge mode the plan does not ask for the fields the read fills.
    update.plan("demo", &whole(), &[]).unwrap();
    let merged = update.merged_with(&ticket(), &whole()).unwrap();
    assert_eq!(
        merged.filled,
        [Field::Title, Field::Description, Field::Priority]
    );
    let u = &merged.update;
    assert_eq!(
        (u.title(), u.description(), u.priority()),
        (
            Some("Printer jam"),
            Some("A4 stuck.\r\n"),
            Some(Priority::Urgent)
        )
    );
    assert_eq!(u.tags().unwrap(), ["printer", "vip"]);
    assert!(!u.merges() && !u.needs_read() && u.tags_added().is_empty());
    // What it names wins over the read.
    let named = TicketUpdate::builder()
        .merge()
        .priority(Priority::Low)
        .build()
        .unwrap()
        .merged_with(&ticket(), &whole())
        .unwrap();
    assert_eq!(named.filled, [Field::Title, Field::Description]);
    assert_eq!(named.update.priority(), Some(Priority::Low));
}

#[test]
fn merge_keeps_the_other_custom_fields_of_a_provider_that_replaces_them_whole() {
    let update = TicketUpdate::builder()
        .merge()
        .custom_field("device_sn", "PRN-2")
        .custom_field("room", "3F")
        .unset_custom_field("floor")
        .build()
        .unwrap();
    let merged = update.merged_with(&ticket(), &whole()).unwrap();
    let fields: Vec<(String, String)> = merged
        .update
        .custom_fields()
        .unwrap()
        .iter()
        .map(|f| {
            let value = f.value().to_text().unwrap().into_owned();
            (f.key().unwrap().to_owned(), value)
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("device_sn".to_owned(), "PRN-2".to_owned()),
            ("room".to_owned(), "3F".to_owned())
        ]
    );
    // Removing the last ones sends none (an empty object), not nothing.
    let all = TicketUpdate::builder()
        .merge()
        .unset_custom_field("device_sn")
        .unset_custom_field("floor")
        .build()
        .unwrap();
    let merged = all.merged_with(&ticket(), &whole()).unwrap();
    assert_eq!(merged.update.custom_fields(), Some(&[][..]));
    assert_eq!(merged.update.to_builder().build().unwrap(), merged.update);
    // Nothing named: the custom fields are not touched (not sent at all).
    let untouched = TicketUpdate::builder().merge().build().unwrap();
    let merged = untouched.merged_with(&ticket(), &whole()).unwrap();
    assert!(merged.update.custom_fields().is_none());
}

#[test]
fn merge_sends_only_the_named_fields_of_a_provider_that_sets_them_one_by_one() {
    let mut current = ticket();
    current.title = None;
    current.description = None;
    current.priority = None;
    let set = TicketUpdate::builder()
        .merge()
        .custom_field_with_id("683", "level", "opt-hi")
        .build()
        .unwrap();
    let merged = set.merged_with(&current, &by_item()).unwrap();
    assert_eq!(merged.update.custom_fields().unwrap().len(), 1);
    assert!(merged.filled.is_empty());
    let unset = TicketUpdate::builder()
        .merge()
        .unset_custom_field("floor")
        .build()
        .unwrap();
    let err = unset.merged_with(&current, &by_item()).unwrap_err();
    assert!(
        matches!(&err, TicketError::InvalidInput { field, reason } if field == "custom_fields" && reason.contains("no way to remove")),
        "{err}"
    );
}

#[test]
fn a_field_the_read_does_not_show_cannot_be_filled() {
    let mut current = ticket();
    current.priority = None;
    let err = TicketUpdate::builder()
        .merge()
        .tag("x")
        .build()
        .unwrap()
        .merged_with(&current, &whole())
        .unwrap_err();
    assert!(
        matches!(&err, TicketError::InvalidInput { field, .. } if field == "priority"),
        "{err}"
    );
    current.tags = None;
    let err = TicketUpdate::builder()
        .merge()
        .priority(Priority::Low)
        .add_tag("x")
        .build()
        .unwrap()
        .merged_with(&current, &whole())
        .unwrap_err();
    assert!(err.to_string().contains("does not show it"), "{err}");
}

#[test]
fn relative_edits_need_merge_mode_and_must_agree() {
    // Built without merge mode (a caller may add it), refused by the plan without it.
    for update in [
        TicketUpdate::builder().add_tag("a").build().unwrap(),
        TicketUpdate::builder()
            .unset_custom_field("k")
            .build()
            .unwrap(),
    ] {
        let err = update.plan("demo", &whole(), &[]).unwrap_err();
        assert!(err.to_string().contains("need merge mode"), "{err}");
        let merged = update.to_builder().merge().build().unwrap();
        merged.plan("demo", &whole(), &[]).unwrap();
    }
    for (builder, needle) in [
        (
            TicketUpdate::builder().merge().tag("a").add_tag("b"),
            "not both",
        ),
        (
            TicketUpdate::builder().merge().add_tag("a").remove_tag("a"),
            "both added and removed",
        ),
        (
            TicketUpdate::builder().merge().add_tag("a").add_tag("a"),
            "given twice",
        ),
        (TicketUpdate::builder().merge().remove_tag(" "), "blank"),
        (
            TicketUpdate::builder()
                .merge()
                .custom_field("k", 1)
                .unset_custom_field("k"),
            "both set and unset",
        ),
    ] {
        let err = builder.build().unwrap_err();
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
}

#[test]
fn the_plan_refuses_a_reset_or_a_missing_field_naming_both_remedies() {
    let no_priority = TicketUpdate::builder()
        .title("t")
        .description("d")
        .build()
        .unwrap();
    let err = no_priority.plan("demo", &whole(), &[]).unwrap_err();
    let TicketError::InvalidInput { field, reason } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "priority");
    assert!(
        reason.contains("resets it") && reason.contains("set it"),
        "{reason}"
    );
    assert!(
        reason.contains("merge mode") && reason.contains("--merge"),
        "{reason}"
    );
    let no_title = TicketUpdate::builder()
        .description("d")
        .priority(Priority::Low)
        .build()
        .unwrap();
    let err = no_title.plan("demo", &whole(), &[]).unwrap_err();
    assert!(
        err.to_string().contains(
            "invalid title: demo refuses an update without it: set it, or use merge mode"
        ),
        "{err}"
    );
    // A provider that cannot read offers one remedy, and refuses merge mode and verification.
    let blind = Capabilities::new(whole().supported)
        .requiring(FieldSet::of(&[Field::Title]))
        .resetting_when_omitted(FieldSet::of(&[Field::Priority]));
    let err = no_title.plan("blind", &blind, &[]).unwrap_err();
    assert!(!err.to_string().contains("merge"), "{err}");
    for update in [
        TicketUpdate::builder().merge().tag("a").build().unwrap(),
        TicketUpdate::builder()
            .title("t")
            .priority(Priority::Low)
            .verify()
            .build()
            .unwrap(),
    ] {
        let err = update.plan("blind", &blind, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedOperation, "{err}");
        assert_eq!(
            err.to_string(),
            "blind cannot read tickets (needed to read, merge or verify)"
        );
        assert!(!err.is_retryable() && !err.may_have_applied());
    }
}

#[test]
fn compare_follows_the_read_back_rules() {
    let mut s = ticket();
    s.status = Some(TicketStatus::Open);
    s.status_aliases = vec![TicketStatus::InProgress];
    s.native_status = Some(NativeStatus::new("demo", "awaiting_response").unwrap());
    s.native_status_code = Some("1".into());
    s.solved = Some(false);
    s.custom_fields.as_mut().unwrap().push(
        SnapshotField::new("High")
            .with_key(Some("level".into()))
            .with_option(Some("opt-hi".into())),
    );
    let update = TicketUpdate::builder()
        .title("Printer jam")
        .description("A4 stuck.\n")
        .tags(["old", "printer"])
        .custom_field("floor", "3")
        .custom_field("level", "opt-hi")
        .custom_field("device_sn", "PRN-9")
        .status(TicketStatus::InProgress)
        .build()
        .unwrap();
    let caps = by_item();
    let checks = compare(&update, update.fields(), &caps, &s);
    let outcome = |name: &str| checks.iter().find(|c| c.field == name).unwrap().check;
    // Line ends and surrounding space, tag order, `3` and "3", a dropdown's label and its
    // tag, a status the provider writes as another: all the same.
    for same in [
        "title",
        "description",
        "tags",
        "custom_fields.floor",
        "custom_fields.level",
        "status",
    ] {
        assert_eq!(outcome(same), Check::Same, "{same}");
    }
    assert_eq!(outcome("custom_fields.device_sn"), Check::Differs);
    // A native status by its name or its wire code.
    for native in ["awaiting_response", "1"] {
        let u = TicketUpdate::builder()
            .status(NativeStatus::new("demo", native).unwrap())
            .build()
            .unwrap();
        assert_eq!(
            compare(&u, u.fields(), &caps, &s)[0].check,
            Check::Same,
            "{native}"
        );
    }
    // Solved lands as a flag where the provider has no such status.
    s.solved = Some(true);
    let u = TicketUpdate::builder()
        .status(TicketStatus::Solved)
        .build()
        .unwrap();
    assert_eq!(compare(&u, u.fields(), &caps, &s)[0].check, Check::Same);
    // A comment the read does not show cannot be compared; one it shows can.
    let u = TicketUpdate::builder().comment("on it").build().unwrap();
    assert_eq!(compare(&u, u.fields(), &caps, &s)[0].check, Check::Unknown);
    s.latest_comment = Some("on it ".into());
    assert_eq!(compare(&u, u.fields(), &caps, &s)[0].check, Check::Same);
}

#[test]
fn a_provider_that_replaces_custom_fields_whole_reports_the_ones_left_out_as_removed() {
    let update = TicketUpdate::builder()
        .title("t")
        .description("d")
        .priority(Priority::Low)
        .custom_field("device_sn", "PRN-1")
        .build()
        .unwrap();
    let checks = compare(&update, update.fields(), &whole(), &ticket());
    let floor = checks
        .iter()
        .find(|c| c.field == "custom_fields.floor")
        .unwrap();
    assert_eq!(
        (floor.check, &floor.sent, &floor.found),
        (Check::Differs, &json!(null), &json!(3))
    );
}

#[test]
fn verification_names_each_drift_and_the_changes_of_someone_else() {
    let sent = TicketUpdate::builder()
        .title("Printer jam")
        .description("A4 stuck.")
        .priority(Priority::High)
        .tag("vip")
        .build()
        .unwrap();
    let before = ticket();
    let mut after = ticket();
    after.tags = Some(vec!["vip".into()]);
    // The priority did not land.
    let v = Verification::of(&sent, sent.fields(), &whole(), &after, Some(&before), None);
    assert_eq!(v.outcome(), "drifted");
    assert_eq!(v.drifted.len(), 1);
    assert_eq!(
        (
            v.drifted[0].field.as_str(),
            &v.drifted[0].sent,
            &v.drifted[0].found
        ),
        ("priority", &json!("high"), &json!("urgent"))
    );
    assert!(v.concurrent.is_empty());
    // A field not sent moved between the reads, and the ticket was written after this update.
    after.priority = Some(Priority::High);
    let mut sent_tags_only = sent.to_builder().build().unwrap();
    sent_tags_only = sent_tags_only.without_reads();
    let carried = FieldSet::of(&[Field::Priority, Field::Tags]);
    after.title = Some("Renamed by someone".into());
    let written = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
    after.updated_at = Some(OffsetDateTime::from_unix_timestamp(2_000).unwrap());
    let v = Verification::of(
        &sent_tags_only,
        carried,
        &whole(),
        &after,
        Some(&before),
        Some(written),
    );
    assert!(v.is_verified(), "{v:?}");
    assert_eq!(v.concurrent.len(), 2, "{:?}", v.concurrent);
    assert!(v.concurrent[0].starts_with("title changed"));
    assert!(v.concurrent[1].contains("updated again"));
}

#[tokio::test]
async fn the_sequence_reads_fills_writes_and_reads_back() {
    let reads = Cell::new(0);
    let update = TicketUpdate::builder()
        .merge()
        .verify()
        .add_tag("vip")
        .build()
        .unwrap();
    let receipt = update_with_reads(
        &whole(),
        &update,
        || {
            reads.set(reads.get() + 1);
            let mut s = ticket();
            if reads.get() == 2 {
                s.tags = Some(vec!["printer".into(), "old".into(), "vip".into()]);
            }
            async move { Ok(s) }
        },
        |sent: TicketUpdate| async move {
            assert_eq!(sent.title(), Some("Printer jam"));
            assert!(!sent.needs_read());
            Ok(UpdateReceipt::new("demo", TicketId::new("tk_1").unwrap()))
        },
    )
    .await
    .unwrap();
    assert_eq!(reads.get(), 2);
    let merge = receipt.merge.unwrap();
    assert_eq!(
        merge.filled,
        [Field::Title, Field::Description, Field::Priority]
    );
    let v = receipt.verification.unwrap();
    assert!(v.is_verified(), "{v:?}");
    assert_eq!(v.verified, ["title", "description", "priority", "tags"]);

    // A failed read before the write: nothing written.
    let wrote = Cell::new(false);
    let err = update_with_reads(
        &whole(),
        &update,
        || async { Err::<TicketSnapshot, _>(TicketError::config("no app credentials")) },
        |_| {
            wrote.set(true);
            async { Ok(UpdateReceipt::new("demo", TicketId::new("tk_1").unwrap())) }
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(!wrote.get());

    // A failed read after it: the update stands, unverified.
    let verify_only = TicketUpdate::builder()
        .title("t")
        .description("d")
        .priority(Priority::Low)
        .verify()
        .build()
        .unwrap();
    let receipt = update_with_reads(
        &whole(),
        &verify_only,
        || async { Err::<TicketSnapshot, _>(TicketError::config("gone")) },
        |_| async { Ok(UpdateReceipt::new("demo", TicketId::new("tk_1").unwrap())) },
    )
    .await
    .unwrap();
    assert!(receipt.merge.is_none());
    let v = receipt.verification.unwrap();
    assert_eq!(v.outcome(), "unverified");
    assert!(v.read_error.unwrap().contains("gone"));
}

#[test]
fn the_json_form_carries_merge_verify_and_the_relative_edits() {
    let text = r#"{"merge":true,"verify":true,"add_tags":["vip"],"remove_tags":["old"],"unset_custom_fields":["floor"]}"#;
    let update: TicketUpdate = serde_json::from_str(text).unwrap();
    assert!(update.merges() && update.verifies());
    assert_eq!(update.tags_added(), ["vip"]);
    assert_eq!(update.tags_removed(), ["old"]);
    assert_eq!(update.custom_fields_unset(), ["floor"]);
    assert_eq!(serde_json::to_string(&update).unwrap(), text);
    for bad in [
        r#"{"merge":true,"add_tags":[]}"#,
        r#"{"merge":true,"tags":["a"],"add_tags":["b"]}"#,
    ] {
        assert!(serde_json::from_str::<TicketUpdate>(bad).is_err(), "{bad}");
    }
    // A receipt with a merge report and a verification reads back equal.
    let mut receipt = UpdateReceipt::new("demo", TicketId::new("tk_1").unwrap());
    receipt.verification = Some(Box::new(Verification::read_failed(&TicketError::config(
        "x",
    ))));
    receipt.merge = Some(Box::default());
    let json = serde_json::to_string(&receipt).unwrap();
    assert_eq!(
        serde_json::from_str::<UpdateReceipt>(&json).unwrap(),
        receipt
    );
    // Without them, the receipt's form is as before.
    let plain = UpdateReceipt::new("demo", TicketId::new("tk_1").unwrap());
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("merge").is_none() && json.get("verification").is_none());
}

#[test]
fn a_snapshot_has_a_json_form_with_every_key() {
    let mut s = ticket();
    s.native_status = Some(NativeStatus::new("demo", "open").unwrap());
    s.raw = json!({"id": "tk_1"});
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["priority"], "urgent");
    assert_eq!(v["native_status"], "demo:open");
    assert_eq!(v["custom_fields"][1], json!({"key": "floor", "value": 3}));
    assert_eq!(v["kind"], json!(null));
    assert_eq!(v["raw"]["id"], "tk_1");
}
