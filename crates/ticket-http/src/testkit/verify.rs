//! `[verify]`: an update with verification writes, reads the ticket back, and reports what it
//! found: the fields that landed, each field found otherwise with what was sent and what was
//! found, and a failed read back as such, the update itself accepted.

use serde_json::Value;
use ticket_core::{
    Field, TicketId, TicketSnapshot, TicketUpdate, TicketUpdateBuilder, TicketUpdater, Verification,
};

use super::read::READ_ID;
use super::updates::Updates;
use super::{Reply, ScriptedServer, Suite, normal};

impl Suite {
    /// `[verify]`, with the stated answer as the ticket read back:
    ///
    /// - an update of the values the ticket holds (title, description, priority, kind, tags,
    ///   status, solved: those the provider carries and the answer shows) sends one update,
    ///   then one read, and lists each of them as verified, nothing drifted;
    /// - an update of the suite's values lists each of title, description, priority, kind and
    ///   tags that the answer shows otherwise as drifted, with exactly what was sent and what
    ///   was found, and not as verified;
    /// - when the read back fails (404), the update still succeeds, and the verification holds
    ///   the read's error and compares nothing.
    pub async fn verification_reads_back(&self) {
        let server = self.answering().await;
        let updater = self.provider(server.url(), normal());
        let id = TicketId::new(READ_ID).expect("valid id");
        let current = self.read_ok("verify", &*updater, &id).await;
        self.verified_when_landed(&*updater, &server, &current)
            .await;
        self.drifted_when_found_otherwise(&*updater, &server, &current)
            .await;
        self.read_error_when_the_read_back_fails().await;
    }

    /// An update of the values the ticket holds is verified, field by field.
    async fn verified_when_landed(
        &self,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        current: &TicketSnapshot,
    ) {
        let name = updater.provider();
        let (builder, fields) = same_as(&Updates::new(updater.capabilities()), current);
        let update = self.build(name, builder.verify(), "the values the ticket holds");
        let v = self
            .verify_ok(updater, server, &update, "the values the ticket holds")
            .await;
        assert!(
            v.read_error.is_none() && v.drifted.is_empty(),
            "[verify] {name}: an update of the values the ticket holds did not verify: {}",
            self.shown(&format!("{v:?}"))
        );
        for field in fields {
            assert!(
                v.verified.iter().any(|f| f == field.as_str()),
                "[verify] {name}: {field} was sent as the ticket holds it, yet is not listed as verified: {}",
                self.shown(&format!("{v:?}"))
            );
        }
    }

    /// An update of the suite's values drifts on every field the ticket shows otherwise.
    async fn drifted_when_found_otherwise(
        &self,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        current: &TicketSnapshot,
    ) {
        let name = updater.provider();
        let caps = updater.capabilities();
        let update = self.build(
            name,
            Updates::new(caps).idempotent().verify(),
            "the idempotent fields, verified",
        );
        let expected = drifts(&update, current, caps.supported);
        assert!(
            !expected.is_empty(),
            "[setup] {name}: the read answer must show one of title, description, priority, kind and tags with a value other than the suite's"
        );
        let v = self
            .verify_ok(updater, server, &update, "the suite's values")
            .await;
        for (field, sent, found) in expected {
            let Some(drift) = v.drifted.iter().find(|d| d.field == field.as_str()) else {
                panic!(
                    "[verify] {name}: {field} was sent as {sent} and read back as {found}, but the verification does not report its drift: {}",
                    self.shown(&format!("{v:?}"))
                );
            };
            assert_eq!(
                (&drift.sent, &drift.found),
                (&sent, &found),
                "[verify] {name}: the drift of {field}: what was sent and what was found"
            );
            assert!(
                !v.verified.iter().any(|f| f == field.as_str()),
                "[verify] {name}: {field} drifted, yet is listed as verified"
            );
        }
    }

    /// A read back answered 404: the update succeeds, its verification holds the error.
    async fn read_error_when_the_read_back_fails(&self) {
        let success = self.success.clone();
        let server = self
            .read_server(move |request| match request.method.as_str() {
                "GET" => Reply::text(404, "text/html", "<html>no such ticket</html>"),
                _ => success.clone(),
            })
            .await;
        let updater = self.provider(server.url(), normal());
        let name = updater.provider().to_owned();
        let update = self.build(
            &name,
            Updates::new(updater.capabilities()).idempotent().verify(),
            "the idempotent fields, verified",
        );
        let v = self
            .verify_ok(&*updater, &server, &update, "a read back answered 404")
            .await;
        assert!(
            v.read_error.is_some() && v.verified.is_empty() && v.drifted.is_empty(),
            "[verify] {name}: a read back answered 404 must leave its error and compare nothing: {}",
            self.shown(&format!("{v:?}"))
        );
    }

    /// The verification of `update` (with verification), which must succeed after one update
    /// and one read back.
    async fn verify_ok(
        &self,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        update: &TicketUpdate,
        label: &str,
    ) -> Verification {
        let name = updater.provider();
        let id = TicketId::new(READ_ID).expect("valid id");
        let before = self.sent(server).len();
        let receipt = updater.update(&id, update).await.unwrap_or_else(|e| {
            panic!(
                "[verify] {name}: {label}: the update with verification failed: {}",
                self.shown(&e.to_string())
            )
        });
        let sent = self.sent(server)[before..].to_vec();
        self.assert_read_then_write("verify", name, label, &sent);
        match receipt.verification {
            Some(v) => *v,
            None => panic!("[verify] {name}: {label}: the receipt has no verification"),
        }
    }
}

/// An update setting each field the provider carries to the value `current` shows (title,
/// description, priority, kind, tags, a unified status, solved), and those fields. Every field
/// an update must carry must be among them.
fn same_as(updates: &Updates, current: &TicketSnapshot) -> (TicketUpdateBuilder, Vec<Field>) {
    let caps = updates.caps;
    let c = current;
    let carried = |field| caps.supports(field);
    let mut b = TicketUpdateBuilder::default();
    let mut fields = Vec::new();
    if let Some(title) = c.title.clone().filter(|_| carried(Field::Title)) {
        b = b.title(title);
        fields.push(Field::Title);
    }
    if let Some(text) = c
        .description
        .clone()
        .filter(|_| carried(Field::Description))
    {
        b = b.description(text);
        fields.push(Field::Description);
    }
    if let Some(priority) = c.priority.filter(|_| carried(Field::Priority)) {
        b = b.priority(priority);
        fields.push(Field::Priority);
    }
    if let Some(kind) = c.kind.filter(|_| carried(Field::Kind)) {
        b = b.kind(kind);
        fields.push(Field::Kind);
    }
    if let Some(tags) = c
        .tags
        .clone()
        .filter(|t| !t.is_empty() && carried(Field::Tags))
    {
        b = b.tags(tags);
        fields.push(Field::Tags);
    }
    let status = c.status.filter(|_| carried(Field::Status));
    if let Some(status) = status {
        b = b.status(status);
        fields.push(Field::Status);
    }
    // Unless the ticket's status and flag contradict each other as an update's would.
    let consistent = |solved| {
        let probe = TicketUpdateBuilder::default().solved(solved);
        status
            .map_or(probe.clone(), |s| probe.status(s))
            .build()
            .is_ok()
    };
    if let Some(solved) = c
        .solved
        .filter(|s| carried(Field::Solved) && consistent(*s))
    {
        b = b.solved(solved);
        fields.push(Field::Solved);
    }
    for field in caps.must_carry().intersection(caps.supported).iter() {
        assert!(
            fields.contains(&field),
            "[setup] the read answer must show the {field}, which every update must carry"
        );
    }
    assert!(
        !fields.is_empty(),
        "[setup] the read answer shows none of the fields the provider carries"
    );
    (b, fields)
}

/// The drifts an update of the suite's values must report against `current`: each of title,
/// description, priority, kind and tags that it sets, the provider carries and `current`
/// shows otherwise, with what was sent and what was found.
fn drifts(
    update: &TicketUpdate,
    current: &TicketSnapshot,
    supported: ticket_core::FieldSet,
) -> Vec<(Field, Value, Value)> {
    let text = |sent: Option<&str>, found: Option<&str>| match (sent, found) {
        (Some(s), Some(f)) if s.trim() != f.trim() => Some((Value::from(s), Value::from(f))),
        _ => None,
    };
    let tags = |sent: Option<&[String]>, found: Option<&[String]>| match (sent, found) {
        (Some(s), Some(f))
            if !(s.iter().all(|t| f.contains(t)) && f.iter().all(|t| s.contains(t))) =>
        {
            Some((Value::from(s.to_vec()), Value::from(f.to_vec())))
        }
        _ => None,
    };
    let candidates = [
        (Field::Title, text(update.title(), current.title.as_deref())),
        (
            Field::Description,
            text(update.description(), current.description.as_deref()),
        ),
        (
            Field::Priority,
            text(
                update.priority().map(|p| p.as_str()),
                current.priority.map(|p| p.as_str()),
            ),
        ),
        (
            Field::Kind,
            text(
                update.kind().map(|k| k.as_str()),
                current.kind.map(|k| k.as_str()),
            ),
        ),
        (Field::Tags, tags(update.tags(), current.tags.as_deref())),
    ];
    candidates
        .into_iter()
        .filter(|(field, _)| supported.contains(*field))
        .filter_map(|(field, d)| d.map(|(sent, found)| (field, sent, found)))
        .collect()
}
