//! Where a [`RefreshingToken`](crate::RefreshingToken) keeps its token set, so that every
//! process (and every host) that updates tickets with the same Feishu user shares one chain of
//! refresh tokens.
//!
//! Feishu rotates the refresh token on every refresh and the old one stops working, so two
//! processes that each keep their own copy lock each other out at the first refresh. A
//! [`TokenStore`] holds the one current set: the refresh token, the access token and its expiry.
//! A refreshing source reads it only when its cached access token is due or refused (never on the
//! hot path), takes the store's [refresh lock](TokenStore::lock), re-reads the set (another
//! process may already have refreshed: then it reuses that access token), refreshes, and saves the
//! new set with [`compare_and_swap`](TokenStore::compare_and_swap).
//!
//! Three implementations: [`MemoryTokenStore`] (one process; the default),
//! [`FileTokenStore`] (several processes on one host) and, behind the `redis` feature,
//! `RedisTokenStore` (several hosts).
//!
//! **Failures.** Every store operation is bounded in time. A store that cannot be reached (Redis
//! down, a lock held too long, a disk that refuses writes) fails with
//! [`TicketError::Transport`] (`sent: Sent::No`, retryable, the message names the store); a store
//! whose contents are not a token set (garbage, an HTML page, truncated JSON, a Redis key of
//! another type, a token with whitespace) fails with [`TicketError::Configuration`] naming the
//! file or key, never quoting the contents.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use ticket_core::{Sent, TicketError};
use tokio::time::Instant;

mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod set;

pub use self::file::FileTokenStore;
pub use self::memory::MemoryTokenStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisTokenStore;
pub use self::set::TokenSet;
pub(crate) use self::set::{add_millis, same_secret, unix_millis_now};

/// How long a store's [`lock`](TokenStore::lock) waits for another holder by default: about one
/// refresh (the default connect timeout plus request timeout of the refresh request).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(20);

/// The right to refresh, held until this value is dropped (or, for a lease, until it expires).
#[must_use = "the lock is released when this value is dropped"]
pub struct RefreshLock {
    _guard: Box<dyn Send + Sync>,
}

impl RefreshLock {
    /// Wraps whatever releases the lock when dropped.
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshLock")
    }
}

/// Shared storage of one Feishu token set, with compare-and-swap and a refresh lock.
///
/// The contract a [`RefreshingToken`](crate::RefreshingToken) relies on:
/// - [`lock`](Self::lock) gives one holder at a time, across every process sharing the store, the
///   right to refresh (a lease may expire: the compare-and-swap then still refuses a stale save);
/// - [`load`](Self::load) returns the last set saved, or `None` when nothing was saved yet;
/// - [`compare_and_swap`](Self::compare_and_swap) saves only if the stored refresh token is still
///   `expected` (or nothing is stored), and says whether it saved;
/// - every operation is bounded in time: [`lock`](Self::lock) gives up after
///   [`lock_timeout`](Self::lock_timeout), the others after their own I/O timeouts. A store that
///   cannot be reached fails with a retryable [`TicketError::Transport`] (`sent: Sent::No`)
///   naming the store; contents that are not a token set fail with
///   [`TicketError::Configuration`].
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored set, or `None` when nothing was saved yet.
    async fn load(&self) -> Result<Option<TokenSet>, TicketError>;

    /// Saves `new` if the stored set's refresh token is `expected`, or nothing is stored.
    /// `Ok(false)`: the stored set changed in between and was left as it is.
    async fn compare_and_swap(
        &self,
        expected: &SecretString,
        new: &TokenSet,
    ) -> Result<bool, TicketError>;

    /// Waits for the right to refresh, at most [`lock_timeout`](Self::lock_timeout).
    async fn lock(&self) -> Result<RefreshLock, TicketError>;

    /// The longest [`lock`](Self::lock) waits for another holder. A
    /// [`RefreshingToken`](crate::RefreshingToken) bounds how long an update waits for a refresh
    /// with it. Default: [`DEFAULT_LOCK_TIMEOUT`].
    fn lock_timeout(&self) -> Duration {
        DEFAULT_LOCK_TIMEOUT
    }
}

/// A store that cannot be reached now: retryable, and nothing was sent to Feishu. `message`
/// names the store and what failed.
pub(crate) fn unavailable(
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
) -> TicketError {
    TicketError::Transport {
        provider: crate::PROVIDER.to_owned(),
        sent: Sent::No,
        // Nothing was sent, so nothing could apply twice.
        idempotent: true,
        message,
        source,
    }
}

/// The lock of `store` stayed taken for `timeout`.
pub(crate) fn lock_timed_out(store: impl fmt::Display, timeout: Duration) -> TicketError {
    unavailable(
        format!(
            "the Feishu token store ({store}) stayed locked by another holder for {timeout:?} \
             (a refresh in another process, or a frozen one); no token refresh was attempted"
        ),
        None,
    )
}

/// Contents of `store` that are not a token set: a person must fix (or delete) them. `why`
/// never quotes the contents.
pub(crate) fn not_a_token_set(store: impl fmt::Display, why: &str) -> TicketError {
    TicketError::config(format!(
        "{store} does not hold a token set: {why}; fix or delete it (nothing was sent to Feishu)"
    ))
}

/// A bounded wait for a lock that is polled without blocking, so that the wait has a deadline
/// and no thread is parked on a frozen holder.
pub(crate) struct LockWait {
    /// `None`: the timeout lies beyond what the clock can represent, so there is no deadline.
    deadline: Option<Instant>,
    poll: Duration,
}

impl LockWait {
    /// Starts a wait of at most `timeout`, trying again every `poll`.
    pub(crate) fn new(timeout: Duration, poll: Duration) -> Self {
        Self {
            deadline: Instant::now().checked_add(timeout),
            poll,
        }
    }

    /// Sleeps until the next try; `false` once the deadline has passed (give up).
    pub(crate) async fn next_try(&self) -> bool {
        let pause = match self.deadline {
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                self.poll.min(deadline - now)
            }
            None => self.poll,
        };
        tokio::time::sleep(pause).await;
        true
    }
}
