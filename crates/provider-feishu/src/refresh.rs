//! A user-access-token source that refreshes itself through Feishu's OAuth endpoint.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ticket_core::{ErrorKind, TicketError};
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderMap, HeaderValue};
use ticket_http::{
    BaseUrl, HttpOptions, PreparedRequest, RawResponse, RetryPolicy, Secrets, Transport, Url,
    bearer_token, clean_secret,
};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::store::{
    MemoryTokenStore, TokenSet, TokenStore, add_millis, unavailable, unix_millis_now,
};
use crate::{Region, UserTokenSource};

/// The refresh route.
pub const TOKEN_PATH: &str = "/open-apis/authen/v2/oauth/token";

/// The longest lifetime taken from a token answer (`expires_in`, `refresh_token_expires_in`):
/// 30 days. Larger figures (up to `u64::MAX`) are clamped to it, so no server number can
/// overflow a deadline; a token refused earlier is refreshed then anyway.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// OAuth error codes that mean the refresh token or the app credentials were refused.
const REFUSED_CODES: &[i64] = &[20002, 20010, 20026, 20037, 20064, 20073, 20074];
/// Of those, the ones about the app (client id or secret), not about the refresh token.
const CLIENT_CODES: &[i64] = &[20002, 20010];

/// What every refusal of the refresh token says: the chain is broken.
const BROKEN_CHAIN: &str = "the refresh token was refused: it was already used (a refresh whose \
    answer was lost, or another process that does not share this token store), revoked or \
    expired. The chain of refresh tokens is broken: authorize the user again and configure the \
    new refresh token (README: Feishu user access tokens, after a broken chain)";

/// What an update waits for a refresh beyond the store's lock timeout and the refresh request's
/// own timeouts: the store's reads and writes.
const STORE_SLACK: Duration = Duration::from_secs(5);
/// The first pause before a background write-back attempt; it doubles after each failure.
const WRITE_BACK_FIRST: Duration = Duration::from_millis(250);
/// The longest pause between background write-back attempts.
const WRITE_BACK_MAX: Duration = Duration::from_secs(5);
/// How many refresh tokens a source remembers having rotated away from.
const SPENT_MEMORY: usize = 32;

type RotateHook = Arc<dyn Fn(&SecretString) + Send + Sync>;
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
/// - **A shared chain:** the token set lives in a [`TokenStore`] ([`MemoryTokenStore`] by
///   default; [`FileTokenStore`](crate::FileTokenStore) for several processes on one host;
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

struct Inner {
    /// This source, for the background write-back task it may spawn.
    me: Weak<Inner>,
    app_id: String,
    app_secret: SecretString,
    url: Url,
    transport: Transport,
    margin: Duration,
    on_rotate: Option<RotateHook>,
    store: Arc<dyn TokenStore>,
    cache: Mutex<Cache>,
    refreshes: AtomicU64,
    /// How long an update waits for a refresh.
    wait_bound: Duration,
    /// Serializes this source's own work on the store (a refresh, a background write-back), so
    /// that each decides from what the other left, whatever a custom store's lock does.
    serial: tokio::sync::Mutex<()>,
}

struct Cache {
    access: Option<SecretString>,
    /// When to refresh proactively (`None`: keep the token until Feishu refuses it).
    refresh_at: Option<Instant>,
    /// The configured refresh token: used only while neither the store nor this source holds a
    /// set.
    seed: Option<SecretString>,
    /// The newest set this source knows: from its own refresh, or taken from the store.
    newest: Option<TokenSet>,
    /// Refresh tokens this source rotated away from, oldest first: a store holding one is stale.
    spent: VecDeque<SecretString>,
    /// The store may not hold `newest` (a save or another store operation failed): write it back
    /// at the next chance.
    unsaved: bool,
    /// A background write-back task is running.
    writing_back: bool,
    /// The refresh in flight, if any: its outcome arrives on this channel.
    inflight: Option<watch::Receiver<Option<Outcome>>>,
}

/// What to do about the store, from what it holds and what this source knows.
#[derive(Debug)]
enum Plan {
    /// Neither holds a set: refresh with the configured seed.
    Seed,
    /// The store holds this source's newest set.
    InSync(TokenSet),
    /// The store holds another writer's set (an operator's, another process's): use it.
    Adopt(TokenSet),
    /// The store is empty or holds a set this source already spent: write the newest back,
    /// replacing what is stored only if it is still `expected`.
    WriteBack {
        expected: SecretString,
        set: TokenSet,
    },
}

/// Decides between the store's set and this source's newest one. Only a set this source knows
/// to be spent (or an empty store) is replaced: anything else may be newer.
fn plan(
    stored: Option<&TokenSet>,
    newest: Option<&TokenSet>,
    spent: &VecDeque<SecretString>,
) -> Plan {
    let same = |a: &SecretString, b: &SecretString| a.expose_secret() == b.expose_secret();
    match (stored, newest) {
        (None, None) => Plan::Seed,
        (None, Some(n)) => Plan::WriteBack {
            expected: n.refresh_token.clone(),
            set: n.clone(),
        },
        (Some(s), Some(n)) if same(&s.refresh_token, &n.refresh_token) => Plan::InSync(n.clone()),
        (Some(s), Some(n)) if spent.iter().any(|t| same(t, &s.refresh_token)) => Plan::WriteBack {
            expected: s.refresh_token.clone(),
            set: n.clone(),
        },
        (Some(s), _) => Plan::Adopt(s.clone()),
    }
}

/// Whether `err` is Feishu refusing the refresh token itself (the chain is broken there).
fn refused_refresh_token(err: &TicketError) -> bool {
    err.kind() == ticket_core::ErrorKind::Unauthenticated
        && err
            .server()
            .and_then(|s| s.code.as_ref())
            .and_then(|c| c.as_i64())
            .is_some_and(|c| REFUSED_CODES.contains(&c) && !CLIENT_CODES.contains(&c))
}

impl Cache {
    fn fresh_access(&self) -> Option<SecretString> {
        let access = self.access.as_ref()?;
        match self.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(access.clone()),
        }
    }
}

impl fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("app_id", &self.inner.app_id)
            .field("app_secret", &"<redacted>")
            .field("url", &self.inner.url)
            .field("margin", &self.inner.margin)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RefreshingToken`].
#[must_use]
pub struct RefreshingTokenBuilder {
    app_id: String,
    app_secret: String,
    refresh_token: String,
    access_token: Option<(String, Option<Duration>)>,
    base_url: String,
    margin: Duration,
    http: HttpOptions,
    on_rotate: Option<RotateHook>,
    store: Option<Arc<dyn TokenStore>>,
}

impl fmt::Debug for RefreshingTokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingTokenBuilder")
            .field("app_id", &self.app_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A lifetime in seconds from a token answer, clamped to `0..=MAX_TOKEN_LIFETIME`: any JSON
/// number is accepted (negative as 0, fractions rounded down, `u64::MAX` and beyond clamped).
pub(crate) fn server_lifetime(value: &Value) -> Option<Duration> {
    let max = MAX_TOKEN_LIFETIME.as_secs();
    let secs = match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.min(max),
            (None, Some(_), _) => 0,
            // Finite by construction (JSON has no NaN); `as` saturates.
            (None, None, Some(f)) => (f.max(0.0) as u64).min(max),
            _ => return None,
        },
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// How long after issue to refresh: the lifetime less the margin, the margin being at most half
/// the lifetime.
pub(crate) fn refresh_delay(lifetime: Duration, margin: Duration) -> Duration {
    lifetime.saturating_sub(margin.min(lifetime / 2))
}

/// `now + d`, or `None` (never) if that overflows.
fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

impl RefreshingToken {
    /// Starts a builder from the app's id (`client_id`) and secret and the current refresh
    /// token. With a [`store`](RefreshingTokenBuilder::store) the refresh token may be empty:
    /// the store's is used (and one configured here, the seed, is used only while neither the
    /// store nor this source holds a token set).
    pub fn builder(
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> RefreshingTokenBuilder {
        RefreshingTokenBuilder {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            refresh_token: refresh_token.into(),
            access_token: None,
            base_url: Region::Feishu.base_url().to_owned(),
            margin: Duration::from_secs(300),
            http: HttpOptions::default(),
            on_rotate: None,
            store: None,
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
        tokio::spawn(async move {
            let outcome = inner.refresh(rejected).await.map_err(Arc::new);
            inner.cache().inflight = None;
            tx.send_replace(Some(outcome));
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
    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `set` as the one in force: the store holds it (it was read there, or written).
    fn take(&self, set: &TokenSet) {
        let now_ms = unix_millis_now();
        let mut cache = self.cache();
        cache.access = set.access_token.clone();
        cache.refresh_at = set.refresh_after_ms.and_then(|at| {
            let wait = Duration::from_millis(at.saturating_sub(now_ms));
            deadline(Instant::now(), wait)
        });
        cache.newest = Some(set.clone());
        cache.unsaved = false;
    }

    /// A store operation failed: the store may have lost this source's newest set (Redis
    /// restarted empty, a save that did not land). Remember to write it back, and start trying
    /// in the background.
    fn store_failed(&self) {
        let mut cache = self.cache();
        if cache.newest.is_none() {
            return;
        }
        cache.unsaved = true;
        if cache.writing_back {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        cache.writing_back = true;
        let me = self.me.clone();
        runtime.spawn(write_back_loop(me));
    }

    /// Under the store's lock: reads the store and brings it and this source to the same,
    /// newest set, which it returns (`None`: neither holds one, the seed is next).
    async fn sync_with_store(&self) -> Result<Option<TokenSet>, TicketError> {
        let stored = match self.store.load().await {
            Ok(stored) => stored,
            Err(e) => {
                self.store_failed();
                return Err(e);
            }
        };
        let plan = {
            let cache = self.cache();
            plan(stored.as_ref(), cache.newest.as_ref(), &cache.spent)
        };
        match plan {
            Plan::Seed => Ok(None),
            Plan::InSync(set) => {
                self.cache().unsaved = false;
                Ok(Some(set))
            }
            Plan::Adopt(set) => {
                self.take(&set);
                Ok(Some(set))
            }
            Plan::WriteBack { expected, set } => {
                match self.store.compare_and_swap(&expected, &set).await {
                    Ok(true) => {
                        self.cache().unsaved = false;
                        tracing::warn!(
                            provider = crate::PROVIDER,
                            store = ?self.store,
                            "the token store was empty or held a refresh token this process had \
                             already used; wrote this process's newer token set back"
                        );
                        Ok(Some(set))
                    }
                    Ok(false) => {
                        self.store_failed();
                        Err(unavailable(
                            format!(
                                "the Feishu token store {:?} changed while this process wrote its \
                                 newer token set back; no token refresh was attempted",
                                self.store
                            ),
                            None,
                        ))
                    }
                    Err(e) => {
                        self.store_failed();
                        Err(e)
                    }
                }
            }
        }
    }

    /// One background write-back attempt: lock, read, write back if the store is behind.
    async fn write_back(&self) -> Result<(), TicketError> {
        let _lock = self.store.lock().await?;
        let _serial = self.serial.lock().await;
        if !self.cache().unsaved {
            return Ok(());
        }
        self.sync_with_store().await.map(|_| ())
    }

    /// The refresh task: lock, re-read (writing this source's newer set back if the store is
    /// behind), refresh if still needed, save.
    async fn refresh(&self, rejected: Option<SecretString>) -> Result<(), TicketError> {
        let _lock = self
            .store
            .lock()
            .await
            .inspect_err(|_| self.store_failed())?;
        let _serial = self.serial.lock().await;
        let current = self.sync_with_store().await?;
        let usable = |set: &TokenSet, now_ms: u64| {
            let refused = match (&rejected, &set.access_token) {
                (Some(r), Some(a)) => r.expose_secret() == a.expose_secret(),
                _ => false,
            };
            set.access_is_fresh(now_ms) && !refused
        };
        if let Some(set) = &current
            && usable(set, unix_millis_now())
        {
            self.take(set);
            tracing::debug!(
                provider = crate::PROVIDER,
                "reused the access token in the token store"
            );
            return Ok(());
        }
        let (from, access) = {
            let cache = self.cache();
            let from = match &current {
                Some(set) => set.refresh_token.clone(),
                None => cache.seed.clone().ok_or_else(|| {
                    TicketError::config(
                        "no Feishu refresh token: the token store is empty and none was configured",
                    )
                })?,
            };
            (from, cache.access.clone())
        };
        let issued_at = Instant::now();
        let issued_ms = unix_millis_now();
        let fresh = match self.request(&from, access.as_ref()).await {
            Ok(fresh) => fresh,
            Err(err) => {
                if refused_refresh_token(&err) {
                    // A dead set is never written back anywhere.
                    let mut cache = self.cache();
                    if cache
                        .newest
                        .as_ref()
                        .is_some_and(|n| n.refresh_token.expose_secret() == from.expose_secret())
                    {
                        cache.newest = None;
                        cache.unsaved = false;
                    }
                }
                // Another process may have refreshed meanwhile (a lease that ran out): use its
                // set if it is fresh and not one this source already spent.
                if let Ok(Some(set)) = self.store.load().await {
                    let spent = {
                        let cache = self.cache();
                        cache
                            .spent
                            .iter()
                            .any(|t| t.expose_secret() == set.refresh_token.expose_secret())
                    };
                    if set.refresh_token.expose_secret() != from.expose_secret()
                        && !spent
                        && usable(&set, unix_millis_now())
                    {
                        self.take(&set);
                        return Ok(());
                    }
                }
                if err.may_have_applied() {
                    tracing::warn!(
                        provider = crate::PROVIDER,
                        error = %err,
                        "the token refresh may have reached Feishu without its answer: if it did, \
                         the refresh token is consumed and the next refresh reports a broken chain"
                    );
                }
                return Err(err);
            }
        };
        let delay = refresh_delay(fresh.lifetime, self.margin);
        let set = TokenSet {
            refresh_token: fresh.refresh_token.clone(),
            access_token: Some(fresh.access_token.clone()),
            expires_at_ms: Some(add_millis(issued_ms, fresh.lifetime)),
            refresh_after_ms: Some(add_millis(issued_ms, delay)),
            refresh_expires_at_ms: fresh.refresh_lifetime.map(|l| add_millis(issued_ms, l)),
        };
        {
            // Memory first: whatever happens to the store, this process keeps the new set and
            // remembers that `from` is spent.
            let mut cache = self.cache();
            cache.access = Some(fresh.access_token);
            cache.refresh_at = deadline(issued_at, delay);
            cache.newest = Some(set.clone());
            cache.unsaved = true;
            if cache.spent.len() == SPENT_MEMORY {
                cache.spent.pop_front();
            }
            cache.spent.push_back(from.clone());
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = &self.on_rotate {
            hook(&set.refresh_token);
        }
        tracing::debug!(
            provider = crate::PROVIDER,
            lifetime_s = fresh.lifetime.as_secs(),
            "user access token refreshed"
        );
        match self.store.compare_and_swap(&from, &set).await {
            Ok(saved) => {
                self.cache().unsaved = false;
                if !saved {
                    // Someone replaced the set we refreshed from (an operator's new refresh
                    // token, or a lease that ran out): leave theirs, keep ours in memory.
                    tracing::warn!(
                        provider = crate::PROVIDER,
                        store = ?self.store,
                        "the token store changed during the refresh; kept its set and this process's new one in memory"
                    );
                }
            }
            Err(e) => {
                // The access token is valid: this update proceeds. The set stays in memory,
                // authoritative, and is written back at the next chance.
                tracing::warn!(
                    provider = crate::PROVIDER,
                    store = ?self.store,
                    error = %e,
                    "Feishu rotated the refresh token but the new token set could not be saved; \
                     this process keeps it and writes it back when the store works again (other \
                     processes sharing the store cannot refresh until then)"
                );
                self.store_failed();
            }
        }
        Ok(())
    }

    /// Sends the refresh request once and reads the answer.
    async fn request(
        &self,
        refresh_token: &SecretString,
        access: Option<&SecretString>,
    ) -> Result<Fresh, TicketError> {
        #[derive(Serialize)]
        struct Request<'a> {
            grant_type: &'a str,
            client_id: &'a str,
            client_secret: &'a str,
            refresh_token: &'a str,
        }
        let body = serde_json::to_vec(&Request {
            grant_type: "refresh_token",
            client_id: &self.app_id,
            client_secret: self.app_secret.expose_secret(),
            refresh_token: refresh_token.expose_secret(),
        })
        .map_err(|e| TicketError::config(format!("cannot encode the refresh request: {e}")))?;
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        // The app secret is registered by the builder; the tokens may come from the store
        // (another process wrote them): registered here, before anything can quote them.
        self.transport
            .secrets()
            .add_received(refresh_token.expose_secret());
        if let Some(access) = access {
            self.transport
                .secrets()
                .add_received(access.expose_secret());
        }
        let request = PreparedRequest::new(Method::POST, self.url.clone(), headers, body);
        let response = self.transport.send(&request).await?;
        // Every token in the answer is registered with the transport's secrets before it is
        // parsed, so that no error about it (a wrongly typed `expires_in`, a missing field) can
        // show the new tokens.
        if let Ok(value) = serde_json::from_slice::<Value>(&response.body) {
            register_tokens(&value, self.transport.secrets());
        }
        decode(&response).map_err(|e| self.transport.secrets().scrub_error(e))
    }
}

/// Retries writing a source's newest set back while the store may lack it, pausing from
/// [`WRITE_BACK_FIRST`] up to [`WRITE_BACK_MAX`]; ends when the store holds it, when there is
/// nothing to write any more, or when the source is dropped.
async fn write_back_loop(me: Weak<Inner>) {
    let mut pause = WRITE_BACK_FIRST;
    loop {
        tokio::time::sleep(pause).await;
        let Some(inner) = me.upgrade() else { return };
        if let Err(e) = inner.write_back().await {
            tracing::debug!(
                provider = crate::PROVIDER,
                store = ?inner.store,
                error = %e,
                "background write-back of the token set failed; trying again"
            );
        }
        let mut cache = inner.cache();
        if !cache.unsaved || cache.newest.is_none() {
            cache.writing_back = false;
            return;
        }
        pause = (pause * 2).min(WRITE_BACK_MAX);
    }
}

/// Registers every string under a key ending in `token`, at any depth, as received.
fn register_tokens(value: &Value, secrets: &Secrets) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                match value.as_str() {
                    Some(token) if key.ends_with("token") => secrets.add_received(token),
                    _ => register_tokens(value, secrets),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| register_tokens(v, secrets)),
        _ => {}
    }
}

/// Reads a token answer; the response's secrets are scrubbed from any excerpt.
pub(crate) fn decode(response: &RawResponse) -> Result<Fresh, TicketError> {
    #[derive(Deserialize)]
    struct Answer {
        code: Option<i64>,
        access_token: Option<String>,
        expires_in: Option<Value>,
        refresh_token: Option<String>,
        refresh_token_expires_in: Option<Value>,
        error: Option<String>,
        error_description: Option<String>,
        msg: Option<String>,
    }
    let Some(answer) = serde_json::from_slice::<Answer>(&response.body).ok() else {
        if response.is_success() {
            return Err(response.malformed(crate::PROVIDER, "token refresh answer is not JSON"));
        }
        let message = response.fallback_message();
        return Err(response.to_error(crate::PROVIDER, None, None, message, None));
    };
    if response.is_success() && answer.code == Some(0) {
        let lifetime = answer.expires_in.as_ref().and_then(server_lifetime);
        return match (answer.access_token, lifetime, answer.refresh_token) {
            (Some(access), Some(lifetime), Some(refresh))
                if !access.is_empty() && !refresh.is_empty() =>
            {
                Ok(Fresh {
                    access_token: access.into(),
                    refresh_token: refresh.into(),
                    lifetime,
                    refresh_lifetime: answer
                        .refresh_token_expires_in
                        .as_ref()
                        .and_then(server_lifetime),
                })
            }
            _ => Err(response.malformed(
                crate::PROVIDER,
                "token refresh answer lacks access_token, expires_in or refresh_token",
            )),
        };
    }
    let text = [answer.error, answer.error_description.or(answer.msg)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let mut message = if text.is_empty() {
        response.fallback_message()
    } else {
        response.message(Some(&format!("token refresh refused: {text}")))
    };
    let refused = answer.code.filter(|c| REFUSED_CODES.contains(c));
    if refused.is_some_and(|c| !CLIENT_CODES.contains(&c)) {
        message = format!("{message}; {BROKEN_CHAIN}");
    }
    let class = refused.map(|_| ErrorKind::Unauthenticated);
    Err(response.to_error(
        crate::PROVIDER,
        class,
        answer.code.map(Into::into),
        message,
        None,
    ))
}

pub(crate) struct Fresh {
    access_token: SecretString,
    refresh_token: SecretString,
    lifetime: Duration,
    refresh_lifetime: Option<Duration>,
}

impl RefreshingTokenBuilder {
    /// A current access token and, if known, how long it stays valid (without a lifetime it is
    /// used until Feishu refuses it). Without one, the first update refreshes first (or reuses
    /// a fresh access token from the store).
    pub fn access_token(mut self, token: impl Into<String>, expires_in: Option<Duration>) -> Self {
        self.access_token = Some((token.into(), expires_in));
        self
    }

    /// Refreshes through `region`'s host (default: Feishu).
    pub fn region(mut self, region: Region) -> Self {
        self.base_url = region.base_url().to_owned();
        self
    }

    /// Refreshes through an explicit base URL (`https://`, or `http://` to loopback).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Refreshes this long before expiry (default 5 minutes; at most half a token's lifetime).
    pub fn safety_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Timeouts and size cap of the refresh request (its retry policy is always disabled).
    pub fn http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Shares the token set through `store` (default: a [`MemoryTokenStore`] of its own).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Called with every new refresh token, before it is used. The token set is also saved to
    /// the [`store`](Self::store); this hook is for anything else (an audit log, a secret
    /// manager). Keep it quick.
    pub fn on_rotate(mut self, hook: impl Fn(&SecretString) + Send + Sync + 'static) -> Self {
        self.on_rotate = Some(Arc::new(hook));
        self
    }

    /// Checks the settings and builds the source.
    ///
    /// Surrounding whitespace is trimmed from every value (and a leading `Bearer ` from the
    /// access token); errors name the value, never quote it.
    pub fn build(mut self) -> Result<RefreshingToken, TicketError> {
        self.app_id = self.app_id.trim().to_owned();
        if self.app_id.is_empty() {
            return Err(TicketError::config("the Feishu app id is empty"));
        }
        self.app_secret = clean_secret(&self.app_secret, "the Feishu app secret")?;
        // With a store, the refresh token may come from the store alone.
        if self.store.is_none() || !self.refresh_token.trim().is_empty() {
            self.refresh_token = clean_secret(&self.refresh_token, "the Feishu refresh token")?;
        }
        if let Some((token, _)) = &mut self.access_token
            && !token.trim().is_empty()
        {
            *token = bearer_token(token, "the Feishu user access token")?;
        }
        let base = BaseUrl::parse(&self.base_url)?;
        // The app secret and every refresh and access token, configured or received, are
        // scrubbed from the refresh's errors and logs.
        let secrets = Secrets::new();
        secrets.add(&self.app_secret);
        secrets.add_received(&self.refresh_token);
        if let Some((token, _)) = &self.access_token {
            secrets.add_received(token);
        }
        // One refresh request at most: connecting, then the answer.
        let request_wait = self
            .http
            .connect_timeout
            .saturating_add(self.http.request_timeout);
        let transport = Transport::new(
            crate::PROVIDER,
            self.http.retry(RetryPolicy::disabled()),
            &["x-tt-logid"],
        )?
        .with_secrets(secrets);
        let now = Instant::now();
        let (access, refresh_at) = match self.access_token {
            Some((token, lifetime)) if !token.is_empty() => (
                Some(SecretString::from(token)),
                lifetime.and_then(|l| deadline(now, refresh_delay(l, self.margin))),
            ),
            _ => (None, None),
        };
        let seed = (!self.refresh_token.is_empty()).then(|| SecretString::from(self.refresh_token));
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let wait_bound = store
            .lock_timeout()
            .saturating_add(request_wait)
            .saturating_add(STORE_SLACK);
        let url = Url::parse(&base.join(TOKEN_PATH))
            .map_err(|e| TicketError::config(format!("bad token URL: {e}")))?;
        Ok(RefreshingToken {
            inner: Arc::new_cyclic(|me| Inner {
                me: me.clone(),
                app_id: self.app_id,
                app_secret: self.app_secret.into(),
                url,
                transport,
                margin: self.margin,
                on_rotate: self.on_rotate,
                store,
                cache: Mutex::new(Cache {
                    access,
                    refresh_at,
                    seed,
                    newest: None,
                    spent: VecDeque::new(),
                    unsaved: false,
                    writing_back: false,
                    inflight: None,
                }),
                refreshes: AtomicU64::new(0),
                wait_bound,
                serial: tokio::sync::Mutex::new(()),
            }),
        })
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
        Some(self.inner.transport.secrets().clone())
    }

    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        let rx = {
            let mut cache = self.inner.cache();
            // Another update already replaced the refused token: use the new one.
            if cache
                .access
                .as_ref()
                .is_some_and(|c| c.expose_secret() != rejected.expose_secret())
            {
                return Ok(true);
            }
            self.join_or_start(&mut cache, Some(rejected.clone()))
        };
        self.wait(rx).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn answer(expires_in: &str, refresh_expires_in: &str) -> RawResponse {
        let body = format!(
            r#"{{"code":0,"access_token":"u-1","expires_in":{expires_in},"refresh_token":"ur-1","refresh_token_expires_in":{refresh_expires_in}}}"#
        );
        RawResponse::new(200, HeaderMap::new(), body.into_bytes(), None)
    }

    fn set(refresh: &str) -> TokenSet {
        TokenSet::new(refresh).with_access_token(format!("u-{refresh}"), Some(10), Some(5))
    }

    fn spent(tokens: &[&str]) -> VecDeque<SecretString> {
        tokens.iter().map(|t| SecretString::from(*t)).collect()
    }

    /// What [`plan`] decides, in short: the set it keeps and, for a write-back, what it expects.
    fn decide(stored: Option<&str>, newest: Option<&str>, spent_tokens: &[&str]) -> String {
        let (stored, newest) = (stored.map(set), newest.map(set));
        match plan(stored.as_ref(), newest.as_ref(), &spent(spent_tokens)) {
            Plan::Seed => "seed".to_owned(),
            Plan::InSync(s) => format!("in sync {}", s.refresh_token.expose_secret()),
            Plan::Adopt(s) => format!("adopt {}", s.refresh_token.expose_secret()),
            Plan::WriteBack { expected, set } => format!(
                "write back {} over {}",
                set.refresh_token.expose_secret(),
                expected.expose_secret()
            ),
        }
    }

    #[test]
    fn the_store_is_repaired_only_when_it_is_provably_behind() {
        // Nothing anywhere: the configured seed.
        assert_eq!(decide(None, None, &[]), "seed");
        // A cold start takes the store's set, whatever it is.
        assert_eq!(decide(Some("r1"), None, &["r0"]), "adopt r1");
        // The store came back empty: this source's set goes back (into an empty store).
        assert_eq!(decide(None, Some("r2"), &["r1"]), "write back r2 over r2");
        // The store holds what this source holds.
        assert_eq!(decide(Some("r2"), Some("r2"), &["r1"]), "in sync r2");
        // The store holds a token this source rotated away from (a failed save, a restored
        // snapshot): stale, so this source's newer set replaces exactly that one.
        assert_eq!(
            decide(Some("r1"), Some("r2"), &["r1"]),
            "write back r2 over r1"
        );
        assert_eq!(
            decide(Some("r0"), Some("r2"), &["r0", "r1"]),
            "write back r2 over r0"
        );
        // Anything else is another writer's (another process's refresh, an operator's new
        // token): it may be newer, so it is adopted, never overwritten.
        assert_eq!(decide(Some("r3"), Some("r2"), &["r1"]), "adopt r3");
        assert_eq!(decide(Some("op"), Some("r2"), &["r1"]), "adopt op");
    }

    #[test]
    fn odd_lifetimes_are_clamped_not_refused() {
        for (text, secs) in [
            ("-5", 0),
            ("7.9", 7),
            ("1e300", MAX_TOKEN_LIFETIME.as_secs()),
            (
                "340282366920938463463374607431768211456",
                MAX_TOKEN_LIFETIME.as_secs(),
            ),
        ] {
            let fresh = decode(&answer(text, text)).unwrap();
            assert_eq!(fresh.lifetime, Duration::from_secs(secs), "{text}");
            assert_eq!(fresh.refresh_lifetime, Some(Duration::from_secs(secs)));
        }
        assert!(decode(&answer("\"soon\"", "1")).is_err());
    }

    proptest! {
        /// Every u64 `expires_in` / `refresh_token_expires_in` gives a clamped lifetime whose
        /// deadlines (in memory and in the store) are computed without a panic.
        #[test]
        fn every_u64_lifetime_is_clamped(
            secs in any::<u64>(),
            refresh_secs in any::<u64>(),
            margin in any::<u64>(),
        ) {
            let fresh = decode(&answer(&secs.to_string(), &refresh_secs.to_string())).unwrap();
            prop_assert_eq!(fresh.lifetime.as_secs(), secs.min(MAX_TOKEN_LIFETIME.as_secs()));
            prop_assert_eq!(
                fresh.refresh_lifetime.unwrap().as_secs(),
                refresh_secs.min(MAX_TOKEN_LIFETIME.as_secs())
            );
            let delay = refresh_delay(fresh.lifetime, Duration::from_secs(margin));
            prop_assert!(delay <= fresh.lifetime);
            prop_assert!(deadline(Instant::now(), delay).is_some());
            let now_ms = unix_millis_now();
            prop_assert!(add_millis(now_ms, fresh.lifetime) >= now_ms);
            // The builder's own lifetime and margin take the same checked path.
            let built = RefreshingToken::builder("a", "s", "r")
                .safety_margin(Duration::from_secs(margin))
                .access_token("u", Some(Duration::from_secs(secs)))
                .build();
            prop_assert!(built.is_ok());
        }
    }
}
