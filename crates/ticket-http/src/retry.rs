use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use ticket_core::{ErrorKind, Sent, TicketError};
use tokio::time::Instant;

use crate::{Attempt, AttemptHook, PreparedRequest, RateLimited, RawResponse, Transport};

/// When and how long to retry, with every default visible.
///
/// Retried: errors whose [`TicketError::is_retryable`] is true — connection failures,
/// timeouts, rate limits (whatever HTTP status they came with), HTTP 408 and 5xx. Never
/// retried: invalid input, unsupported fields, authentication, permission, not found,
/// configuration. The wait is exponential backoff with jitter, except that a rate limit's own
/// wait (`Retry-After`, `x-ogw-ratelimit-reset`) is honoured when the server gives one. No
/// attempt starts after the total budget: when the next wait would cross it, the last error is
/// returned at once (a rate limit keeps its wait in [`TicketError::retry_after`]).
///
/// **Rate limits and `max_retries`:** a retry after a rate-limit refusal that states its wait
/// (`Retry-After`, `x-ogw-ratelimit-reset`) does not count against
/// [`max_retries`](Self::max_retries) — the refusal certainly did not apply and the server said
/// when to come back — so the [`budget`](Self::budget) alone bounds those. A refusal that states
/// no wait counts like every other error (with short backoffs, the budget alone would let a
/// client hammer the server). `max_retries = 0` turns every retry off, rate limits included.
///
/// A caller that needs more around each attempt (a shared gate, a rate limiter or budget) adds an
/// [`AttemptHook`](crate::AttemptHook) rather than a loop of its own. Retries are implemented
/// with the `backon` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt; a rate-limit refusal that states its wait is not
    /// counted (the budget bounds those). Default: 3. `0` turns retrying off, rate limits
    /// included.
    pub max_retries: u32,
    /// The first backoff. Default: 200 ms, doubling each retry.
    pub initial_backoff: Duration,
    /// The largest backoff. Default: 5 s.
    pub max_backoff: Duration,
    /// Random extra wait of up to one backoff, so that many clients do not retry in step.
    /// Default: on.
    pub jitter: bool,
    /// No retry starts later than this after the first attempt began (what an
    /// [`AttemptHook`](crate::AttemptHook) waited before the first attempt not counted).
    /// Default: 30 s.
    pub budget: Duration,
    /// Whether to retry a request that is not idempotent (a Feishu comment) after an error
    /// that may have followed its application: a 5xx, a timeout or a connection lost after
    /// sending, a broken answer. Default: off. Such a request is then retried only when it
    /// certainly did not apply (it never left: connecting failed; or the gateway refused it
    /// as rate limited). Otherwise it fails at once: timeouts and transport failures as they
    /// are (their `sent` is [`Sent::Maybe`]), a server's 5xx answer as a
    /// [`TicketError::Transport`] with [`Sent::Maybe`] saying so, the server's error as its
    /// source.
    pub retry_non_idempotent: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            jitter: true,
            budget: Duration::from_secs(30),
            retry_non_idempotent: false,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first backoff.
    #[must_use]
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the largest backoff.
    #[must_use]
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Turns jitter on or off.
    #[must_use]
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Sets the total budget.
    #[must_use]
    pub fn budget(mut self, d: Duration) -> Self {
        self.budget = d;
        self
    }

    /// Retries requests that are not idempotent after errors that may have followed their
    /// application (see the field).
    #[must_use]
    pub fn retry_non_idempotent(mut self, on: bool) -> Self {
        self.retry_non_idempotent = on;
        self
    }

    fn backoff(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_factor(2.0)
            // `execute` counts the retries itself: rate limits do not use them up.
            .without_max_times();
        if self.jitter {
            builder.with_jitter()
        } else {
            builder
        }
    }
}

/// A decoded answer, with what the caller reports in its receipt.
#[derive(Debug)]
#[non_exhaustive]
pub struct Executed<T> {
    /// What the decoder made of the successful answer.
    pub value: T,
    /// The request id of the successful answer.
    pub request_id: Option<String>,
    /// How many attempts were made (1 without retries).
    pub attempts: u32,
}

impl Transport {
    /// For a request that must not be repeated (`guard`): a server's answer that would be
    /// retried but may have followed the request's application (a 5xx, a garbled 5xx) becomes
    /// a [`TicketError::Transport`] with [`Sent::Maybe`], the original as its source.
    fn guard(&self, guard: bool, err: TicketError) -> TicketError {
        // Transport failures and timeouts say `sent` themselves: they are returned as they are
        // (and not retried unless `Sent::No`).
        if !guard || !err.may_have_applied() {
            return err;
        }
        match err {
            TicketError::Transport {
                provider,
                sent,
                message,
                source,
                ..
            } => TicketError::Transport {
                provider,
                sent,
                message,
                source,
                idempotent: false,
            },
            TicketError::Timeout {
                provider,
                after,
                sent,
                ..
            } => TicketError::Timeout {
                provider,
                after,
                sent,
                idempotent: false,
            },
            // A garbled 2xx is not retried anyway; anything else that may have applied is
            // reported as a transport failure that may have been sent and must not be repeated.
            err if !err.is_retryable() => err,
            err => TicketError::Transport {
                provider: self.provider().to_owned(),
                sent: Sent::Maybe,
                message: format!(
                    "not retried: the update is not idempotent (it adds a comment or the like, which a retry could apply twice) and may or may not have been applied; the failure was: {err}"
                ),
                source: Some(std::sync::Arc::new(err)),
                idempotent: false,
            },
        }
    }

    /// Sends `request` and decodes each answer with `decode`, retrying per the transport's
    /// [`RetryPolicy`] and calling its [`AttemptHook`](crate::AttemptHook), if any, around each
    /// attempt. Decoding is part of each attempt, so that errors a provider reports inside a
    /// body (Feishu's 99991400 with HTTP 400 or 200) are retried like HTTP ones. `operation`
    /// names what the request does for the hook (`"update"`, `"get"`; see
    /// [`Attempt::operation`]).
    ///
    /// `request` is sent as it is, without a copy (reqwest consumes what it sends); a retry
    /// sends what `rebuild` returns, which must be the same request (a provider's `prepare`
    /// again). A `rebuild` error ends the execution with that error.
    pub async fn execute<T, D, R>(
        &self,
        operation: &'static str,
        request: PreparedRequest,
        rebuild: R,
        decode: D,
    ) -> Result<Executed<T>, TicketError>
    where
        R: Fn() -> Result<PreparedRequest, TicketError>,
        D: Fn(&RawResponse) -> Result<T, TicketError>,
    {
        let attempts = AtomicU32::new(0);
        let (value, request_id) = self
            .execute_counting(operation, request, rebuild, decode, &attempts)
            .await?;
        Ok(Executed {
            value,
            request_id,
            attempts: attempts.load(Ordering::Relaxed),
        })
    }

    /// [`execute`](Self::execute), adding each attempt to `attempts` (so that a caller that
    /// runs several executions, such as a retry after a token refresh, can report the total;
    /// the hook's [`Attempt::number`] goes on counting too). Returns the decoded value and the
    /// request id.
    pub async fn execute_counting<T, D, R>(
        &self,
        operation: &'static str,
        request: PreparedRequest,
        rebuild: R,
        decode: D,
        attempts: &AtomicU32,
    ) -> Result<(T, Option<String>), TicketError>
    where
        R: Fn() -> Result<PreparedRequest, TicketError>,
        D: Fn(&RawResponse) -> Result<T, TicketError>,
    {
        let policy = self.options().retry;
        // Boxed, and only with a hook: without one, an update's future grows by a pointer.
        let hooked = self.options().attempt_hook.as_deref().map(|hook| {
            Box::new(Hooked {
                hook,
                operation,
                method: request.method.clone(),
                idempotent: request.is_idempotent(),
                queued_nanos: AtomicU64::new(0),
                maybe_applied: std::sync::Mutex::new(None),
            })
        });
        let started = Instant::now();
        let guard = !request.is_idempotent() && !policy.retry_non_idempotent;
        // The first attempt sends `request` itself; only a retry builds another.
        let first = std::sync::Mutex::new(Some(request));
        // Set by what ends the execution at once, never retried: a hook's error, a rebuild's.
        let stop = AtomicBool::new(false);
        let attempt = || async {
            if let Some(hooked) = &hooked {
                let number = attempts.load(Ordering::Relaxed) + 1;
                let info = hooked.attempt(self.provider(), number);
                // Nothing to wait for (a budget with room): no future, no clock.
                if !hooked.hook.ready_now(&info) {
                    let waiting = Instant::now();
                    if let Err(err) = hooked.hook.before_attempt(&info).await {
                        stop.store(true, Ordering::Relaxed);
                        return Err(hooked.failed(self.provider(), err));
                    }
                    if number == 1 {
                        let waited =
                            u64::try_from(waiting.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        hooked.queued_nanos.fetch_add(waited, Ordering::Relaxed);
                    }
                }
            }
            let ready = first
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let request = match ready {
                Some(request) => request,
                None => rebuild().inspect_err(|_| stop.store(true, Ordering::Relaxed))?,
            };
            attempts.fetch_add(1, Ordering::Relaxed);
            let result = match self.send_owned(request).await {
                // Whatever the decoder made of the answer passes through the transport's
                // secrets before it is retried, logged or returned.
                Ok(response) => decode(&response)
                    .map(|value| (value, response.request_id))
                    .map_err(|e| self.secrets().scrub_error(e)),
                Err(err) => Err(err),
            };
            let err = match result {
                Ok(done) => return Ok(done),
                Err(err) => self.guard(guard, err),
            };
            if let Some(hooked) = &hooked {
                // This execution's attempts are one after another: the count is this one's.
                let number = attempts.load(Ordering::Relaxed);
                hooked
                    .after_failure(self.provider(), number, &err)
                    .await
                    .inspect_err(|_| stop.store(true, Ordering::Relaxed))?;
            }
            Err(err)
        };
        // Retries that `max_retries` bounds: all but those after a rate limit that stated its
        // wait, which the budget alone bounds (see `RetryPolicy`).
        let mut counted = 0u32;
        attempt
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            // A request that must not be repeated is retried only when it certainly did not
            // apply (`guard` already made the other errors non-retryable). A hook's error is
            // never retried.
            .when(|err: &TicketError| {
                !stop.load(Ordering::Relaxed)
                    && policy.max_retries > 0
                    && err.is_retryable()
                    && (!guard || !err.may_have_applied())
            })
            .adjust(|err, backoff| {
                let server_said_when = err.kind() == ErrorKind::RateLimited
                    && err.retry_after().is_some_and(|w| !w.is_zero());
                if !server_said_when {
                    // Out of retries: give up.
                    if counted >= policy.max_retries {
                        return None;
                    }
                    counted += 1;
                }
                let wait = match err.retry_after() {
                    Some(server_wait) if !server_wait.is_zero() => server_wait,
                    _ => backoff?,
                };
                // A wait that would end past the budget: give up now, with the error as is.
                // Checked: a server's wait is clamped, but an overflow must never panic.
                let queued = hooked.as_ref().map_or(Duration::ZERO, |h| {
                    Duration::from_nanos(h.queued_nanos.load(Ordering::Relaxed))
                });
                let ends = started.elapsed().saturating_sub(queued).checked_add(wait)?;
                (ends <= policy.budget).then_some(wait)
            })
            .notify(|err, wait| {
                tracing::info!(
                    provider = %self.provider(),
                    error = %err,
                    wait_ms = wait.as_millis() as u64,
                    "retrying ticket update"
                );
            })
            .await
    }
}

/// What an execution keeps for its hook.
/// (Everything the hook alone needs is here, so that without one the attempts' futures hold
/// one pointer more than before hooks, not one per value.)
struct Hooked<'h> {
    hook: &'h dyn AttemptHook,
    operation: &'static str,
    method: reqwest::Method,
    idempotent: bool,
    /// What the hook waited before the first attempt, which the budget does not count.
    queued_nanos: AtomicU64,
    /// The latest error of an attempt that may have applied (see `AttemptHook`'s errors): a
    /// later refusal does not undo that.
    maybe_applied: std::sync::Mutex<Option<TicketError>>,
}

impl Hooked<'_> {
    fn attempt<'a>(&'a self, provider: &'a str, number: u32) -> Attempt<'a> {
        Attempt {
            provider,
            operation: self.operation,
            method: &self.method,
            number,
            idempotent: self.idempotent,
        }
    }

    /// After a failed attempt: remembers an error that may have applied, and tells the hook
    /// of a rate-limit answer.
    async fn after_failure(
        &self,
        provider: &str,
        number: u32,
        err: &TicketError,
    ) -> Result<(), TicketError> {
        if err.may_have_applied() {
            *self
                .maybe_applied
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(err.clone());
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
    fn failed(&self, provider: &str, err: TicketError) -> TicketError {
        let previous = self
            .maybe_applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    /// The workspace's one backoff curve: the first wait, doubling each retry, capped; it does
    /// not stop by itself (`execute` counts the retries, so that rate limits do not use them
    /// up).
    #[test]
    fn backoff_doubles_from_the_first_and_is_capped() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(200))
            .max_backoff(Duration::from_secs(1))
            .max_retries(1)
            .jitter(false);
        let waits: Vec<u128> = policy
            .backoff()
            .build()
            .take(6)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(waits, [200, 400, 800, 1000, 1000, 1000]);
    }
}
