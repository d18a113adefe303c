//! `[body]` and `[enum]`: the oracle that ties the body sent to the update, without knowing
//! the wire. A field's distinctive value must reach the body; an enumerated field's value must
//! change it.

use ticket_core::{
    CommentVisibility, Field, FieldSet, Priority, TicketKind, TicketStatus, TicketUpdate,
    TicketUpdateBuilder,
};

use super::updates::{COMMENT, TEXT_FIELDS, Updates};
use super::{RecordedRequest, Suite, body_text, normal};

impl Suite {
    /// `[body]`: every text field the provider claims (title, description, tags, custom-field
    /// values, ids and keys, attachments, comment) reaches the body sent, alone and with every
    /// other field at once. `[enum]`: every value of priority, kind, status, solved and comment
    /// visibility sends its own body.
    pub async fn body_carries_every_field(&self) {
        let server = self.success_server().await;
        let updater = self.provider(server.url(), normal());
        let name = updater.provider().to_owned();
        let updates = Updates::new(updater.capabilities());
        let carried: Vec<Field> = TEXT_FIELDS
            .into_iter()
            .filter(|f| updates.caps.supports(*f))
            .collect();
        for field in &carried {
            let update = self.build(&name, updates.set(updates.base(), *field), field.as_str());
            let what = format!("an update of {field}");
            let sent = self
                .send_ok("body", &*updater, &server, &update, &what)
                .await;
            // The field, and the ones every update carries with it.
            let set: Vec<Field> = carried
                .iter()
                .copied()
                .filter(|f| f == field || updates.caps.must_carry().contains(*f))
                .collect();
            self.assert_marks(&name, &sent, &updates, &set, &format!("{field} alone"));
        }
        let full = self.build(&name, updates.full(), "every field");
        let sent = self
            .send_ok(
                "body",
                &*updater,
                &server,
                &full,
                "an update of every field",
            )
            .await;
        self.assert_marks(&name, &sent, &updates, &carried, "with every field");

        for (field, cases) in enumerations(&updates) {
            let mut bodies: Vec<(&str, String)> = Vec::new();
            for (label, builder) in cases {
                let update = self.build(&name, builder, label);
                let what = format!("an update of {field} {label}");
                let sent = self
                    .send_ok("enum", &*updater, &server, &update, &what)
                    .await;
                bodies.push((label, body_text(&sent)));
            }
            for (i, (a, body_a)) in bodies.iter().enumerate() {
                for (b, body_b) in &bodies[i + 1..] {
                    // The one fold the unified vocabulary allows: a helpdesk without a
                    // separate "in progress" state sends it as open.
                    let fold = field == Field::Status
                        && [*a, *b]
                            == [
                                TicketStatus::Open.as_str(),
                                TicketStatus::InProgress.as_str(),
                            ];
                    assert!(
                        body_a != body_b || fold,
                        "[enum] {name}: {field} {a} and {field} {b} send the same body, so the value does not reach it: {}",
                        self.shown(body_a)
                    );
                }
            }
        }
    }

    /// Builds an update the suite made from the capabilities; it must be valid.
    pub(super) fn build(&self, name: &str, b: TicketUpdateBuilder, what: &str) -> TicketUpdate {
        b.build().unwrap_or_else(|e| {
            panic!("[setup] {name}: the suite's update of {what} is invalid ({e}); do the capabilities contradict each other?")
        })
    }

    /// Every distinctive value of `fields` is in the body of `sent`.
    fn assert_marks(
        &self,
        name: &str,
        sent: &RecordedRequest,
        updates: &Updates,
        fields: &[Field],
        context: &str,
    ) {
        let body = body_text(sent);
        for field in fields {
            for (stands_for, mark) in updates.marks(*field) {
                assert!(
                    body.contains(mark),
                    "[body] {name}: {stands_for} was set to {mark:?} ({context}) but the body sent does not hold it: {}",
                    self.shown(&body)
                );
            }
        }
    }
}

/// For each enumerated field the provider claims, one update per value (labelled with the
/// value's name), all other fields set too.
fn enumerations(updates: &Updates) -> Vec<(Field, Vec<(&'static str, TicketUpdateBuilder)>)> {
    let caps = updates.caps;
    let mut out = Vec::new();
    if caps.supports(Field::Priority) {
        let cases = Priority::ALL
            .iter()
            .map(|p| (p.as_str(), updates.full().priority(*p)))
            .collect();
        out.push((Field::Priority, cases));
    }
    if caps.supports(Field::Kind) {
        let cases = TicketKind::ALL
            .iter()
            .map(|k| (k.as_str(), updates.full().kind(*k)))
            .collect();
        out.push((Field::Kind, cases));
    }
    if caps.supports(Field::Status) {
        // Without `solved`, which some statuses would contradict.
        let base = || updates.full_except(FieldSet::of(&[Field::Solved]));
        let cases = TicketStatus::ALL
            .iter()
            .map(|s| (s.as_str(), base().status(*s)))
            .collect();
        out.push((Field::Status, cases));
    }
    if caps.supports(Field::Solved) {
        // Without a status, which could contradict either value.
        let base = || updates.full_except(FieldSet::of(&[Field::Status]));
        let cases = vec![
            ("true", base().solved(true)),
            ("false", base().solved(false)),
        ];
        out.push((Field::Solved, cases));
    }
    if caps.supports(Field::CommentVisibility) && caps.supports(Field::Comment) {
        let cases = [CommentVisibility::Public, CommentVisibility::Internal]
            .into_iter()
            .map(|v| {
                let b = updates.full().comment(COMMENT).comment_visibility(v);
                (v.as_str(), b)
            })
            .collect();
        out.push((Field::CommentVisibility, cases));
    }
    out
}
