//! Sending one update: the shared rate limiter, the shared server-wait gate, and retries that
//! never repeat a comment that may already have landed.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ticket_facade::{TicketError, TicketId, TicketUpdate, TicketUpdater, UpdateReceipt};
use tokio::time::Instant;

/// When the server says wait, every worker waits here, not each on its own.
///
/// The end of the current pause is one atomic (microseconds after the gate was made, 0 for
/// none), so the check every request makes takes no lock.
#[derive(Debug)]
pub(crate) struct Gate {
    base: Instant,
    until_micros: AtomicU64,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            until_micros: AtomicU64::new(0),
        }
    }
}

impl Gate {
    /// Waits until no pause is running.
    pub(crate) async fn wait(&self) {
        loop {
            let until = self.until_micros.load(Ordering::Acquire);
            if until == 0 {
                return;
            }
            let at = self.base + Duration::from_micros(until);
            if at <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(at).await;
        }
    }

    /// Pauses everyone for `wait` from now (a longer pause already running is kept).
    pub(crate) fn pause(&self, wait: Duration) {
        let at = (Instant::now() + wait).saturating_duration_since(self.base);
        let micros = u64::try_from(at.as_micros()).unwrap_or(u64::MAX).max(1);
        self.until_micros.fetch_max(micros, Ordering::AcqRel);
    }
}

/// What every worker shares.
pub(crate) struct Shared {
    pub(crate) updater: Arc<dyn ticket_facade::TicketUpdater>,
    /// The rate limiter and its rate: `--rate` from the start, or else the first limit a
    /// server states in a rate-limit answer (Feishu's `x-ogw-ratelimit-limit`).
    limiter: OnceLock<(u32, DefaultDirectRateLimiter)>,
    /// Whether the rate was given (`--rate`); then no server statement replaces it.
    requested: bool,
    pub(crate) gate: Gate,
    pub(crate) max_retries: u32,
    /// Rate-limit answers received.
    pub(crate) rate_limited: AtomicU64,
}

/// A limiter of `r` requests a second shared by all workers. A small burst (1/20 s of
/// requests) absorbs timer jitter without overrunning a server bucket that holds a second's
/// worth.
fn limiter(r: NonZeroU32) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new((r.get() / 20).max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(r).allow_burst(burst))
}

impl Shared {
    pub(crate) fn new(
        updater: Arc<dyn TicketUpdater>,
        rate: Option<NonZeroU32>,
        max_retries: u32,
    ) -> Self {
        let cell = OnceLock::new();
        if let Some(r) = rate {
            let _ = cell.set((r.get(), limiter(r)));
        }
        Self {
            updater,
            limiter: cell,
            requested: rate.is_some(),
            gate: Gate::default(),
            max_retries,
            rate_limited: AtomicU64::new(0),
        }
    }

    /// The rate adopted from a server's stated limit (never set when `--rate` was given).
    pub(crate) fn adopted_rate(&self) -> Option<u32> {
        if self.requested {
            return None;
        }
        self.limiter.get().map(|(rate, _)| *rate)
    }

    /// Without `--rate`, the first limit a server states becomes the rate of every worker.
    fn adopt(&self, err: &TicketError) {
        if !self.requested
            && let Some(rate) = err.rate_limit().and_then(NonZeroU32::new)
        {
            self.limiter.get_or_init(|| (rate.get(), limiter(rate)));
        }
    }
}

/// How one update ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The server confirmed it.
    Applied(UpdateReceipt),
    /// It did not land (or landing again is harmless and retries ran out).
    Failed(TicketError),
    /// It may or may not have landed, and it carries a comment: re-sending could post the
    /// comment twice, so it is not retried.
    Unknown(TicketError),
    /// `before_sending` said no (the journal could not record it): no request was made.
    NotSent,
}

/// Sends one update, retrying what can be retried. Returns the outcome, the attempts made and
/// the time spent in requests (waits for the rate limiter, the gate and backoff excluded).
/// `before_sending` runs once, after the waits, just before the first request leaves; if it
/// returns false, nothing is sent.
pub(crate) async fn send(
    shared: &Shared,
    id: &TicketId,
    update: &TicketUpdate,
    before_sending: impl FnOnce() -> bool,
) -> (Outcome, u32, Duration) {
    let mut before_sending = Some(before_sending);
    let mut busy = Duration::ZERO;
    let carries_comment = update.comment().is_some();
    let mut attempts = 0u32;
    let mut other_retries = 0u32;
    let mut rate_retries = 0u32;
    loop {
        shared.gate.wait().await;
        if let Some((_, limiter)) = shared.limiter.get() {
            limiter.until_ready().await;
            shared.gate.wait().await;
        }
        if let Some(hook) = before_sending.take()
            && !hook()
        {
            return (Outcome::NotSent, attempts, busy);
        }
        attempts += 1;
        let started = std::time::Instant::now();
        let result = shared.updater.update(id, update).await;
        busy += started.elapsed();
        let err = match result {
            Ok(receipt) => return (Outcome::Applied(receipt), attempts, busy),
            Err(err) => err,
        };
        if let TicketError::RateLimited { retry_after, .. } = &err {
            // Refused at the gateway: certainly not applied, so always safe to repeat.
            shared.rate_limited.fetch_add(1, Ordering::Relaxed);
            shared.adopt(&err);
            shared
                .gate
                .pause(retry_after.unwrap_or(Duration::from_secs(1)));
            rate_retries += 1;
            if rate_retries <= RATE_LIMIT_RETRIES {
                continue;
            }
            return (Outcome::Failed(err), attempts, busy);
        }
        let landed = err.may_have_applied();
        if landed && carries_comment {
            return (Outcome::Unknown(err), attempts, busy);
        }
        if err.is_retryable() && other_retries < shared.max_retries {
            other_retries += 1;
            tokio::time::sleep(backoff(other_retries)).await;
            continue;
        }
        // Out of retries, or not retryable. Without a comment a re-send is harmless, so an
        // update that may have landed is reported as failed (and goes to the failures file).
        return (Outcome::Failed(err), attempts, busy);
    }
}

/// How many rate-limit refusals one update may meet before it counts as failed.
const RATE_LIMIT_RETRIES: u32 = 100;

/// 200 ms, 400 ms, 800 ms … capped at 10 s.
fn backoff(retry: u32) -> Duration {
    let ms = 200u64.saturating_mul(1u64 << retry.saturating_sub(1).min(6));
    Duration::from_millis(ms.min(10_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_holds_everyone_until_the_longest_pause_ends() {
        let gate = Gate::default();
        // No pause, or one that is over: no wait.
        gate.wait().await;
        gate.pause(Duration::ZERO);
        gate.wait().await;
        // An hour's pause is not shortened by a later, shorter one: still closed.
        gate.pause(Duration::from_secs(3600));
        gate.pause(Duration::from_secs(1));
        let closed = tokio::time::timeout(Duration::from_millis(20), gate.wait()).await;
        assert!(
            closed.is_err(),
            "the gate let a worker through during the pause"
        );
        let until = Duration::from_micros(gate.until_micros.load(Ordering::Acquire));
        assert!(until >= Duration::from_secs(3600));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(30), Duration::from_millis(10_000));
    }
}
