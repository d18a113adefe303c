//! [`AttemptHook`]: the caller's say in the retry strategy of [`Transport::execute`]. The
//! classification (is this worth retrying? may it have applied?) stays with
//! [`TicketError::is_retryable`] and [`TicketError::may_have_applied`], the strategy (how often,
//! how long to wait, within what budget) with [`RetryPolicy`]; a hook adds what one caller
//! needs around each attempt — a gate that every worker waits at, a rate limiter, a rate budget
//! shared by several processes — without turning the strategy off and writing another loop.
//!
//! [`Transport::execute`]: crate::Transport::execute
//! [`RetryPolicy`]: crate::RetryPolicy

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use ticket_core::TicketError;

/// What a hook is told about one attempt of one request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Attempt<'a> {
    /// The provider being called (`"feishu"`, `"engagelab"`, a downstream one's name).
    pub provider: &'a str,
    /// What the request does, as the caller of [`Transport::execute`] named it: `"update"` for
    /// a ticket update ([`JsonClient`](crate::JsonClient)'s); readers use `"get"`. A rate
    /// budget can keep one bucket per provider and operation.
    ///
    /// [`Transport::execute`]: crate::Transport::execute
    pub operation: &'static str,
    /// The HTTP method.
    pub method: &'a Method,
    /// Which attempt of the request this is: 1 for the first. Counted across the executions
    /// of one update (a second execution after a token refresh goes on counting).
    pub number: u32,
    /// Whether repeating the request is harmless (false for an update that adds a comment).
    pub idempotent: bool,
}

/// A rate-limit refusal as the retry strategy saw it: the server's own figures.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RateLimited<'a> {
    /// How long the server asked to wait ([`TicketError::retry_after`]), when it said.
    pub retry_after: Option<Duration>,
    /// The rate the server states it allows, in requests a second ([`TicketError::rate_limit`]:
    /// Feishu's `x-ogw-ratelimit-limit`), when it said.
    pub stated_rate: Option<u32>,
    /// The refusal itself.
    pub error: &'a TicketError,
}

/// A caller's hook into the retry strategy of every request a client sends through
/// [`Transport::execute`](crate::Transport::execute): set it on
/// [`HttpOptions::attempt_hook`](crate::HttpOptions::attempt_hook) (or, through the facade,
/// `Config::with_attempt_hook`), and every client built from those options calls it.
///
/// - [`before_attempt`](Self::before_attempt) runs before each attempt, the first included,
///   and may wait (a shared gate, a local or shared rate limiter). An error ends the request
///   with that error at once, not retried, and nothing more is sent: a hook that wants to try
///   again waits instead of failing.
/// - [`on_rate_limited`](Self::on_rate_limited) runs when the server refused an attempt as
///   rate limited, with the server's wait and stated rate, before the strategy decides whether
///   to retry: a shared budget can adopt them (push every caller's next start back, pace to the
///   stated rate). An error ends the request with that error.
///
/// The strategy itself is unchanged by a hook: which errors are retried, how many times
/// ([`RetryPolicy`](crate::RetryPolicy)), and its own wait before a retry (backoff, or the
/// server's wait). The time a hook waits before the first attempt does not count against the
/// retry budget (queueing for a limiter is not a failure); waits before a retry do.
///
/// Without a hook (the default) the strategy costs nothing more than the check that none is
/// set. Hooks run in the task that sends the request, so a task-local value of the caller is
/// visible in them.
///
/// # Errors
///
/// A hook's error is returned as it is, with one exception: when it fails before a retry and
/// an earlier attempt may have applied ([`TicketError::may_have_applied`], only possible for a
/// request that is idempotent or under
/// [`retry_non_idempotent`](crate::RetryPolicy::retry_non_idempotent)), that attempt's error is
/// returned instead (and the hook's is logged), so the caller still learns that the update may
/// have landed.
///
/// # Example
///
/// A gate that holds every request for as long as the last rate-limit answer asked:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use helpdesk_ticket_http::{Attempt, AttemptHook, HttpOptions, RateLimited};
/// use ticket_core::TicketError;
/// use tokio::time::Instant;
///
/// #[derive(Debug, Default)]
/// struct Gate(Mutex<Option<Instant>>);
///
/// #[async_trait::async_trait]
/// impl AttemptHook for Gate {
///     async fn before_attempt(&self, _attempt: &Attempt<'_>) -> Result<(), TicketError> {
///         let until = *self.0.lock().unwrap();
///         if let Some(until) = until {
///             tokio::time::sleep_until(until).await;
///         }
///         Ok(())
///     }
///
///     async fn on_rate_limited(
///         &self,
///         _attempt: &Attempt<'_>,
///         refusal: &RateLimited<'_>,
///     ) -> Result<(), TicketError> {
///         let wait = refusal.retry_after.unwrap_or(Duration::from_secs(1));
///         let mut until = self.0.lock().unwrap();
///         *until = until.max(Some(Instant::now() + wait));
///         Ok(())
///     }
/// }
///
/// let options = HttpOptions::default().attempt_hook(Arc::new(Gate::default()));
/// assert!(options.attempt_hook.is_some());
/// ```
#[async_trait]
pub trait AttemptHook: Send + Sync {
    /// Runs before each attempt (the first included); may wait. An error ends the request
    /// with it (see the trait's documentation), and nothing more is sent.
    async fn before_attempt(&self, attempt: &Attempt<'_>) -> Result<(), TicketError>;

    /// The fast path of [`before_attempt`](Self::before_attempt), without a future: true when
    /// `attempt` may start at once and the hook has done all it would do before it (a rate
    /// budget with room took its slot); `before_attempt` is then not called. False (the
    /// default) calls `before_attempt`.
    fn ready_now(&self, attempt: &Attempt<'_>) -> bool {
        let _ = attempt;
        false
    }

    /// Runs when the server refused `attempt` as rate limited, before the strategy decides
    /// whether to retry. Default: nothing.
    async fn on_rate_limited(
        &self,
        attempt: &Attempt<'_>,
        refusal: &RateLimited<'_>,
    ) -> Result<(), TicketError> {
        let _ = (attempt, refusal);
        Ok(())
    }
}

impl fmt::Debug for dyn AttemptHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AttemptHook")
    }
}

/// Several hooks as one, each called in the order added: the one way to put more than one
/// hook on a client (a rate budget and a caller's own hook, such as `helpdesk`'s journal
/// write-ahead). [`HttpOptions::add_attempt_hook`](crate::HttpOptions::add_attempt_hook)
/// builds it.
///
/// - [`before_attempt`](AttemptHook::before_attempt): each in order; the first error ends the
///   attempt (the later hooks are not called). A hook added later therefore runs after every
///   wait of the earlier ones, just before the request leaves.
/// - [`on_rate_limited`](AttemptHook::on_rate_limited): every hook hears every refusal (one
///   hook's error does not hide the refusal from the others); the first error is returned.
#[derive(Clone, Default)]
pub struct Hooks(Vec<std::sync::Arc<dyn AttemptHook>>);

impl Hooks {
    /// No hook.
    pub fn new() -> Self {
        Self::default()
    }

    /// `hook` after the hooks already here.
    #[must_use]
    pub fn then(mut self, hook: std::sync::Arc<dyn AttemptHook>) -> Self {
        self.0.push(hook);
        self
    }

    /// How many hooks.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hooks({})", self.0.len())
    }
}

#[async_trait]
impl AttemptHook for Hooks {
    async fn before_attempt(&self, attempt: &Attempt<'_>) -> Result<(), TicketError> {
        for hook in &self.0 {
            hook.before_attempt(attempt).await?;
        }
        Ok(())
    }

    async fn on_rate_limited(
        &self,
        attempt: &Attempt<'_>,
        refusal: &RateLimited<'_>,
    ) -> Result<(), TicketError> {
        let mut first = None;
        for hook in &self.0 {
            if let Err(err) = hook.on_rate_limited(attempt, refusal).await {
                first.get_or_insert(err);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
