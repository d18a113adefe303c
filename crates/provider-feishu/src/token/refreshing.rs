//! The [`RefreshingToken`] source: the access token cached in memory, one refresh at a time on a
//! task the source owns, and bounded waits for it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use ticket_core::TicketError;
use ticket_http::Secrets;
use ticket_http::telemetry::{self, TokenKind};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::oauth::OAuth;
use super::store::{TokenSet, TokenStore, same_secret, unavailable, unix_millis_now};
use super::sync::SpentTokens;
use crate::UserTokenSource;

/// What an update waits for a refresh beyond the store's lock timeout and the refresh request's
/// own timeouts: the store's reads and writes.
const STORE_SLACK: Duration = Duration::from_secs(5);

/// Called with every new refresh token (the builder's `on_rotate`).
pub(super) type RotateHook = Arc<dyn Fn(&SecretString) + Send + Sync>;
/// A refresh's outcome, shared by every update waiting for it.
type Outcome = Result<(), Arc<TicketError>>;

/// Refreshes the user access token with `POST /open-apis/authen/v2/oauth/token`
/// (`grant_type=refresh_token`) a safety margin before it expires, and again when Feishu
/// refuses it.
///
/// - **The hot path is in memory:** while the cached access token is fresh, asking for it takes
///   a lock and a clone, nothing else.
/// - **One refresh, owned by the source:** the refresh runs on a task this source spawns, not in
///   the caller's future. Every waiting update shares that one refresh *and its outcome*; dropping
///   any number of them (a timeout, `select!`, an aborted handler) never loses a rotated token:
///   the refresh completes, its answer is saved, and the next update uses it.
/// - **A shared chain:** the token set lives in a [`TokenStore`]
///   ([`MemoryTokenStore`](crate::MemoryTokenStore) by default; [`FileTokenStore`](crate::FileTokenStore) for several processes on one host;
///   `RedisTokenStore` for several hosts). A refresh takes the store's lock, re-reads the set
///   (another process may have refreshed already: its fresh access token is reused), refreshes
///   with the newest refresh token (the store's, unless the store is behind this source: see
///   below), and saves the new set by compare-and-swap.
/// - **Never retried:** the refresh request is sent once; a retry after a lost answer would
///   present an already-rotated refresh token. After a failure the store is read again (another
///   process may have succeeded); a refused refresh token is an `Unauthenticated` error saying
///   that the chain is broken and the user must authorize again.
/// - **Refresh only under the store's lock:** a refresh rotates the refresh token irreversibly, so
///   it is made only after the store was locked and read. If the store cannot be locked or read
///   (Redis down, a lock held past [`TokenStore::lock_timeout`]), the update fails at once with a
///   retryable [`TicketError::Transport`] (`sent: Sent::No`) naming the store, and nothing is
///   sent to Feishu. While the cached access token is fresh, updates keep working without the
///   store.
/// - **A failed save never spends the chain:** the new set is kept in memory and stays
///   authoritative; that update proceeds (its access token is valid) with a `tracing` warning
///   naming the store. The source remembers the refresh tokens it rotated away from, so at its
///   next store interaction it can tell a *stale* store (empty, or holding a token this source
///   already spent: it writes its newer set back by compare-and-swap) from *another writer's*
///   set (an operator's new token, another process's refresh: it adopts that). Until the store
///   holds its newest set again it also retries in the background (from 250 ms, doubling, at
///   most every 5 s), so a replica repairs a store that came back empty without waiting for its
///   next expiry. Nothing newer is replaced by something older: a write-back only replaces a set
///   this source knows to be spent.
/// - **Every wait is bounded:** an update waits for a refresh at most the store's lock timeout
///   plus the refresh request's connect and request timeouts plus 5 s; past that it gets a
///   retryable [`TicketError::Transport`] and the refresh carries on in the background.
/// - **Cold start against an empty store:** a source that holds no set yet (a process just
///   started) can only use the configured refresh token, the seed. If the chain has moved on
///   (the store lost its data after refreshes), that seed is spent and Feishu refuses it: the
///   store must first be repaired by a running process that holds the newest set (it does so
///   at its next store interaction, within seconds if it saw the store fail), or the user
///   authorized again. A source also cannot know about refreshes made by *other* processes it
///   never saw: after a store loses its data, the replica holding the newest set is the one
///   that can repair it.
#[derive(Clone)]
pub struct RefreshingToken {
    inner: Arc<Inner>,
}

/// A source's state, shared with its refresh and write-back tasks.
pub(super) struct Inner {
    /// This source, for the background write-back task it may spawn.
    pub(super) me: Weak<Inner>,
    pub(super) oauth: OAuth,
    pub(super) margin: Duration,
    pub(super) on_rotate: Option<RotateHook>,
    pub(super) store: Arc<dyn TokenStore>,
    cache: Mutex<Cache>,
    pub(super) refreshes: AtomicU64,
    /// How long an update waits for a refresh.
    wait_bound: Duration,
    /// Serializes this source's own work on the store (a refresh, a background write-back), so
    /// that each decides from what the other left, whatever a custom store's lock does.
    pub(super) serial: tokio::sync::Mutex<()>,
}

/// What a source holds in memory; one lock guards it all.
pub(super) struct Cache {
    pub(super) access: Option<SecretString>,
    /// When to refresh proactively (`None`: keep the token until Feishu refuses it).
    refresh_at: Option<Instant>,
    /// The configured refresh token: used only while neither the store nor this source holds a
    /// set.
    pub(super) seed: Option<SecretString>,
    /// The newest set this source knows: from its own refresh, or taken from the store.
    pub(super) newest: Option<TokenSet>,
    /// Refresh tokens this source rotated away from: a store holding one is stale.
    pub(super) spent: SpentTokens,
    /// The store may not hold `newest` (a save or another store operation failed): write it back
    /// at the next chance.
    pub(super) unsaved: bool,
    /// A background write-back task is running.
    pub(super) writing_back: bool,
    /// The refresh in flight, if any: its outcome arrives on this channel.
    inflight: Option<watch::Receiver<Option<Outcome>>>,
}

impl Cache {
    /// A source's memory at start: the configured access token (refreshed at `refresh_at`) and
    /// refresh token, if any.
    pub(super) fn new(
        access: Option<SecretString>,
        refresh_at: Option<Instant>,
        seed: Option<SecretString>,
    ) -> Self {
        Self {
            access,
            refresh_at,
            seed,
            newest: None,
            spent: SpentTokens::default(),
            unsaved: false,
            writing_back: false,
            inflight: None,
        }
    }

    fn fresh_access(&self) -> Option<SecretString> {
        let access = self.access.as_ref()?;
        match self.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(access.clone()),
        }
    }

    /// Puts `set` in force: its access token until `refresh_at`, and it is the newest set this
    /// source knows (`unsaved`: the store may not hold it yet).
    pub(super) fn install(&mut self, set: &TokenSet, refresh_at: Option<Instant>, unsaved: bool) {
        self.access = set.access_token.clone();
        self.refresh_at = refresh_at;
        self.newest = Some(set.clone());
        self.unsaved = unsaved;
    }
}

/// `now + d`, or `None` (never) if that overflows.
pub(super) fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

impl fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("app_id", &self.inner.oauth.app_id)
            .field("app_secret", &"<redacted>")
            .field("url", &self.inner.oauth.url)
            .field("margin", &self.inner.margin)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl RefreshingToken {
    /// A source that refreshes through `oauth` and shares its set through `store`. An update
    /// waits for a refresh at most the store's lock timeout plus `request_wait` (one refresh
    /// request) plus the store's own reads and writes.
    pub(super) fn new(
        oauth: OAuth,
        store: Arc<dyn TokenStore>,
        margin: Duration,
        on_rotate: Option<RotateHook>,
        request_wait: Duration,
        cache: Cache,
    ) -> Self {
        let wait_bound = store
            .lock_timeout()
            .saturating_add(request_wait)
            .saturating_add(STORE_SLACK);
        Self {
            inner: Arc::new_cyclic(|me| Inner {
                me: me.clone(),
                oauth,
                margin,
                on_rotate,
                store,
                cache: Mutex::new(cache),
                refreshes: AtomicU64::new(0),
                wait_bound,
                serial: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// How many refreshes this source has made (successful refresh requests).
    pub async fn refreshes(&self) -> u64 {
        self.inner.refreshes.load(Ordering::Relaxed)
    }

    /// The store this source shares its token set through.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.inner.store
    }

    /// Joins the refresh in flight, or starts one on a task this source owns.
    fn join_or_start(
        &self,
        cache: &mut Cache,
        rejected: Option<SecretString>,
    ) -> watch::Receiver<Option<Outcome>> {
        if let Some(rx) = &cache.inflight {
            // A task that died without an answer (a panic) is replaced.
            if rx.has_changed().is_ok() {
                return rx.clone();
            }
        }
        let (tx, rx) = watch::channel(None);
        cache.inflight = Some(rx.clone());
        let inner = Arc::clone(&self.inner);
        // A child of the update that needed it (the first one, when several wait).
        let span = telemetry::token_refresh_span(crate::PROVIDER, TokenKind::User);
        tokio::spawn(async move {
            let result = inner.refresh(rejected).instrument(span.clone()).await;
            let done = result.as_ref().copied();
            telemetry::token_refreshed(&span, crate::PROVIDER, TokenKind::User, done);
            inner.cache().inflight = None;
            tx.send_replace(Some(result.map(drop).map_err(Arc::new)));
        });
        rx
    }

    /// Waits for the refresh's outcome, at most the source's wait bound: the refresh goes on
    /// without this caller (and the next update uses its outcome).
    async fn wait(&self, mut rx: watch::Receiver<Option<Outcome>>) -> Result<(), TicketError> {
        let bound = self.inner.wait_bound;
        let outcome = match tokio::time::timeout(bound, rx.wait_for(Option::is_some)).await {
            Ok(answer) => answer.map(|o| o.clone()).map_err(|_| {
                TicketError::config("the Feishu token refresh task ended without an answer")
            })?,
            Err(_) => {
                return Err(unavailable(
                    format!(
                        "the Feishu token refresh (token store {:?}) gave no answer within \
                         {bound:?}; it goes on in the background and a later update uses it",
                        self.inner.store
                    ),
                    None,
                ));
            }
        };
        match outcome {
            Some(Err(err)) => Err(TicketError::clone(&err)),
            _ => Ok(()),
        }
    }
}

impl Inner {
    pub(super) fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `set` as the one in force: the store holds it (it was read there, or written).
    pub(super) fn take(&self, set: &TokenSet) {
        let now_ms = unix_millis_now();
        let mut cache = self.cache();
        let refresh_at = set.refresh_after_ms.and_then(|at| {
            let wait = Duration::from_millis(at.saturating_sub(now_ms));
            deadline(Instant::now(), wait)
        });
        cache.install(set, refresh_at, false);
    }
}

#[async_trait]
impl UserTokenSource for RefreshingToken {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        let rx = {
            let mut cache = self.inner.cache();
            if let Some(token) = cache.fresh_access() {
                return Ok(token);
            }
            self.join_or_start(&mut cache, None)
        };
        self.wait(rx).await?;
        // Whatever its lifetime, the token just refreshed (or reused) is the one to send.
        self.inner
            .cache()
            .access
            .clone()
            .ok_or_else(|| TicketError::config("no Feishu user access token after refresh"))
    }

    fn secrets(&self) -> Option<Secrets> {
        Some(self.inner.oauth.secrets().clone())
    }

    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        let rx = {
            let mut cache = self.inner.cache();
            // Another update already replaced the refused token: use the new one.
            if cache
                .access
                .as_ref()
                .is_some_and(|c| !same_secret(c, rejected))
            {
                return Ok(true);
            }
            self.join_or_start(&mut cache, Some(rejected.clone()))
        };
        self.wait(rx).await?;
        Ok(true)
    }
}
