//! Reads of tickets for `get`, `--plan`, `--merge` and `--verify`: paced by a limit of their
//! own (the provider's documented read rate, Feishu's 10/s, or `--read-rate`), waiting at the
//! same rate-limit gate as updates, and joined to an update by the library's one
//! read → fill → write → read-back sequence (`ticket_facade::update_with_reads`).
//!
//! The gate is `send`'s: a read refused as rate limited pauses everyone, as an update does, and
//! is sent again (it changed nothing). Other failures of a read are not retried here: the
//! update it belongs to fails with nothing sent, or (a read back) is reported unverified.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ticket_facade::{TicketError, TicketId, TicketSnapshot, TicketUpdate, update_with_reads};

use crate::send::{self, Outcome, Shared};

/// How many rate-limit refusals one read may meet before it fails (as for an update).
const RATE_LIMIT_RETRIES: u32 = 100;

/// Paces reads: their own limiter, and the shared gate.
pub(crate) struct Reader {
    limiter: Option<DefaultDirectRateLimiter>,
}

impl Reader {
    /// A reader at `rate` reads a second, or unpaced (beyond the gate) when `None`.
    pub(crate) fn new(rate: Option<NonZeroU32>) -> Self {
        Self {
            limiter: rate.map(|r| RateLimiter::direct(Quota::per_second(r))),
        }
    }

    /// A reader at `rate`, else at the read rate the provider documents.
    pub(crate) fn for_updater(shared: &Shared, rate: Option<NonZeroU32>) -> Self {
        let documented = shared
            .updater
            .capabilities()
            .read_rate
            .and_then(NonZeroU32::new);
        Self::new(rate.or(documented))
    }

    /// Reads `id` once its turn comes, sending it again after a rate-limit refusal (the
    /// server's wait shared by every worker through the gate).
    pub(crate) async fn read(
        &self,
        shared: &Shared,
        id: &TicketId,
    ) -> Result<TicketSnapshot, TicketError> {
        let mut refused = 0;
        loop {
            shared.gate.wait().await;
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
                shared.gate.wait().await;
            }
            match shared.updater.read(id).await {
                Err(TicketError::RateLimited { retry_after, .. })
                    if refused < RATE_LIMIT_RETRIES =>
                {
                    refused += 1;
                    shared
                        .rate_limited
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    shared
                        .gate
                        .pause(retry_after.unwrap_or(Duration::from_secs(1)));
                }
                other => return other,
            }
        }
    }
}

/// Sends `update` as [`send::send`] does; in merge mode or with verification, with its reads
/// around it (`update_with_reads`): the merged update is what `send::send` sends, and the
/// receipt carries the merge report and the verification. A read before the write that fails
/// fails the update with nothing sent (no attempt; `before_sending` not called).
pub(crate) async fn send(
    shared: &Shared,
    reader: &Reader,
    id: &TicketId,
    update: &TicketUpdate,
    before_sending: impl FnOnce() -> bool,
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
        || reader.read(shared, id),
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
