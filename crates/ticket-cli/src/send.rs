//! Sending one update. The library's retry strategy does every retry (the user's
//! `max_retries` and `retry_*` keys) and the library's rate budget does every wait (the pause
//! gate after a refusal, the update and read rates, the rate a server states; `--rate` and
//! `--read-rate` configure it, locally or, with `rate_budget = "redis"`, shared with every other
//! process of the app). The command adds one hook after the budget's ([`WriteAhead`]): the
//! journal's write-ahead record, just before the first request of an update leaves.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use helpdesk::kit::{Attempt, async_trait};
use helpdesk::{
    AttemptHook, RateBudget, Sent, TicketError, TicketId, TicketUpdate, TicketUpdater,
    UpdateReceipt,
};
use tokio::time::Instant;

use crate::Global;

/// The command's hook, run after the rate budget's waits: before the first request of an
/// update leaves, the update's own write-ahead (the journal record), found in the task that
/// sends it.
struct WriteAhead;

#[async_trait]
impl AttemptHook for WriteAhead {
    async fn before_attempt(&self, attempt: &Attempt<'_>) -> Result<(), TicketError> {
        if attempt.operation != "update" {
            return Ok(());
        }
        // The update this task is sending (none outside `send`, e.g. another caller's task).
        CURRENT
            .try_with(|current| current.starting())
            .unwrap_or(Ok(()))
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

/// What every worker shares: the client (with the rate budget and [`WriteAhead`] as its
/// attempt hooks) and the budget, for the report.
pub(crate) struct Shared {
    pub(crate) updater: Arc<dyn TicketUpdater>,
    budget: Option<Arc<RateBudget>>,
}

/// The keys the command's flags set (ones of `helpdesk::HTTP_KEYS`).
const RATE_KEY: &str = "rate_limit";
const READ_RATE_KEY: &str = "read_rate_limit";
const BUDGET_KEY: &str = "rate_budget";

impl Shared {
    /// Connects with the configuration of `global`; `max_retries` (`--max-retries`), `rate`
    /// (`--rate`) and `read_rate` (`--read-rate`), when given, replace the configuration's
    /// `max_retries`, `rate_limit` and `read_rate_limit`. The rate budget is always on: the
    /// configuration's (`redis` shares it with every process of the app), else a local one,
    /// so that a refusal pauses every worker and a stated limit is adopted.
    pub(crate) fn connect(
        global: &Global,
        rate: Option<NonZeroU32>,
        max_retries: Option<u32>,
        read_rate: Option<NonZeroU32>,
    ) -> Result<Self, TicketError> {
        let mut config = crate::load_config(global)?.with_attempt_hook(Arc::new(WriteAhead));
        if let Some(provider) = config.provider() {
            let provider = provider.trim().to_ascii_lowercase();
            for (key, value) in [
                (crate::RETRIES_KEY, max_retries.map(|n| n.to_string())),
                (RATE_KEY, rate.map(|r| format!("{r}/s"))),
                (READ_RATE_KEY, read_rate.map(|r| format!("{r}/s"))),
            ] {
                if let Some(value) = value {
                    config.set(&provider, key, value);
                }
            }
            let budget = config
                .provider_entries(&provider)
                .into_iter()
                .find(|(key, _, _)| key == BUDGET_KEY)
                .map(|(_, value, _)| value.trim().to_ascii_lowercase());
            if budget.is_none_or(|kind| kind == "off") {
                config.set(&provider, BUDGET_KEY, "local");
            }
        }
        let connected = helpdesk::connect_budgeted(&config)?;
        Ok(Self {
            updater: connected.updater,
            budget: connected.budget,
        })
    }

    /// Rate-limit answers received.
    pub(crate) fn rate_limited(&self) -> u64 {
        self.budget.as_ref().map_or(0, |b| b.status().refusals)
    }

    /// The update rate adopted from a server's stated limit, when it was below `--rate` (or
    /// there was none).
    pub(crate) fn adopted_rate(&self) -> Option<u32> {
        self.budget.as_ref()?.adopted_rate("update")
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
