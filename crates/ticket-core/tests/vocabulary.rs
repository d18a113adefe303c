//! The opened vocabulary: unified and native statuses, typed custom fields, comment
//! visibility, string error codes and the provider's retry verdict.
#![allow(clippy::unwrap_used)]

use helpdesk_ticket_core::{
    Capabilities, CommentVisibility, CustomFieldId, CustomValue, ErrorCode, Field, FieldSet,
    NativeStatus, ServerError, Status, TicketError, TicketStatus, TicketUpdate,
};

const STATUS_CAPS: Capabilities = Capabilities::new(FieldSet::of(&[
    Field::Status,
    Field::Comment,
    Field::CustomFields,
    Field::CustomFieldIds,
]));

fn field_of(err: TicketError) -> String {
    match err {
        TicketError::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn a_native_status_is_carried_only_by_its_own_provider() {
    let native = NativeStatus::new("acme", "queued").unwrap();
    let update = TicketUpdate::builder()
        .status(native.clone())
        .build()
        .unwrap();
    assert_eq!(update.status(), Some(&Status::Native(native)));
    let plan = update.plan("acme", &STATUS_CAPS, &[]).unwrap();
    assert!(plan.carried.contains(Field::Status));
    match update.plan("other", &STATUS_CAPS, &[]).unwrap_err() {
        TicketError::Unsupported { provider, fields } => {
            assert_eq!((provider.as_str(), fields), ("other", vec![Field::Status]));
        }
        other => panic!("{other:?}"),
    }
    let lenient = TicketUpdate::builder()
        .status(NativeStatus::new("acme", "queued").unwrap())
        .comment("c")
        .lenient()
        .build()
        .unwrap();
    let plan = lenient.plan("other", &STATUS_CAPS, &[]).unwrap();
    assert_eq!(plan.dropped, vec![Field::Status]);
    assert!(!plan.carried.contains(Field::Status));
    assert!(NativeStatus::new("Acme", "x").is_err());
    assert!(NativeStatus::new("acme", " ").is_err());
}

#[test]
fn solved_must_agree_with_the_unified_status() {
    let b = TicketUpdate::builder;
    assert_eq!(
        field_of(
            b().status(TicketStatus::Solved)
                .solved(false)
                .build()
                .unwrap_err()
        ),
        "solved"
    );
    assert_eq!(
        field_of(
            b().status(TicketStatus::Open)
                .solved(true)
                .build()
                .unwrap_err()
        ),
        "solved"
    );
    assert!(
        b().status(TicketStatus::Solved)
            .solved(true)
            .build()
            .is_ok()
    );
    assert!(
        b().status(TicketStatus::Closed)
            .solved(false)
            .build()
            .is_ok()
    );
    // A native status is the provider's business.
    let native = NativeStatus::new("acme", "x").unwrap();
    assert!(b().status(native).solved(true).build().is_ok());
}

#[test]
fn an_internal_comment_is_never_posted_publicly_by_a_provider_without_visibility() {
    let update = TicketUpdate::builder()
        .internal_comment("agents only")
        .build()
        .unwrap();
    assert_eq!(
        update.comment_visibility(),
        Some(CommentVisibility::Internal)
    );
    match update.plan("p", &STATUS_CAPS, &[]).unwrap_err() {
        TicketError::Unsupported { fields, .. } => {
            assert_eq!(fields, vec![Field::CommentVisibility])
        }
        other => panic!("{other:?}"),
    }
    let lenient = TicketUpdate::builder()
        .internal_comment("agents only")
        .status(TicketStatus::Open)
        .lenient()
        .build()
        .unwrap();
    let plan = lenient.plan("p", &STATUS_CAPS, &[]).unwrap();
    assert_eq!(plan.dropped, vec![Field::Comment, Field::CommentVisibility]);
    assert!(!plan.carried.contains(Field::Comment));
    assert_eq!(
        field_of(
            TicketUpdate::builder()
                .comment_visibility(CommentVisibility::Public)
                .build()
                .unwrap_err()
        ),
        "comment.visibility"
    );
}

#[test]
fn custom_fields_carry_typed_values_and_numeric_or_text_ids() {
    let update = TicketUpdate::builder()
        .custom_field_by_id(360_001u64, 42)
        .custom_field_with_id("abc", "flag", true)
        .custom_field("note", "text")
        .build()
        .unwrap();
    let fields = update.custom_fields().unwrap();
    assert_eq!(fields[0].id(), Some(&CustomFieldId::Number(360_001)));
    assert_eq!(fields[0].key(), None);
    assert_eq!(fields[0].value(), &CustomValue::from(42));
    assert_eq!(fields[1].value().to_text().unwrap(), "true");
    assert_eq!(CustomFieldId::from("123").as_u64(), Some(123));
    assert_eq!(CustomFieldId::from("12a").as_u64(), None);
    assert!(update.fields().contains(Field::CustomFieldKeys));
    assert!(CustomValue::try_from(serde_json::json!([1])).is_err());
    // The same id twice, once as a number and once as text, is one id.
    let twice = TicketUpdate::builder()
        .custom_field_by_id(7u64, 1)
        .custom_field_by_id("7", 2)
        .build();
    assert_eq!(field_of(twice.unwrap_err()), "custom_fields.id");
}

#[test]
fn capabilities_can_require_ids_or_keys_on_every_custom_field() {
    let by_id = Capabilities::new(FieldSet::of(&[Field::CustomFields, Field::CustomFieldIds]))
        .requiring_per_custom_field(FieldSet::of(&[Field::CustomFieldIds]));
    let keyed = TicketUpdate::builder()
        .custom_field("device_sn", "x")
        .lenient()
        .build()
        .unwrap();
    // The key is dropped (reported), and the field then has no id to be sent by.
    assert_eq!(
        field_of(keyed.plan("zd", &by_id, &[]).unwrap_err()),
        "custom_fields.id"
    );
    let ok = TicketUpdate::builder()
        .custom_field_by_id(1u64, "x")
        .build()
        .unwrap();
    assert!(ok.plan("zd", &by_id, &[]).is_ok());
    let by_key = Capabilities::new(FieldSet::of(&[Field::CustomFields, Field::CustomFieldKeys]))
        .requiring_per_custom_field(FieldSet::of(&[Field::CustomFieldKeys]));
    let id_only = TicketUpdate::builder()
        .custom_field_by_id(1u64, "x")
        .lenient()
        .build()
        .unwrap();
    assert_eq!(
        field_of(id_only.plan("el", &by_key, &[]).unwrap_err()),
        "custom_fields.key"
    );
}

#[test]
fn error_codes_may_be_text_and_providers_may_judge_retries() {
    let details = ServerError::new("acme", 422, "bad").with_code(Some("RecordInvalid"));
    assert_eq!(details.code, Some(ErrorCode::Text("RecordInvalid".into())));
    assert_eq!(
        details.to_string(),
        "acme answered HTTP 422, code RecordInvalid: bad"
    );
    let numeric = ServerError::new("acme", 400, "bad").with_code(Some(42901_i64));
    assert!(numeric.code.as_ref().unwrap() == &42901);

    let conflict = TicketError::Provider(Box::new(ServerError::new("acme", 409, "busy")));
    assert!(!conflict.is_retryable());
    let conflict = conflict.with_retryable(true);
    assert!(conflict.is_retryable());
    let gateway = TicketError::Provider(Box::new(ServerError::new("acme", 503, "down")));
    assert!(!gateway.with_retryable(false).is_retryable());
}

#[test]
fn a_rate_limit_may_state_the_servers_rate() {
    let refusal = || TicketError::RateLimited {
        details: Box::new(ServerError::new("acme", 429, "slow down")),
        retry_after: None,
        limit: None,
    };
    assert_eq!(refusal().rate_limit(), None);
    assert_eq!(refusal().with_rate_limit(Some(50)).rate_limit(), Some(50));
    // No rate at all is no statement; and only a rate limit carries one.
    assert_eq!(refusal().with_rate_limit(Some(0)).rate_limit(), None);
    let other = TicketError::Provider(Box::new(ServerError::new("acme", 503, "down")));
    assert_eq!(other.with_rate_limit(Some(50)).rate_limit(), None);
    // The display is unchanged by it.
    assert_eq!(
        refusal().with_rate_limit(Some(50)).to_string(),
        refusal().to_string()
    );
}

/// `build` finds repeats by scanning a short list and with a hash set in a long one: both
/// report the first repeat, in order, with the same error.
#[test]
fn repeats_are_found_in_short_and_long_lists_alike() {
    for len in [2usize, 3, 16, 17, 40] {
        let mut tags: Vec<String> = (0..len).map(|i| format!("tag-{i}")).collect();
        tags.push(format!("tag-{}", len / 2));
        tags.push("tag-0".to_owned());
        let err = TicketUpdate::builder().tags(tags).build().unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("tag \"tag-{}\"", len / 2)),
            "{len}: {err}"
        );

        let mut by_key = TicketUpdate::builder();
        let mut by_id = TicketUpdate::builder();
        for i in 0..len {
            by_key = by_key.custom_field(format!("k{i}"), i as i64);
            by_id = by_id.custom_field_by_id(i as u64, i as i64);
        }
        let by_key = by_key.custom_field("k1", 0).build().unwrap_err();
        assert_eq!(field_of(by_key), "custom_fields", "{len}");
        // A number and its decimal text are one id, in either order.
        let by_id = by_id.custom_field_by_id("1", 0).build().unwrap_err();
        assert_eq!(field_of(by_id), "custom_fields.id", "{len}");
        let mut text_first = TicketUpdate::builder().custom_field_by_id("1", 0);
        for i in 1..len {
            text_first = text_first.custom_field_by_id(i as u64 + 1, 0);
        }
        let text_first = text_first.custom_field_by_id(1u64, 0).build().unwrap_err();
        assert_eq!(field_of(text_first), "custom_fields.id", "{len}");
        // No repeat: fine at every length.
        let distinct: Vec<String> = (0..len).map(|i| format!("tag-{i}")).collect();
        assert!(TicketUpdate::builder().tags(distinct).build().is_ok());
    }
}

/// The relative edits of merge mode (tags added or removed, custom fields unset) find repeats
/// and blanks with the same finder as the tags: the first fault in order, at every length.
#[test]
fn relative_edits_find_the_first_fault_in_short_and_long_lists_alike() {
    type Edit = fn(
        helpdesk_ticket_core::TicketUpdateBuilder,
        String,
    ) -> helpdesk_ticket_core::TicketUpdateBuilder;
    let edits: [(&str, Edit); 3] = [
        ("tags", |b, item| b.add_tag(item)),
        ("tags", |b, item| b.remove_tag(item)),
        ("custom_fields", |b, item| b.unset_custom_field(item)),
    ];
    for (field, edit) in edits {
        for len in [2usize, 3, 16, 17, 40] {
            let mut items: Vec<String> = (0..len).map(|i| format!("item-{i}")).collect();
            items.push(format!("item-{}", len / 2));
            items.push("item-0".to_owned());
            let repeated = items
                .iter()
                .fold(TicketUpdate::builder().merge(), |b, item| {
                    edit(b, item.clone())
                });
            let err = repeated.build().unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("\"item-{}\" is given twice", len / 2)),
                "{field} {len}: {err}"
            );
            assert_eq!(field_of(err), field, "{len}");
            // A blank item before the repeat is the fault reported.
            let mut blank_first = items.clone();
            blank_first.insert(1, " ".to_owned());
            let err = blank_first
                .into_iter()
                .fold(TicketUpdate::builder().merge(), edit)
                .build()
                .unwrap_err();
            assert!(
                err.to_string().contains("must not be blank"),
                "{len}: {err}"
            );
            // No repeat: fine at every length.
            let distinct = items[..len]
                .iter()
                .fold(TicketUpdate::builder().merge(), |b, item| {
                    edit(b, item.clone())
                });
            assert!(distinct.build().is_ok(), "{field} {len}");
        }
    }
}

/// One predicate says whether a failed update may have landed; `is_retryable` never invites a
/// repeat of a request that is not idempotent and may have landed.
#[test]
fn may_have_applied_decides_and_a_non_idempotent_maybe_is_not_retryable() {
    use helpdesk_ticket_core::Sent;
    let server = |status| Box::new(ServerError::new("acme", status, "x"));
    let transport = |sent, idempotent| TicketError::Transport {
        provider: "acme".into(),
        sent,
        message: "reset".into(),
        source: None,
        idempotent,
    };
    let timeout = |sent, idempotent| TicketError::Timeout {
        provider: "acme".into(),
        after: std::time::Duration::from_secs(1),
        sent,
        idempotent,
    };
    let malformed = |status| TicketError::MalformedResponse {
        provider: "acme".into(),
        status,
        reason: "not JSON".into(),
        excerpt: String::new(),
        request_id: None,
    };
    // (error, may have applied, retryable)
    let cases = [
        (transport(Sent::No, true), false, true),
        (transport(Sent::No, false), false, true),
        (transport(Sent::Maybe, true), true, true),
        (transport(Sent::Maybe, false), true, false),
        (timeout(Sent::Maybe, true), true, true),
        (timeout(Sent::Maybe, false), true, false),
        (timeout(Sent::No, false), false, true),
        (malformed(200), true, false),
        (malformed(502), true, true),
        (TicketError::Provider(server(500)), true, true),
        (TicketError::Provider(server(200)), true, false),
        (TicketError::Provider(server(409)), false, false),
        (TicketError::Provider(server(302)), false, false),
        (
            TicketError::RateLimited {
                details: server(429),
                retry_after: None,
                limit: None,
            },
            false,
            true,
        ),
        (TicketError::Unauthenticated(server(401)), false, false),
        (TicketError::NotFound(server(404)), false, false),
        (TicketError::invalid("tags", "bad"), false, false),
        (TicketError::config("no key"), false, false),
    ];
    for (err, may, retry) in cases {
        assert_eq!(err.may_have_applied(), may, "may_have_applied: {err:?}");
        assert_eq!(err.is_retryable(), retry, "is_retryable: {err:?}");
        // Errors are Clone, and a clone says the same.
        let copy = err.clone();
        assert_eq!(
            (
                copy.may_have_applied(),
                copy.is_retryable(),
                copy.to_string()
            ),
            (may, retry, err.to_string())
        );
    }
}
