//! What an execution keeps for its [`AttemptHook`]: the hook, what it is told of each attempt,
//! the time it queued the first one, and the error an earlier attempt left that may have
//! applied.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ticket_core::{ErrorKind, TicketError};

use crate::{Attempt, AttemptHook, PreparedRequest, RateLimited};

/// What an execution keeps for its hook.
/// (Everything the hook alone needs is here, so that without one the attempts' futures hold
/// one pointer more than before hooks, not one per value.)
pub(super) struct Hooked<'h> {
    pub(super) hook: &'h dyn AttemptHook,
    operation: &'static str,
    method: reqwest::Method,
    idempotent: bool,
    /// What the hook waited before the first attempt, which the budget does not count.
    queued_nanos: AtomicU64,
    /// The latest error of an attempt that may have applied (see `AttemptHook`'s errors): a
    /// later refusal does not undo that.
    maybe_applied: Mutex<Option<TicketError>>,
}

impl<'h> Hooked<'h> {
    /// The hook's state for an execution of `request`.
    pub(super) fn new(
        hook: &'h dyn AttemptHook,
        operation: &'static str,
        request: &PreparedRequest,
    ) -> Self {
        Self {
            hook,
            operation,
            method: request.method.clone(),
            idempotent: request.is_idempotent(),
            queued_nanos: AtomicU64::new(0),
            maybe_applied: Mutex::new(None),
        }
    }

    /// What the hook is told of attempt `number`.
    pub(super) fn attempt<'a>(&'a self, provider: &'a str, number: u32) -> Attempt<'a> {
        Attempt {
            provider,
            operation: self.operation,
            method: &self.method,
            number,
            idempotent: self.idempotent,
        }
    }

    /// Adds `waited` to the time the hook queued the first attempt.
    pub(super) fn queued(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.queued_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The time the hook queued the first attempt, which the retry budget does not count.
    pub(super) fn queued_time(&self) -> Duration {
        Duration::from_nanos(self.queued_nanos.load(Ordering::Relaxed))
    }

    /// After a failed attempt: remembers an error that may have applied, and tells the hook
    /// of a rate-limit answer.
    pub(super) async fn after_failure(
        &self,
        provider: &str,
        number: u32,
        err: &TicketError,
    ) -> Result<(), TicketError> {
        if err.may_have_applied() {
            *self
                .maybe_applied
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(err.clone());
        }
        if err.kind() != ErrorKind::RateLimited {
            return Ok(());
        }
        let refusal = RateLimited {
            retry_after: err.retry_after(),
            stated_rate: err.rate_limit(),
            error: err,
        };
        let info = self.attempt(provider, number);
        self.hook.on_rate_limited(&info, &refusal).await
    }

    /// The error a failed hook ends an execution with: its own, unless an earlier attempt may
    /// have applied (then that attempt's, so the caller learns it; the hook's is logged).
    pub(super) fn failed(&self, provider: &str, err: TicketError) -> TicketError {
        let previous = self
            .maybe_applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match previous {
            Some(previous) => {
                tracing::warn!(
                    provider = %provider,
                    hook_error = %err,
                    "the attempt hook stopped a retry; an earlier attempt may have applied"
                );
                previous
            }
            None => err,
        }
    }
}
