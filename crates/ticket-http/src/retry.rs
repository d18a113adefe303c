//! [`RetryPolicy`]: when and how long to retry, every default visible, and its backoff curve
//! (`backon`'s). The strategy that applies it is [`Transport::execute`](crate::Transport::execute),
//! in `execute.rs`.

use std::time::Duration;

use backon::ExponentialBuilder;
#[cfg(doc)]
use ticket_core::{Sent, TicketError};

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

    /// The backoff curve (without a limit of its own: `execute` counts the retries).
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
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
