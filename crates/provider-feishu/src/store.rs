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

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;

mod file;
#[cfg(feature = "redis")]
mod redis;

pub use self::file::FileTokenStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisTokenStore;

/// One Feishu token set: the refresh token and, when known, the access token it last produced.
///
/// Times are wall-clock milliseconds since the Unix epoch, since the set is shared between
/// processes. `Debug` never prints a token.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenSet {
    /// The current refresh token (single use: Feishu rotates it on every refresh).
    pub refresh_token: SecretString,
    /// The access token, if one was issued (or configured) with this refresh token.
    pub access_token: Option<SecretString>,
    /// When the access token expires (`None`: unknown, use it until Feishu refuses it).
    pub expires_at_ms: Option<u64>,
    /// When to refresh it proactively, a safety margin before `expires_at_ms`.
    pub refresh_after_ms: Option<u64>,
    /// When the refresh token itself expires, as Feishu said (`refresh_token_expires_in`).
    pub refresh_expires_at_ms: Option<u64>,
}

impl TokenSet {
    /// A set with only a refresh token (the first refresh gets an access token).
    pub fn new(refresh_token: impl Into<String>) -> Self {
        Self {
            refresh_token: SecretString::from(refresh_token.into()),
            access_token: None,
            expires_at_ms: None,
            refresh_after_ms: None,
            refresh_expires_at_ms: None,
        }
    }

    /// Adds an access token, its expiry and when to refresh it (Unix milliseconds).
    #[must_use]
    pub fn with_access_token(
        mut self,
        access_token: impl Into<String>,
        expires_at_ms: Option<u64>,
        refresh_after_ms: Option<u64>,
    ) -> Self {
        self.access_token = Some(SecretString::from(access_token.into()));
        self.expires_at_ms = expires_at_ms;
        self.refresh_after_ms = refresh_after_ms;
        self
    }

    /// Whether the access token is present and not yet due for a refresh at `now_ms`.
    pub fn access_is_fresh(&self, now_ms: u64) -> bool {
        self.access_token.is_some() && self.refresh_after_ms.is_none_or(|at| now_ms < at)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("refresh_token", &"<redacted>")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at_ms", &self.expires_at_ms)
            .field("refresh_after_ms", &self.refresh_after_ms)
            .field("refresh_expires_at_ms", &self.refresh_expires_at_ms)
            .finish()
    }
}

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
///   `expected` (or nothing is stored), and says whether it saved.
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

    /// Waits for the right to refresh.
    async fn lock(&self) -> Result<RefreshLock, TicketError>;
}

/// A token store in this process's memory: the default of
/// [`RefreshingToken`](crate::RefreshingToken). Clones share the same set, so several sources
/// in one process can share one chain.
#[derive(Clone, Default)]
pub struct MemoryTokenStore {
    set: Arc<Mutex<Option<TokenSet>>>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryTokenStore")
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        Ok(self.set.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    async fn compare_and_swap(
        &self,
        expected: &SecretString,
        new: &TokenSet,
    ) -> Result<bool, TicketError> {
        let mut set = self.set.lock().unwrap_or_else(|e| e.into_inner());
        if set
            .as_ref()
            .is_some_and(|s| s.refresh_token.expose_secret() != expected.expose_secret())
        {
            return Ok(false);
        }
        *set = Some(new.clone());
        Ok(true)
    }

    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        Ok(RefreshLock::new(Arc::clone(&self.lock).lock_owned().await))
    }
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_millis_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `now_ms + d`, saturating.
pub(crate) fn add_millis(now_ms: u64, d: Duration) -> u64 {
    now_ms.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
