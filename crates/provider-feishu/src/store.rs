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
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use ticket_core::{Sent, TicketError};

mod file;
#[cfg(feature = "redis")]
mod redis;

pub use self::file::FileTokenStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisTokenStore;

/// How long a store's [`lock`](TokenStore::lock) waits for another holder by default: about one
/// refresh (the default connect timeout plus request timeout of the refresh request).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest token a store accepts; Feishu's are far shorter.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

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

/// A token store in this process's memory: the default of
/// [`RefreshingToken`](crate::RefreshingToken). Clones share the same set, so several sources
/// in one process can share one chain.
#[derive(Clone)]
pub struct MemoryTokenStore {
    set: Arc<Mutex<Option<TokenSet>>>,
    lock: Arc<tokio::sync::Mutex<()>>,
    lock_timeout: Duration,
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self {
            set: Arc::default(),
            lock: Arc::default(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long [`lock`](TokenStore::lock) waits for another holder (default
    /// [`DEFAULT_LOCK_TIMEOUT`]).
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
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
        tokio::time::timeout(self.lock_timeout, Arc::clone(&self.lock).lock_owned())
            .await
            .map(RefreshLock::new)
            .map_err(|_| lock_timed_out("in memory", self.lock_timeout))
    }

    fn lock_timeout(&self) -> Duration {
        self.lock_timeout
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

/// Why `token` cannot be a token a store holds, if it cannot: too long, or holding whitespace,
/// control or non-ASCII characters (every Feishu token is printable ASCII).
pub(crate) fn implausible_token(token: &str) -> Option<&'static str> {
    if token.len() > MAX_TOKEN_BYTES {
        Some("is longer than any Feishu token")
    } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Some("holds whitespace, control or non-ASCII characters")
    } else {
        None
    }
}

/// Whether `text` plausibly is one bare refresh token (the file format of earlier versions):
/// characters of URL-safe, base64 and JWT tokens only, so that an HTML page or other garbage is
/// never sent to Feishu as a token.
pub(crate) fn plausible_bare_token(text: &str) -> bool {
    !text.is_empty()
        && implausible_token(text).is_none()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=:".contains(&b))
}

/// The raw fields of a stored set, checked into a [`TokenSet`]: `Ok(None)` when the refresh
/// token is empty (nothing stored), `Err(why)` when a token is implausible. `why` never quotes
/// the contents.
pub(crate) fn checked_set(
    refresh_token: String,
    access_token: Option<String>,
    expires_at_ms: Option<u64>,
    refresh_after_ms: Option<u64>,
    refresh_expires_at_ms: Option<u64>,
) -> Result<Option<TokenSet>, String> {
    if refresh_token.is_empty() {
        return Ok(None);
    }
    if let Some(why) = implausible_token(&refresh_token) {
        return Err(format!("its refresh_token {why}"));
    }
    let access_token = access_token.filter(|t| !t.is_empty());
    if let Some(why) = access_token.as_deref().and_then(implausible_token) {
        return Err(format!("its access_token {why}"));
    }
    Ok(Some(TokenSet {
        refresh_token: refresh_token.into(),
        access_token: access_token.map(SecretString::from),
        expires_at_ms,
        refresh_after_ms,
        refresh_expires_at_ms,
    }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_tokens_are_read() {
        for token in ["ur-1", "eyJhbGciOi.eyJzdWIi.c2ln-_", "ur-a+b/c=="] {
            assert!(implausible_token(token).is_none(), "{token}");
            assert!(plausible_bare_token(token), "{token}");
        }
        // In JSON, any printable ASCII token is kept (Feishu's own answers are stored there).
        assert!(implausible_token("ur-<odd>").is_none());
        for token in [
            "ur a",
            "ur-\tb",
            "ur-\u{7f}",
            "ur-é",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert!(implausible_token(token).is_some(), "{token:?}");
            assert!(!plausible_bare_token(token), "{token:?}");
        }
        // A bare token (the legacy file format) must look like one: no markup, no quotes.
        for text in ["", "<html>", "<b>ur-1</b>", "\"ur-1\"", "ur-1;", "[ur-1]"] {
            assert!(!plausible_bare_token(text), "{text:?}");
        }
    }
}
