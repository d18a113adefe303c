//! A user-access-token source that refreshes itself through Feishu's OAuth endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ticket_core::TicketError;
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderMap, HeaderValue};
use ticket_http::{
    BaseUrl, CodeClass, HttpOptions, PreparedRequest, RawResponse, RetryPolicy, Secrets, Transport,
    Url, clean_secret, strip_scheme,
};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::{Region, UserTokenSource};

/// The refresh route.
pub const TOKEN_PATH: &str = "/open-apis/authen/v2/oauth/token";

/// OAuth error codes that mean the refresh token or the app credentials were refused.
const REFUSED_CODES: &[i64] = &[20002, 20010, 20026, 20037, 20064, 20073, 20074];

type RotateHook = Arc<dyn Fn(&SecretString) + Send + Sync>;

/// Refreshes the user access token with `POST /open-apis/authen/v2/oauth/token`
/// (`grant_type=refresh_token`) a safety margin before it expires, and again when Feishu
/// refuses it.
///
/// - One refresh at a time: however many updates wait for a token, they share one refresh.
/// - Feishu rotates the refresh token on every refresh and the old one must not be reused:
///   every new refresh token is handed to the [`on_rotate`](RefreshingTokenBuilder::on_rotate)
///   hook (called before the new access token is used) so that you can persist it.
/// - The refresh request is sent once, never retried: a retry after a lost answer would
///   present an already-rotated refresh token.
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
    state: Mutex<State>,
}

struct State {
    access: Option<SecretString>,
    /// When to refresh proactively (`None`: keep the token until Feishu refuses it).
    refresh_at: Option<Instant>,
    refresh_token: SecretString,
    refreshes: u64,
}

impl fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("app_id", &self.inner.app_id)
            .field("app_secret", &"<redacted>")
            .field("url", &self.inner.url)
            .field("margin", &self.inner.margin)
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
    /// token.
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
        }
    }

    /// How many refreshes this source has made.
    pub async fn refreshes(&self) -> u64 {
        self.inner.state.lock().await.refreshes
    }

    /// Refreshes now, under the state lock.
    async fn refresh_locked(&self, state: &mut State) -> Result<(), TicketError> {
        let inner = &self.inner;
        #[derive(Serialize)]
        struct Request<'a> {
            grant_type: &'a str,
            client_id: &'a str,
            client_secret: &'a str,
            refresh_token: &'a str,
        }
        let body = serde_json::to_vec(&Request {
            grant_type: "refresh_token",
            client_id: &inner.app_id,
            client_secret: inner.app_secret.expose_secret(),
            refresh_token: state.refresh_token.expose_secret(),
        })
        .map_err(|e| TicketError::config(format!("cannot encode the refresh request: {e}")))?;
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let request = PreparedRequest::new(Method::POST, inner.url.clone(), headers, body);
        let response = inner.transport.send(&request).await?;
        let fresh = self
            .decode(&response)
            .map_err(|e| inner.transport.secrets().scrub_error(e))?;
        let now = Instant::now();
        state.refresh_at = Some(
            now + fresh
                .lifetime
                .saturating_sub(inner.margin.min(fresh.lifetime / 2)),
        );
        state.access = Some(fresh.access_token);
        state.refresh_token = fresh.refresh_token;
        state.refreshes += 1;
        if let Some(hook) = &inner.on_rotate {
            hook(&state.refresh_token);
        }
        tracing::debug!(
            provider = crate::PROVIDER,
            lifetime_s = fresh.lifetime.as_secs(),
            "user access token refreshed"
        );
        Ok(())
    }

    /// Reads the token answer. Every token it carries is registered with the transport's
    /// secrets first, so that no error about it (a wrongly typed `expires_in`, a missing
    /// field) can show the new tokens.
    fn decode(&self, response: &RawResponse) -> Result<Fresh, TicketError> {
        #[derive(Deserialize)]
        struct Answer {
            code: Option<i64>,
            access_token: Option<String>,
            expires_in: Option<u64>,
            refresh_token: Option<String>,
            error: Option<String>,
            error_description: Option<String>,
            msg: Option<String>,
        }
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&response.body) {
            register_tokens(&value, self.inner.transport.secrets());
        }
        let secrets: [&str; 0] = [];
        let Some(answer) = serde_json::from_slice::<Answer>(&response.body).ok() else {
            if response.is_success() {
                return Err(response.malformed(
                    crate::PROVIDER,
                    "token refresh answer is not JSON",
                    &secrets,
                ));
            }
            let message = response.fallback_message(&secrets);
            return Err(response.to_error(crate::PROVIDER, None, None, message, None));
        };
        if response.is_success() && answer.code == Some(0) {
            return match (answer.access_token, answer.expires_in, answer.refresh_token) {
                (Some(access), Some(lifetime), Some(refresh))
                    if !access.is_empty() && !refresh.is_empty() =>
                {
                    Ok(Fresh {
                        access_token: access.into(),
                        refresh_token: refresh.into(),
                        lifetime: Duration::from_secs(lifetime),
                    })
                }
                _ => Err(response.malformed(
                    crate::PROVIDER,
                    "token refresh answer lacks access_token, expires_in or refresh_token",
                    &secrets,
                )),
            };
        }
        let text = [answer.error, answer.error_description.or(answer.msg)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let message = if text.is_empty() {
            response.fallback_message(&secrets)
        } else {
            ticket_http::excerpt(
                format!("token refresh refused: {text}").as_bytes(),
                &secrets,
            )
        };
        let class = answer
            .code
            .filter(|c| REFUSED_CODES.contains(c))
            .map(|_| CodeClass::Unauthenticated);
        Err(response.to_error(crate::PROVIDER, class, answer.code, message, None))
    }
}

/// Registers every string under a key ending in `token`, at any depth, as received.
fn register_tokens(value: &serde_json::Value, secrets: &Secrets) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, value) in fields {
                match value.as_str() {
                    Some(token) if key.ends_with("token") => secrets.add_received(token),
                    _ => register_tokens(value, secrets),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| register_tokens(v, secrets)),
        _ => {}
    }
}

struct Fresh {
    access_token: SecretString,
    refresh_token: SecretString,
    lifetime: Duration,
}

impl RefreshingTokenBuilder {
    /// A current access token and, if known, how long it stays valid (without a lifetime it is
    /// used until Feishu refuses it). Without one, the first update refreshes first.
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

    /// Called with every new refresh token, before it is used: persist it, since the old one
    /// is now dead. Keep it quick; it runs while other updates wait for the token.
    pub fn on_rotate(mut self, hook: impl Fn(&SecretString) + Send + Sync + 'static) -> Self {
        self.on_rotate = Some(Arc::new(hook));
        self
    }

    /// Checks the settings and builds the source.
    /// Surrounding whitespace is trimmed from every value (and a leading `Bearer ` from the
    /// access token); errors name the value, never quote it.
    pub fn build(mut self) -> Result<RefreshingToken, TicketError> {
        self.app_id = self.app_id.trim().to_owned();
        if self.app_id.is_empty() {
            return Err(TicketError::config("the Feishu app id is empty"));
        }
        self.app_secret = clean_secret(&self.app_secret, "the Feishu app secret")?;
        self.refresh_token = clean_secret(&self.refresh_token, "the Feishu refresh token")?;
        if let Some((token, _)) = &mut self.access_token {
            *token = strip_scheme(token.trim(), "Bearer");
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
                lifetime.map(|l| now + l.saturating_sub(self.margin.min(l / 2))),
            ),
            _ => (None, None),
        };
        Ok(RefreshingToken {
            inner: Arc::new(Inner {
                app_id: self.app_id,
                app_secret: self.app_secret.into(),
                url: Url::parse(&base.join(TOKEN_PATH))
                    .map_err(|e| TicketError::config(format!("bad token URL: {e}")))?,
                transport,
                margin: self.margin,
                on_rotate: self.on_rotate,
                state: Mutex::new(State {
                    access,
                    refresh_at,
                    refresh_token: self.refresh_token.into(),
                    refreshes: 0,
                }),
            }),
        })
    }
}

#[async_trait]
impl UserTokenSource for RefreshingToken {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        let mut state = self.inner.state.lock().await;
        let due = state.refresh_at.is_some_and(|at| Instant::now() >= at);
        if state.access.is_none() || due {
            self.refresh_locked(&mut state).await?;
        }
        state
            .access
            .clone()
            .ok_or_else(|| TicketError::config("no Feishu user access token after refresh"))
    }

    fn secrets(&self) -> Option<Secrets> {
        Some(self.inner.transport.secrets().clone())
    }

    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        let mut state = self.inner.state.lock().await;
        let current = state.access.as_ref().map(|s| s.expose_secret());
        // Another update already replaced the refused token: use the new one.
        if current.is_some_and(|c| c != rejected.expose_secret()) {
            return Ok(true);
        }
        self.refresh_locked(&mut state).await?;
        Ok(true)
    }
}
