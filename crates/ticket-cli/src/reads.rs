//! An update with its reads (`--merge`, `--verify`), joined by the library's one
//! read → fill → write → read-back sequence (`helpdesk::update_with_reads`).
//!
//! A read goes through the library's retries like an update, and the command's pacer paces it
//! (its own limit: the provider's documented read rate, Feishu's 10/s, or `--read-rate`; the
//! shared rate-limit gate). A read that fails for good fails the update it belongs to with
//! nothing sent, or (a read back) is reported unverified.

use std::sync::Mutex;
use std::time::Duration;

use helpdesk::{TicketError, TicketId, TicketUpdate, update_with_reads};

use crate::send::{self, Outcome, Shared};

/// Sends `update` as [`send::send`] does; in merge mode or with verification, with its reads
/// around it (`update_with_reads`): the merged update is what `send::send` sends, and the
/// receipt carries the merge report and the verification. A read before the write that fails
/// fails the update with nothing sent (no attempt; `before_sending` not called).
pub(crate) async fn send(
    shared: &Shared,
    id: &TicketId,
    update: &TicketUpdate,
    before_sending: impl FnOnce() -> bool + Send + 'static,
) -> (Outcome, u32, Duration) {
    if !update.needs_read() {
        return send::send(shared, id, update, before_sending).await;
    }
    let caps = shared.updater.capabilities();
    // What `send::send` said, when it said anything but "applied" (the sequence only passes
    // on a receipt or an error).
    let sent: Mutex<Option<(Option<Outcome>, u32, Duration)>> = Mutex::new(None);
    let slot = &sent;
    let result = update_with_reads(
        &caps,
        update,
        || shared.updater.read(id),
        move |merged| async move {
            let (outcome, attempts, busy) = send::send(shared, id, &merged, before_sending).await;
            let lock = || {
                slot.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            match outcome {
                Outcome::Applied(receipt) => {
                    *lock() = Some((None, attempts, busy));
                    Ok(receipt)
                }
                other => {
                    let err = match &other {
                        Outcome::Failed(e) | Outcome::Unknown(e) => e.clone(),
                        _ => TicketError::config("not sent"),
                    };
                    *lock() = Some((Some(other), attempts, busy));
                    Err(err)
                }
            }
        },
    )
    .await;
    let sent = sent
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match (result, sent) {
        (Ok(receipt), Some((_, attempts, busy))) => (Outcome::Applied(receipt), attempts, busy),
        (Err(_), Some((Some(outcome), attempts, busy))) => (outcome, attempts, busy),
        // Failed before anything was sent: the read, or merging with what it found.
        (Err(err), _) => (Outcome::Failed(err), 0, Duration::ZERO),
        (Ok(receipt), None) => (Outcome::Applied(receipt), 0, Duration::ZERO),
    }
}
