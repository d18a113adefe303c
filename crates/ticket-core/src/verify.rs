//! Verification after an update, and the one sequence that runs merge mode and verification
//! around a provider's write: read → fill → write → read back → compare.

use std::future::Future;

use serde_json::Value;
use time::OffsetDateTime;

use crate::compare::{Check, compare, normalize_text};
use crate::{
    Capabilities, Field, FieldSet, TicketError, TicketSnapshot, TicketUpdate, UpdateReceipt,
};

/// A field that did not land: what was sent and what the read back found.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Drift {
    /// The field, as in [`FieldCheck::field`](crate::FieldCheck::field).
    pub field: String,
    /// What the update sent.
    pub sent: Value,
    /// What the ticket holds.
    pub found: Value,
}

/// What reading the ticket back after an update found
/// ([`UpdateReceipt::verification`](crate::UpdateReceipt::verification)).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Verification {
    /// Fields sent and found as sent.
    pub verified: Vec<String>,
    /// Fields sent and found otherwise: they did not land (or someone changed them since).
    pub drifted: Vec<Drift>,
    /// Fields sent that the read cannot show (a comment the read does not list, a comment's
    /// visibility, raw provider fields).
    pub not_verifiable: Vec<String>,
    /// Changes by someone else seen between the read before the update (merge mode) and the
    /// read after it, or after the update itself: read-then-write is not atomic.
    pub concurrent: Vec<String>,
    /// The read back failed (the update itself was accepted): nothing could be compared.
    pub read_error: Option<String>,
}

impl Verification {
    /// Compares `sent` (the update as sent; `carried`: its fields the provider carried) with
    /// `after`, the ticket read back, by [`compare`](crate::compare()). `before` is the read
    /// of merge mode, if there was one, and `written_at` the update time the provider's
    /// answer gave, if it gave one: both show changes by someone else.
    pub fn of(
        sent: &TicketUpdate,
        carried: FieldSet,
        caps: &Capabilities,
        after: &TicketSnapshot,
        before: Option<&TicketSnapshot>,
        written_at: Option<OffsetDateTime>,
    ) -> Self {
        let mut v = Verification::default();
        for check in compare(sent, carried, caps, after) {
            match check.check {
                Check::Same => v.verified.push(check.field),
                Check::Differs => v.drifted.push(Drift {
                    field: check.field,
                    sent: check.sent,
                    found: check.found,
                }),
                Check::Unknown => v.not_verifiable.push(check.field),
            }
        }
        if let Some(before) = before {
            v.concurrent = changed_elsewhere(carried, before, after);
            // A field the update sent as it was read (merge mode filled it, or it named the
            // value already there) and found otherwise: someone else changed it since the
            // read, before or after this update.
            let as_read = compare(sent, carried, caps, before);
            for drift in &v.drifted {
                if as_read
                    .iter()
                    .any(|c| c.field == drift.field && c.check == Check::Same)
                {
                    v.concurrent.push(format!(
                        "{} changed by someone else: this update wrote back {} as read, and the ticket now holds {}",
                        drift.field, drift.sent, drift.found
                    ));
                }
            }
        }
        if let (Some(written), Some(read)) = (written_at, after.updated_at)
            && read > written
        {
            v.concurrent.push(format!(
                "the ticket was updated again ({read}) after this update ({written})"
            ));
        }
        v
    }

    /// The read back failed with `err`: nothing was compared.
    pub fn read_failed(err: &TicketError) -> Self {
        Self {
            read_error: Some(err.to_string()),
            ..Self::default()
        }
    }

    /// Whether every field that could be compared landed.
    pub fn is_verified(&self) -> bool {
        self.drifted.is_empty() && self.read_error.is_none()
    }

    /// `"verified"`, `"drifted"` (a field did not land) or `"unverified"` (the read back
    /// failed).
    pub fn outcome(&self) -> &'static str {
        match (&self.read_error, self.drifted.is_empty()) {
            (Some(_), _) => "unverified",
            (None, true) => "verified",
            (None, false) => "drifted",
        }
    }
}

/// Fields the update did not send whose value moved between the two reads.
fn changed_elsewhere(
    sent: FieldSet,
    before: &TicketSnapshot,
    after: &TicketSnapshot,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |field: &str, changed: bool| {
        if changed {
            out.push(format!(
                "{field} changed between the read before this update and the read after it"
            ));
        }
    };
    let text = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => normalize_text(a) != normalize_text(b),
        _ => false,
    };
    if !sent.contains(Field::Title) {
        note("title", text(&before.title, &after.title));
    }
    if !sent.contains(Field::Description) {
        note("description", text(&before.description, &after.description));
    }
    if !sent.contains(Field::Priority) {
        note("priority", both(&before.priority, &after.priority));
    }
    if !sent.contains(Field::Kind) {
        note("kind", both(&before.kind, &after.kind));
    }
    if !sent.contains(Field::Tags) {
        let set = |t: &Option<Vec<String>>| {
            t.as_ref().map(|t| {
                let mut t = t.clone();
                t.sort();
                t
            })
        };
        note("tags", both(&set(&before.tags), &set(&after.tags)));
    }
    if !sent.contains(Field::Status) && !sent.contains(Field::Solved) {
        note("status", both(&before.native_status, &after.native_status));
        note("solved", both(&before.solved, &after.solved));
    }
    out
}

/// Whether both reads show the value and they differ.
fn both<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

/// What merge mode did: the fields it filled from the read, and when the ticket had last been
/// updated as that read showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MergeReport {
    /// The fields filled from the read.
    pub filled: Vec<Field>,
    /// The ticket's update time as read before the update, when the read showed one.
    pub read_updated_at: Option<OffsetDateTime>,
}

/// Runs `update` with its reads: in merge mode, `read` first and resolve the update against
/// the ticket ([`TicketUpdate::merged_with`]); then `write` what is to be sent (an update
/// without reads); with verification, `read` again and compare
/// ([`Verification::of`]). The receipt carries the [`MergeReport`] and the
/// [`Verification`]. A failed read before the write fails the update with nothing sent; a
/// failed read after it is reported in the verification (the update itself was accepted).
///
/// This is the one sequence every reader of this workspace runs: the kit's client for its
/// own reads and writes, `helpdesk` with its paced reads and its own sending loop.
pub async fn update_with_reads<R, RF, W, WF>(
    caps: &Capabilities,
    update: &TicketUpdate,
    read: R,
    write: W,
) -> Result<UpdateReceipt, TicketError>
where
    R: Fn() -> RF,
    RF: Future<Output = Result<TicketSnapshot, TicketError>>,
    W: FnOnce(TicketUpdate) -> WF,
    WF: Future<Output = Result<UpdateReceipt, TicketError>>,
{
    let before = match update.merges() {
        true => Some(read().await?),
        false => None,
    };
    let (to_send, filled) = match &before {
        Some(current) => {
            let merged = update.merged_with(current, caps)?;
            (merged.update, merged.filled)
        }
        None => (update.without_reads(), Vec::new()),
    };
    let sent = to_send.clone();
    let mut receipt = write(to_send).await?;
    if let Some(before) = &before {
        receipt.merge = Some(Box::new(MergeReport {
            filled,
            read_updated_at: before.updated_at,
        }));
    }
    if update.verifies() {
        let carried = sent
            .fields()
            .difference(receipt.dropped.iter().copied().collect());
        receipt.verification = Some(Box::new(match read().await {
            Ok(after) => Verification::of(
                &sent,
                carried,
                caps,
                &after,
                before.as_ref(),
                receipt.updated_at,
            ),
            Err(err) => Verification::read_failed(&err),
        }));
    }
    Ok(receipt)
}
