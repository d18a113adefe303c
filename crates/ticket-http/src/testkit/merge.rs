//! `[merge]`: an update in merge mode is checked without its body, cannot be previewed, and
//! when sent reads the ticket once and then writes exactly the update resolved against what it
//! read ([`TicketUpdate::merged_with`]), reporting what it filled in.

use ticket_core::{
    Field, FieldSet, TicketError, TicketId, TicketSnapshot, TicketUpdate, TicketUpdateBuilder,
    TicketUpdater,
};

use super::read::READ_ID;
use super::updates::{TAGS, Updates};
use super::{RecordedRequest, ScriptedServer, Suite, normal};

impl Suite {
    /// `[merge]`, with the stated answer as the ticket, for a merge update that edits the
    /// tags (adds one, removes one the ticket has; or sets a field when the provider carries
    /// no tags) and leaves the rest to the read, one that also names a field every update must
    /// carry, and one that removes a custom field the ticket holds (a provider that replaces
    /// custom fields whole):
    ///
    /// - `check` accepts it without building its body (which lacks what the read fills in),
    ///   and `preview` refuses it with `InvalidInput("merge")`, both sending nothing;
    /// - `update` sends one `GET` of the ticket, then one update to the update route whose
    ///   request is exactly the preview of the update resolved against the answer, with the
    ///   text of every field filled from the read in its body;
    /// - the receipt's merge report lists exactly the fields the provider must carry that the
    ///   update did not name ([`Capabilities::must_carry`](ticket_core::Capabilities::must_carry)),
    ///   and the update time the read showed.
    pub async fn merge_reads_then_writes(&self) {
        let server = self.answering().await;
        let updater = self.provider(server.url(), normal());
        let name = updater.provider().to_owned();
        let caps = updater.capabilities();
        let id = TicketId::new(READ_ID).expect("valid id");
        let current = self.read_ok("merge", &*updater, &id).await;
        for (label, builder) in merge_updates(&Updates::new(caps), &current) {
            let update = self.build(&name, builder, &label);
            self.merge_is_checked_not_previewed(&*updater, &server, &update, &label);
            let merged = update.merged_with(&current, &caps).unwrap_or_else(|e| {
                panic!("[setup] {name}: the stated read answer cannot complete a merge update ({label}): {e}; it must show every field an update must carry")
            });
            let expected = updater.preview(&id, &merged.update).unwrap_or_else(|e| {
                panic!("[merge] {name}: {label}: the preview of the merged update failed: {e}")
            });
            let before = self.sent(&server).len();
            let receipt = updater.update(&id, &update).await.unwrap_or_else(|e| {
                panic!(
                    "[merge] {name}: {label}: the merge update failed: {}",
                    self.shown(&e.to_string())
                )
            });
            let sent = self.sent(&server)[before..].to_vec();
            let write = self.assert_read_then_write("merge", &name, &label, &sent);
            assert!(
                write.body == expected.body.as_bytes(),
                "[merge] {name}: {label}: the body sent is not the preview of the merged update:\n{}\n{}",
                self.shown(&write.body_text()),
                self.shown(&expected.body)
            );
            let url = format!("{}{}", server.url(), self.path(READ_ID));
            self.assert_exact(
                ("merge", "merge"),
                &name,
                &expected,
                write,
                &url,
                &self.credentials,
            );
            let filled = caps
                .must_carry()
                .intersection(caps.supported)
                .difference(update.fields());
            self.assert_filled(&name, &label, write, &current, filled);
            let report = receipt.merge.as_deref().unwrap_or_else(|| {
                panic!("[merge] {name}: {label}: the receipt of a merge update has no merge report")
            });
            assert_eq!(
                report.filled.iter().copied().collect::<FieldSet>(),
                filled,
                "[merge] {name}: {label}: the receipt lists {:?} as filled from the read",
                report.filled
            );
            assert_eq!(
                report.read_updated_at, current.updated_at,
                "[merge] {name}: {label}: the receipt's update time of the ticket as read"
            );
            assert_eq!(
                receipt.ticket_id, id,
                "[merge] {name}: {label}: the receipt names another ticket"
            );
        }
    }

    /// `check` accepts `update` (in merge mode), `preview` refuses it with
    /// `InvalidInput("merge")`, and neither sends anything.
    fn merge_is_checked_not_previewed(
        &self,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        update: &TicketUpdate,
        label: &str,
    ) {
        let name = updater.provider();
        let id = TicketId::new(READ_ID).expect("valid id");
        let before = server.requests().len();
        if let Err(e) = updater.check(&id, update) {
            panic!("[merge] {name}: check() refused a merge update ({label}): {e}");
        }
        match updater.preview(&id, update) {
            Err(TicketError::InvalidInput { field, .. }) if field == "merge" => {}
            other => panic!(
                "[merge] {name}: preview() of a merge update ({label}) must refuse with InvalidInput(\"merge\"), gave {}",
                self.shown(&format!("{other:?}"))
            ),
        }
        assert_eq!(
            server.requests().len(),
            before,
            "[merge] {name}: check() or preview() of a merge update ({label}) sent a request"
        );
    }

    /// `sent` is one read of [`READ_ID`], then one update of it (merge mode), or the other way
    /// round (verification); returns the update.
    pub(super) fn assert_read_then_write<'a>(
        &self,
        check: &str,
        name: &str,
        label: &str,
        sent: &'a [RecordedRequest],
    ) -> &'a RecordedRequest {
        let read = ("GET".to_owned(), self.read_path(READ_ID));
        let write = |r: &RecordedRequest| r.method != "GET" && r.target == self.path(READ_ID);
        let shape: Vec<String> = sent
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect();
        let is_read = |r: &RecordedRequest| (r.method.clone(), r.target.clone()) == read;
        let (ok, update, order) = match check {
            "merge" => (
                sent.len() == 2 && is_read(&sent[0]) && write(&sent[1]),
                1,
                "a read of the ticket, then one update",
            ),
            _ => (
                sent.len() == 2 && write(&sent[0]) && is_read(&sent[1]),
                0,
                "one update, then a read of the ticket",
            ),
        };
        assert!(
            ok,
            "[{check}] {name}: {label}: sent {shape:?}, not {order} ({} {})",
            read.0, read.1
        );
        &sent[update]
    }

    /// The text of every field filled from `current` is in the body of `write`.
    fn assert_filled(
        &self,
        name: &str,
        label: &str,
        write: &RecordedRequest,
        current: &TicketSnapshot,
        filled: FieldSet,
    ) {
        let body = write.body_text();
        for field in filled.iter() {
            let texts: Vec<String> = match field {
                Field::Title => current.title.iter().cloned().collect(),
                Field::Description => current.description.iter().cloned().collect(),
                Field::Tags => current.tags.iter().flatten().cloned().collect(),
                // Enumerated values are written in the vendor's words: the body's equality
                // with the preview covers them.
                _ => Vec::new(),
            };
            for text in texts.iter().filter(|t| !t.trim().is_empty()) {
                let quoted = serde_json::to_string(text).expect("a string encodes");
                assert!(
                    body.contains(&quoted[1..quoted.len() - 1]),
                    "[merge] {name}: {label}: the {field} filled from the read ({text:?}) is not in the body sent: {}",
                    self.shown(&body)
                );
            }
        }
    }
}

/// The merge updates the check sends, labelled.
fn merge_updates(
    updates: &Updates,
    current: &TicketSnapshot,
) -> Vec<(String, TicketUpdateBuilder)> {
    let caps = updates.caps;
    let must = caps.must_carry().intersection(caps.supported);
    let (label, base) = if caps.supports(Field::Tags) {
        let mut b = TicketUpdateBuilder::default().merge().add_tag(TAGS[0]);
        if let Some(tag) = current.tags.iter().flatten().next() {
            b = b.remove_tag(tag.clone());
        }
        ("the tags edited, the rest read".to_owned(), b)
    } else {
        let field = [
            Field::Title,
            Field::Description,
            Field::Attachments,
            Field::Priority,
            Field::Kind,
            Field::Status,
            Field::CustomFields,
            Field::Solved,
            Field::Comment,
        ]
        .into_iter()
        .find(|f| caps.supports(*f) && !must.contains(*f))
        .expect("[setup] the provider carries no field that an update may leave out");
        let b = updates.set(TicketUpdateBuilder::default().merge(), field);
        (format!("{field} set, the rest read"), b)
    };
    let mut out = vec![(label.clone(), base.clone())];
    if let Some(first) = must.iter().next() {
        let b = updates.set(base.clone(), first);
        out.push((format!("{label}, {first} named"), b));
    }
    let removable =
        caps.replaces_whole.contains(Field::CustomFields) && caps.supports(Field::CustomFields);
    if removable
        && let Some(key) = current
            .custom_fields
            .iter()
            .flatten()
            .find_map(|f| f.key.clone())
    {
        let b = base.unset_custom_field(key.clone());
        out.push((format!("{label}, custom field {key:?} removed"), b));
    }
    out
}
