//! [`RefreshingTokenBuilder`]: the settings of a [`RefreshingToken`], checked once when it is
//! built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use ticket_core::TicketError;
use ticket_http::{BaseUrl, HttpOptions, Secrets, bearer_token, clean_secret};
use tokio::time::Instant;

use super::oauth::{OAuth, refresh_delay};
use super::refreshing::{Cache, RefreshingToken, RotateHook, deadline};
use super::store::{MemoryTokenStore, TokenStore};
use crate::Region;

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
        self.clean()?;
        let base = BaseUrl::parse(&self.base_url)?;
        let secrets = self.secrets();
        // One refresh request at most: connecting, then the answer.
        let request_wait = self
            .http
            .connect_timeout
            .saturating_add(self.http.request_timeout);
        let oauth = OAuth::new(
            self.app_id,
            self.app_secret.into(),
            &base,
            self.http,
            secrets,
        )?;
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
        Ok(RefreshingToken::new(
            oauth,
            store,
            self.margin,
            self.on_rotate,
            request_wait,
            Cache::new(access, refresh_at, seed),
        ))
    }

    /// Trims and checks every value in place; errors name the value, never quote it.
    fn clean(&mut self) -> Result<(), TicketError> {
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
        Ok(())
    }

    /// The app secret and every refresh and access token, configured or received, are
    /// scrubbed from the refresh's errors and logs.
    fn secrets(&self) -> Secrets {
        let secrets = Secrets::new();
        secrets.add(&self.app_secret);
        secrets.add_received(&self.refresh_token);
        if let Some((token, _)) = &self.access_token {
            secrets.add_received(token);
        }
        secrets
    }
}
