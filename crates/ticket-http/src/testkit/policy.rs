//! `[strict]` and `[lenient]`: every field the provider cannot carry is refused, or dropped
//! and reported, and a dropped field leaves no trace in the body.

use ticket_core::{
    CommentVisibility, Field, FieldSet, NativeStatus, TicketError, TicketId, TicketUpdateBuilder,
    TicketUpdater, UnsupportedPolicy,
};

use super::updates::{COMMENT, IDS, KEYS, Updates, VALUE_TEXT};
use super::{ScriptedServer, Suite, body_text, normal};

/// One unsupported field to try: the update with it, the same update without it, and the
/// fields it sets that the provider cannot carry.
struct Case {
    label: String,
    with: TicketUpdateBuilder,
    without: TicketUpdateBuilder,
    unsupported: FieldSet,
}

impl Suite {
    /// For every field the provider cannot carry (and another provider's native status, when
    /// it carries statuses): `[strict]` `update` and `preview` refuse it, naming exactly the
    /// unsupported fields, and nothing is sent; `[lenient]` the preview and the receipt list
    /// exactly the dropped fields (a dropped comment visibility takes the comment with it), and
    /// the body sent is the body of the same update without the field.
    pub async fn strict_and_lenient(&self) {
        let server = self.success_server().await;
        let updater = self.provider(server.url(), normal());
        let updates = Updates::new(updater.capabilities());
        for case in cases(&updates) {
            self.strict_refuses(&*updater, &server, &case).await;
            self.lenient_drops(&*updater, &server, &updates, case).await;
        }
    }

    /// `[strict]`: `update` and `preview` refuse the case's update, naming exactly its
    /// unsupported fields, and nothing is sent.
    async fn strict_refuses(
        &self,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        case: &Case,
    ) {
        let name = updater.provider();
        let label = &case.label;
        let id = TicketId::new("tk-2").expect("valid id");
        let expected: Vec<Field> = case.unsupported.iter().collect();
        let strict = self.build(
            name,
            case.with.clone().policy(UnsupportedPolicy::Strict),
            label,
        );
        let before = server.requests().len();
        for (what, outcome) in [
            ("update", updater.update(&id, &strict).await.map(|_| ())),
            ("preview", updater.preview(&id, &strict).map(|_| ())),
        ] {
            match outcome {
                Err(TicketError::Unsupported { provider, fields }) => {
                    assert_eq!(
                        provider, name,
                        "[strict] {name}: {label}: the provider named"
                    );
                    assert_eq!(
                        fields.iter().copied().collect::<FieldSet>(),
                        case.unsupported,
                        "[strict] {name}: {label}: {what} must name exactly {expected:?}, named {fields:?}"
                    );
                }
                other => panic!(
                    "[strict] {name}: {label}: {what} must refuse {expected:?} as unsupported, gave {other:?}"
                ),
            }
        }
        assert_eq!(
            server.requests().len(),
            before,
            "[strict] {name}: {label}: a refused update sent a request"
        );
    }

    /// `[lenient]`: the case's update under the lenient policy lists exactly the dropped
    /// fields in its preview and receipt, sends the body previewed, without the field's text,
    /// and that body is the one of the same update without the field.
    async fn lenient_drops(
        &self,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        updates: &Updates,
        case: Case,
    ) {
        let name = updater.provider();
        let label = &case.label;
        let id = TicketId::new("tk-2").expect("valid id");
        let mut dropped = case.unsupported;
        if dropped.contains(Field::CommentVisibility) {
            // An internal note must never be posted publicly: the comment goes with it.
            dropped = dropped.with(Field::Comment);
        }
        let before = server.requests().len();
        let lenient = self.build(name, case.with.clone().lenient(), label);
        let preview = updater
            .preview(&id, &lenient)
            .unwrap_or_else(|e| panic!("[lenient] {name}: {label}: the preview failed: {e}"));
        let receipt = updater
            .update(&id, &lenient)
            .await
            .unwrap_or_else(|e| panic!("[lenient] {name}: {label}: the update failed: {e}"));
        for (what, list) in [("preview", &preview.dropped), ("receipt", &receipt.dropped)] {
            assert_eq!(
                list.iter().copied().collect::<FieldSet>(),
                dropped,
                "[lenient] {name}: {label}: the {what} must list exactly the dropped fields, listed {list:?}"
            );
        }
        let requests = server.requests();
        assert_eq!(
            requests.len(),
            before + 1,
            "[lenient] {name}: {label}: requests sent"
        );
        let sent = body_text(&requests[before]);
        assert_eq!(
            sent.as_bytes(),
            preview.body.as_bytes(),
            "[lenient] {name}: {label}: the body sent is not the body previewed"
        );
        for (field, mark) in dropped_marks(updates, case.unsupported) {
            assert!(
                !sent.contains(mark),
                "[lenient] {name}: {label}: the dropped {field} ({mark:?}) reached the body: {}",
                self.shown(&sent)
            );
        }
        let without = self.build(name, case.without, label);
        let plain = self
            .send_ok(
                "lenient",
                updater,
                server,
                &without,
                "the update without the field",
            )
            .await;
        assert!(
            body_text(&plain) == sent,
            "[lenient] {name}: {label}: dropped, yet the body differs from the same update without it:\n{}\n{}",
            self.shown(&sent),
            self.shown(&body_text(&plain))
        );
    }
}

/// The distinctive text of the unsupported fields of a case, which must not reach the body.
fn dropped_marks(updates: &Updates, unsupported: FieldSet) -> Vec<(Field, &'static str)> {
    let mut marks: Vec<(Field, &'static str)> = Vec::new();
    for field in unsupported.iter() {
        marks.extend(match field {
            Field::CustomFieldKeys => KEYS.iter().map(|k| (field, *k)).take(1).collect(),
            Field::CustomFieldIds | Field::CustomFields => Vec::new(),
            Field::CommentVisibility => vec![(Field::Comment, COMMENT)],
            other => updates.marks(other),
        });
    }
    if unsupported.contains(Field::CustomFields) {
        marks.push((Field::CustomFields, VALUE_TEXT));
    }
    marks
}

/// Every unsupported field of the provider as a case; another provider's native status when it
/// carries statuses.
fn cases(updates: &Updates) -> Vec<Case> {
    let caps = updates.caps;
    let base = || updates.minimal();
    let mut cases = Vec::new();
    let mut push = |label: String, with: TicketUpdateBuilder, without: TicketUpdateBuilder| {
        let unsupported = match with.clone().build() {
            Ok(update) => update.fields().difference(caps.supported),
            Err(e) => panic!("[setup] the suite's update with {label} is invalid: {e}"),
        };
        cases.push(Case {
            label,
            with,
            without,
            unsupported,
        });
    };
    for field in Field::ALL.into_iter().filter(|f| !caps.supports(*f)) {
        let label = format!("unsupported {field}");
        match field {
            // A custom field with an id (and a key when the provider carries keys).
            Field::CustomFieldIds if caps.supports(Field::CustomFields) => {
                if !caps.supports(Field::CustomFieldKeys) {
                    continue; // No custom field the provider could carry: nothing to drop to.
                }
                let with = base().custom_field_with_id(IDS[0], KEYS[0], VALUE_TEXT);
                push(label, with, base().custom_field(KEYS[0], VALUE_TEXT));
            }
            Field::CustomFieldKeys if caps.supports(Field::CustomFields) => {
                if !caps.supports(Field::CustomFieldIds) {
                    continue;
                }
                let with = base().custom_field_with_id(IDS[0], KEYS[0], VALUE_TEXT);
                push(label, with, base().custom_field_by_id(IDS[0], VALUE_TEXT));
            }
            // Without custom fields, their ids and keys are tried with them.
            Field::CustomFieldIds | Field::CustomFieldKeys => {}
            Field::CustomFields => {
                let with = base().custom_field_with_id(IDS[0], KEYS[0], VALUE_TEXT);
                push(label, with, base());
            }
            Field::CommentVisibility => {
                let with = base()
                    .comment(COMMENT)
                    .comment_visibility(CommentVisibility::Internal);
                push(label, with, base());
            }
            other => push(label, updates.set(base(), other), base()),
        }
    }
    if caps.supports(Field::Status) {
        let foreign = NativeStatus::new("conformance-elsewhere", "archived").expect("valid status");
        let label = "another provider's native status".to_owned();
        let with = base().status(foreign);
        cases.push(Case {
            label,
            with,
            without: base(),
            unsupported: FieldSet::of(&[Field::Status]),
        });
    }
    cases
}
