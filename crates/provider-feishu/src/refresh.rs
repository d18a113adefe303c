//! A user-access-token source that refreshes itself through Feishu's OAuth endpoint.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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

use crate::store::{MemoryTokenStore, TokenSet, TokenStore, add_millis, unix_millis_now};
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
///   with the stored refresh token, and saves the new set by compare-and-swap.
/// - **Never retried:** the refresh request is sent once; a retry after a lost answer would
///   present an already-rotated refresh token. After a failure the store is read again (another
///   process may have succeeded); a refused refresh token is an `Unauthenticated` error saying
///   that the chain is broken and the user must authorize again.
/// - **Saving fails loudly:** if the new set cannot be saved, that update fails with a
///   `Configuration` error naming the store, and the new set is kept in memory so that this
///   process keeps working.
#[derive(Clone)]
pub struct RefreshingToken {
    inner: Arc<Inner>,
}

struct Inner {
    app_id: String,
    app_secret: SecretString,
    url: Url,
    transport: Transport,
    margin: Duration,
    on_rotate: Option<RotateHook>,
    store: Arc<dyn TokenStore>,
    cache: Mutex<Cache>,
    refreshes: AtomicU64,
}

struct Cache {
    access: Option<SecretString>,
    /// When to refresh proactively (`None`: keep the token until Feishu refuses it).
    refresh_at: Option<Instant>,
    /// The refresh token this source knows of (the store's wins when it has one).
    refresh_token: Option<SecretString>,
    /// The refresh in flight, if any: its outcome arrives on this channel.
    inflight: Option<watch::Receiver<Option<Outcome>>>,
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
    /// the store's is used (and one configured here is used only while the store is empty).
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

    async fn wait(mut rx: watch::Receiver<Option<Outcome>>) -> Result<(), TicketError> {
        let outcome = rx
            .wait_for(Option::is_some)
            .await
            .map(|o| o.clone())
            .map_err(|_| {
                TicketError::config("the Feishu token refresh task ended without an answer")
            })?;
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

    /// Takes a stored set whose access token is fresh.
    fn adopt(&self, set: &TokenSet, now_ms: u64) {
        let mut cache = self.cache();
        cache.access = set.access_token.clone();
        cache.refresh_at = set.refresh_after_ms.and_then(|at| {
            let wait = Duration::from_millis(at.saturating_sub(now_ms));
            deadline(Instant::now(), wait)
        });
        cache.refresh_token = Some(set.refresh_token.clone());
    }

    /// The refresh task: lock, re-read, refresh if still needed, save.
    async fn refresh(&self, rejected: Option<SecretString>) -> Result<(), TicketError> {
        let _lock = self.store.lock().await?;
        let stored = self.store.load().await?;
        let usable = |set: &TokenSet, now_ms: u64| {
            let refused = match (&rejected, &set.access_token) {
                (Some(r), Some(a)) => r.expose_secret() == a.expose_secret(),
                _ => false,
            };
            set.access_is_fresh(now_ms) && !refused
        };
        if let Some(set) = &stored {
            let now_ms = unix_millis_now();
            if usable(set, now_ms) {
                self.adopt(set, now_ms);
                tracing::debug!(
                    provider = crate::PROVIDER,
                    "reused the access token another process refreshed"
                );
                return Ok(());
            }
        }
        let (from, access) = {
            let cache = self.cache();
            let from = match &stored {
                Some(set) => set.refresh_token.clone(),
                None => cache.refresh_token.clone().ok_or_else(|| {
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
                // Another process may have refreshed meanwhile (a lease that ran out): use its
                // set if it is fresh.
                if let Ok(Some(set)) = self.store.load().await {
                    let now_ms = unix_millis_now();
                    if set.refresh_token.expose_secret() != from.expose_secret()
                        && usable(&set, now_ms)
                    {
                        self.adopt(&set, now_ms);
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
            // Memory first: whatever happens to the store, this process keeps the new set.
            let mut cache = self.cache();
            cache.access = Some(fresh.access_token);
            cache.refresh_at = deadline(issued_at, delay);
            cache.refresh_token = Some(fresh.refresh_token);
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
            Ok(true) => Ok(()),
            Ok(false) => {
                // Someone replaced the set we refreshed from (an operator's new refresh token,
                // or a lease that ran out): leave theirs, keep ours in memory.
                tracing::warn!(
                    provider = crate::PROVIDER,
                    store = ?self.store,
                    "the token store changed during the refresh; kept its set and this process's new one in memory"
                );
                Ok(())
            }
            Err(e) => Err(TicketError::config(format!(
                "Feishu rotated the refresh token but the new token set could not be saved ({e}); \
                 this process keeps it in memory and keeps working, but other processes and the \
                 next start hold a dead refresh token until the store is fixed"
            ))),
        }
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
        let refresh_token =
            (!self.refresh_token.is_empty()).then(|| SecretString::from(self.refresh_token));
        Ok(RefreshingToken {
            inner: Arc::new(Inner {
                app_id: self.app_id,
                app_secret: self.app_secret.into(),
                url: Url::parse(&base.join(TOKEN_PATH))
                    .map_err(|e| TicketError::config(format!("bad token URL: {e}")))?,
                transport,
                margin: self.margin,
                on_rotate: self.on_rotate,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
                cache: Mutex::new(Cache {
                    access,
                    refresh_at,
                    refresh_token,
                    inflight: None,
                }),
                refreshes: AtomicU64::new(0),
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
        Self::wait(rx).await?;
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
        Self::wait(rx).await?;
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
