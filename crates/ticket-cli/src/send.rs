//! Sending one update. The library's retry strategy does every retry (the user's
//! `max_retries` and `retry_*` keys); the command hooks into it ([`Pacer`], an
//! [`AttemptHook`]) for what a bulk run needs around each attempt: the shared pause gate, the
//! shared rate limiter, and the journal's write-ahead record just before the first request of
//! an update leaves.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ticket_facade::kit::{Attempt, RateLimited, async_trait};
use ticket_facade::{
    AttemptHook, Sent, TicketError, TicketId, TicketUpdate, TicketUpdater, UpdateReceipt,
};
use tokio::time::Instant;

use crate::Global;

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

/// The pause after a rate-limit answer that states no wait (EngageLab's may not).
const UNSTATED_WAIT: Duration = Duration::from_secs(1);

/// The command's hook into the library's retries, shared by every worker: before each attempt
/// it waits at the gate and for the limiter of the attempt's operation (updates: `--rate` or the
/// adopted rate; reads: `--read-rate` or the provider's documented read rate); on a rate-limit
/// answer it pauses everyone and adopts the server's stated rate for updates.
pub(crate) struct Pacer {
    /// The rate limiter and its rate: `--rate` from the start, or else the first limit a
    /// server states in a rate-limit answer (Feishu's `x-ogw-ratelimit-limit`).
    limiter: OnceLock<(u32, DefaultDirectRateLimiter)>,
    /// Whether the rate was given (`--rate`); then no server statement replaces it.
    requested: bool,
    gate: Gate,
    /// The limiter of reads (`get`), set once the provider's documented read rate is known.
    reads: OnceLock<DefaultDirectRateLimiter>,
    /// Rate-limit answers received.
    rate_limited: AtomicU64,
}

/// A limiter of `r` requests a second shared by all workers. A small burst (1/20 s of
/// requests) absorbs timer jitter without overrunning a server bucket that holds a second's
/// worth.
fn limiter(r: NonZeroU32) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new((r.get() / 20).max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(r).allow_burst(burst))
}

impl Pacer {
    fn new(rate: Option<NonZeroU32>) -> Self {
        let cell = OnceLock::new();
        if let Some(r) = rate {
            let _ = cell.set((r.get(), limiter(r)));
        }
        Self {
            limiter: cell,
            requested: rate.is_some(),
            gate: Gate::default(),
            reads: OnceLock::new(),
            rate_limited: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl AttemptHook for Pacer {
    async fn before_attempt(&self, attempt: &Attempt<'_>) -> Result<(), TicketError> {
        let limiter = match attempt.operation {
            "update" => self.limiter.get().map(|(_, limiter)| limiter),
            "get" => self.reads.get(),
            // A token fetched for the client (Feishu's tenant token) is not the helpdesk's API.
            _ => return Ok(()),
        };
        self.gate.wait().await;
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
            // A pause may have begun while this worker waited for the limiter.
            self.gate.wait().await;
        }
        if attempt.operation != "update" {
            return Ok(());
        }
        // The update this task is sending (none outside `send`, e.g. another caller's task).
        CURRENT
            .try_with(|current| current.starting())
            .unwrap_or(Ok(()))
    }

    async fn on_rate_limited(
        &self,
        _attempt: &Attempt<'_>,
        refusal: &RateLimited<'_>,
    ) -> Result<(), TicketError> {
        // Refused at the gateway: certainly not applied; the library retries it.
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        // Without `--rate`, the first limit a server states becomes every worker's rate.
        if !self.requested
            && let Some(rate) = refusal.stated_rate.and_then(NonZeroU32::new)
        {
            self.limiter.get_or_init(|| (rate.get(), limiter(rate)));
        }
        self.gate
            .pause(refusal.retry_after.unwrap_or(UNSTATED_WAIT));
        Ok(())
    }
}

/// What the hook knows of the update its task is sending.
struct Current {
    /// Runs once, before the first request of the update leaves (the journal's write-ahead
    /// record); false: nothing is sent.
    before_first: Mutex<Option<Box<dyn FnOnce() -> bool + Send>>>,
    /// `before_first` said no.
    refused: AtomicBool,
    /// Attempts let through.
    attempts: AtomicU32,
    /// When the last attempt started (after the waits).
    last_start: Mutex<Option<Instant>>,
}

tokio::task_local! {
    /// The update the current task is sending: the hook runs in the task that sends, so it
    /// finds the update's own state here.
    static CURRENT: Arc<Current>;
}

impl Current {
    /// An attempt of this update is about to start, its waits over.
    fn starting(&self) -> Result<(), TicketError> {
        let first = self
            .before_first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(before_first) = first
            && !before_first()
        {
            self.refused.store(true, Ordering::Relaxed);
            return Err(TicketError::Transport {
                provider: "helpdesk".to_owned(),
                sent: Sent::No,
                message: "not sent: the run is stopping, or the journal could not record it"
                    .to_owned(),
                source: None,
                idempotent: true,
            });
        }
        self.attempts.fetch_add(1, Ordering::Relaxed);
        *self
            .last_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        Ok(())
    }
}

/// What every worker shares: the client (with the [`Pacer`] as its attempt hook) and the
/// pacer itself, for the report.
pub(crate) struct Shared {
    pub(crate) updater: Arc<dyn TicketUpdater>,
    pacer: Arc<Pacer>,
}

impl Shared {
    /// Connects with the configuration of `global`, the pacer hooked into the library's retry
    /// strategy; `max_retries` (`--max-retries`), when given, replaces the configuration's
    /// `max_retries`. Reads are paced to `read_rate`, else to the provider's documented rate.
    pub(crate) fn connect(
        global: &Global,
        rate: Option<NonZeroU32>,
        max_retries: Option<u32>,
        read_rate: Option<NonZeroU32>,
    ) -> Result<Self, TicketError> {
        let pacer = Arc::new(Pacer::new(rate));
        let mut config = crate::load_config(global)?.with_attempt_hook(pacer.clone());
        if let (Some(n), Some(provider)) = (max_retries, config.provider()) {
            let provider = provider.trim().to_ascii_lowercase();
            config.set(&provider, crate::RETRIES_KEY, n.to_string());
        }
        let updater = ticket_facade::connect(&config)?;
        let documented = updater.capabilities().read_rate.and_then(NonZeroU32::new);
        if let Some(r) = read_rate.or(documented) {
            let _ = pacer.reads.set(RateLimiter::direct(Quota::per_second(r)));
        }
        Ok(Self { updater, pacer })
    }

    /// Rate-limit answers received.
    pub(crate) fn rate_limited(&self) -> u64 {
        self.pacer.rate_limited.load(Ordering::Relaxed)
    }

    /// The rate adopted from a server's stated limit (never set when `--rate` was given).
    pub(crate) fn adopted_rate(&self) -> Option<u32> {
        if self.pacer.requested {
            return None;
        }
        self.pacer.limiter.get().map(|(rate, _)| *rate)
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

/// Sends one update through the library's retries. Returns the outcome, the attempts made and
/// the time the last attempt took (waits for the rate limiter, the gate and backoff excluded).
/// `before_sending` runs once, after the waits, just before the first request leaves; if it
/// returns false, nothing is sent.
pub(crate) async fn send(
    shared: &Shared,
    id: &TicketId,
    update: &TicketUpdate,
    before_sending: impl FnOnce() -> bool + Send + 'static,
) -> (Outcome, u32, Duration) {
    let current = Arc::new(Current {
        before_first: Mutex::new(Some(Box::new(before_sending))),
        refused: AtomicBool::new(false),
        attempts: AtomicU32::new(0),
        last_start: Mutex::new(None),
    });
    let result = CURRENT
        .scope(Arc::clone(&current), shared.updater.update(id, update))
        .await;
    let busy = current
        .last_start
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .map_or(Duration::ZERO, |at| at.elapsed());
    let attempts = current.attempts.load(Ordering::Relaxed);
    let outcome = match result {
        Ok(receipt) => Outcome::Applied(receipt),
        Err(_) if current.refused.load(Ordering::Relaxed) => Outcome::NotSent,
        // The library did not repeat it (it is not idempotent), and it may have landed.
        Err(err) if err.may_have_applied() && update.comment().is_some() => Outcome::Unknown(err),
        // Out of retries, or not retryable. Without a comment a re-send is harmless, so an
        // update that may have landed is reported as failed (and goes to the failures file).
        Err(err) => Outcome::Failed(err),
    };
    (outcome, attempts, busy)
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
}
