//! Property tests: decoding arbitrary answers never panics, and mapping any valid update
//! accounts for every field (carried on the wire, or reported as unsupported).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use helpdesk::{
    Field, Priority, TicketError, TicketKind, TicketStatus, TicketUpdate, TicketUpdater,
};
use proptest::prelude::*;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use serde_json::Value;
use support::*;
use ticket_http::RawResponse;
use ticket_http::reqwest::header::{HeaderMap, HeaderValue};

fn el_client() -> EngageLabClient {
    EngageLabClient::new(EngageLabConfig::new(EL_KEY, EL_SECRET).unwrap()).unwrap()
}

fn fs_client() -> FeishuClient {
    FeishuClient::new(
        FeishuConfig::with_static_token(FS_TOKEN, FS_HELPDESK_ID, FS_HELPDESK_TOKEN).unwrap(),
    )
    .unwrap()
}

/// Bodies that look like the providers' envelopes, with random types and values.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("2025-11-04T10:30:00+08:00")),
    ];
    let value = scalar.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("code".to_owned()),
                    Just("msg".to_owned()),
                    Just("message".to_owned()),
                    Just("data".to_owned()),
                    Just("error".to_owned()),
                    Just("updated_at".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    value.prop_map(|v| serde_json::to_vec(&v).unwrap())
}

fn headers(reset: Option<String>) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Some(value) = reset.and_then(|r| HeaderValue::try_from(r).ok()) {
        map.insert("x-ogw-ratelimit-reset", value.clone());
        map.insert("retry-after", value);
    }
    map
}

proptest! {
    #[test]
    fn decoding_arbitrary_answers_never_panics(
        status in 100u16..600,
        body in prop_oneof![prop::collection::vec(any::<u8>(), 0..256), json_like()],
        reset in proptest::option::of(".{0,6}"),
    ) {
        let response = RawResponse::new(status, headers(reset), body, Some("log".into()));
        let el = el_client().decode(&id("1"), &response);
        let fs = fs_client().decode(&id("1"), &response);
        // Success needs a 2xx status; every refusal says it is a typed error with a message.
        for ok in [el.is_ok(), fs.is_ok()] {
            prop_assert!(!ok || (200..300).contains(&status));
        }
        for err in [el.err(), fs.err()].into_iter().flatten() {
            prop_assert!(!err.to_string().is_empty());
        }
    }
}

/// A valid update with any mix of fields, always under the lenient policy.
fn arb_update() -> impl Strategy<Value = TicketUpdate> {
    (
        (
            proptest::option::of("[a-z]{1,10}"),
            proptest::option::of("[a-z#*\n ]{0,20}x"),
            proptest::option::of(prop::sample::select(Priority::ALL)),
            proptest::option::of(prop::sample::select(TicketKind::ALL)),
            proptest::option::of(prop::collection::btree_set("[a-z]{1,6}", 0..4)),
        ),
        (
            proptest::option::of(prop::collection::btree_map(
                "[a-z]{1,6}",
                prop_oneof![
                    "[ -~]{0,8}".prop_map(helpdesk::CustomValue::from),
                    any::<i64>().prop_map(helpdesk::CustomValue::from),
                    any::<bool>().prop_map(helpdesk::CustomValue::from),
                ],
                1..4,
            )),
            any::<bool>(),
            proptest::option::of(prop::collection::vec("[a-z]{1,6}", 1..3)),
            // Unified `solved` has no status number on Feishu (it becomes `solved: 2`); it is
            // covered by the provider's wire tests.
            proptest::option::of(prop::sample::select(
                &[
                    TicketStatus::Open,
                    TicketStatus::InProgress,
                    TicketStatus::Pending,
                    TicketStatus::OnHold,
                    TicketStatus::Closed,
                ][..],
            )),
            proptest::option::of(any::<bool>()),
            proptest::option::of("[a-z]{1,10}"),
            proptest::option::of(0i64..100),
            proptest::option::of("[a-z]{1,6}"),
        ),
    )
        .prop_map(
            |(
                (title, description, priority, kind, tags),
                (custom, with_ids, files, status, solved, comment, channel, el_extra),
            )| {
                let mut b = TicketUpdate::builder().lenient();
                if let Some(t) = title {
                    b = b.title(t);
                }
                if let Some(d) = description {
                    b = b.description(d);
                }
                if let Some(p) = priority {
                    b = b.priority(p);
                }
                if let Some(k) = kind {
                    b = b.kind(k);
                }
                if let Some(tags) = tags {
                    b = b.tags(tags);
                }
                for (i, (key, value)) in custom.into_iter().flatten().enumerate() {
                    b = if with_ids {
                        b.custom_field_with_id(format!("id{i}"), key, value)
                    } else {
                        b.custom_field(key, value)
                    };
                }
                for file in files.into_iter().flatten() {
                    b = b.attachment(format!("https://example.com/{file}"));
                }
                if let Some(s) = status {
                    b = b.status(s);
                }
                // `solved: true` contradicts an open unified status (refused by the builder).
                let open = status.is_some_and(|s| s != TicketStatus::Closed);
                if let Some(s) = solved.filter(|s| !(*s && open)) {
                    b = b.solved(s);
                }
                if let Some(c) = comment {
                    b = b.comment(c);
                }
                if let Some(c) = channel {
                    b = b.provider_field("feishu", "channel", c);
                }
                if let Some(v) = el_extra {
                    b = b.provider_field("engagelab", "x_extra", v);
                }
                b.build().unwrap()
            },
        )
}

/// The wire key each unified field lands in, per provider.
fn wire_key(provider: &str, field: Field) -> Option<&'static str> {
    match (provider, field) {
        ("engagelab", Field::Title) => Some("title"),
        ("engagelab", Field::Description) => Some("description"),
        ("engagelab", Field::Priority) => Some("priority"),
        ("engagelab", Field::Kind) => Some("ticket_type"),
        ("engagelab", Field::Tags) => Some("tags"),
        ("engagelab", Field::CustomFields | Field::CustomFieldKeys) => Some("custom_fields"),
        ("engagelab", Field::Attachments) => Some("attachments"),
        ("feishu", Field::Status) => Some("status"),
        ("feishu", Field::Solved) => Some("solved"),
        ("feishu", Field::Tags) => Some("tag_names"),
        ("feishu", Field::CustomFields | Field::CustomFieldIds | Field::CustomFieldKeys) => {
            Some("customized_fields")
        }
        ("feishu", Field::Comment) => Some("comment"),
        _ => None,
    }
}

proptest! {
    /// The JSON form (feature `serde`) reads back exactly what it wrote.
    #[test]
    fn the_json_form_round_trips(update in arb_update()) {
        let text = serde_json::to_string(&update).unwrap();
        let back: TicketUpdate = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, update, "{}", text);
    }

    #[test]
    fn every_field_is_carried_or_reported(update in arb_update()) {
        let el: Box<dyn TicketUpdater> = Box::new(el_client());
        let fs: Box<dyn TicketUpdater> = Box::new(fs_client());
        for updater in [el, fs] {
            let provider = updater.provider().to_owned();
            let preview = match updater.preview(&id("1"), &update) {
                Ok(p) => p,
                Err(TicketError::InvalidInput { field, .. }) => {
                    // Only the provider's own requirements may refuse a lenient, valid update.
                    let expected = if provider == "engagelab" {
                        update.title().is_none()
                            || update.description().is_none()
                            || update.priority().is_none()
                    } else {
                        field == "update"
                    };
                    prop_assert!(expected, "{provider} refused {field}");
                    continue;
                }
                Err(other) => return Err(TestCaseError::fail(format!("{provider}: {other}"))),
            };
            let body: serde_json::Map<String, Value> = serde_json::from_str(&preview.body).unwrap();
            let mut expected_keys = BTreeSet::new();
            for field in update.fields().iter() {
                match wire_key(&provider, field) {
                    Some(key) => {
                        prop_assert!(body.contains_key(key), "{provider}: {field} missing");
                        prop_assert!(!preview.dropped.contains(&field));
                        expected_keys.insert(key.to_owned());
                    }
                    None => prop_assert!(preview.dropped.contains(&field), "{provider}: {field} neither sent nor reported"),
                }
            }
            if let Some(extra) = update.provider_fields(&provider) {
                expected_keys.extend(extra.keys().cloned());
            }
            let sent: BTreeSet<String> = body.keys().cloned().collect();
            prop_assert_eq!(sent, expected_keys, "{}: unexpected keys", provider);
            if let (Some(tags), Some(key)) = (update.tags(), wire_key(&provider, Field::Tags)) {
                let on_wire: Vec<String> = serde_json::from_value(body[key].clone()).unwrap();
                prop_assert_eq!(on_wire, tags.to_vec());
            }
        }
    }

    #[test]
    fn the_strict_policy_names_exactly_the_unsupported_fields(update in arb_update()) {
        let strict = {
            let mut b = TicketUpdate::builder();
            if let Some(c) = update.comment() { b = b.comment(c); }
            if let Some(t) = update.title() { b = b.title(t); }
            if let Some(p) = update.priority() { b = b.priority(p); }
            if let Some(s) = update.status() { b = b.status(s.clone()); }
            b.build().unwrap()
        };
        for updater in [Box::new(el_client()) as Box<dyn TicketUpdater>, Box::new(fs_client())] {
            let unsupported: Vec<Field> = strict
                .fields()
                .difference(updater.capabilities().supported)
                .iter()
                .collect();
            if let Err(TicketError::Unsupported { fields, .. }) = updater.preview(&id("1"), &strict) {
                prop_assert_eq!(fields, unsupported);
            } else {
                prop_assert!(unsupported.is_empty(), "{} accepted unsupported fields", updater.provider());
            }
        }
    }
}
