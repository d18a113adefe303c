//! The tenant access token, which Feishu's reads take (`api/feishu-tenant-access-token.md`):
//! made from the app's id and secret with
//! `POST /open-apis/auth/v3/tenant_access_token/internal`, cached in memory, shared by every
//! waiter, renewed when less than 30 minutes are left (Feishu hands out a new one only then)
//! and when a read refuses it.

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
use ticket_http::telemetry::{self, TokenKind, TokenOutcome};
use ticket_http::{
    BaseUrl, HttpOptions, PreparedRequest, RawResponse, Secrets, TokenSource, Transport, Url,
    clean_secret,
};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::Region;
use crate::token::{refresh_delay, server_lifetime};

/// The tenant token route of a self-built app.
pub const TENANT_TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";

/// A tenant token is renewed when less than this is left: Feishu hands out a new token only
/// then (with more left, the same one comes back). At most half a token's lifetime.
pub const TENANT_TOKEN_RENEW_BEFORE: Duration = Duration::from_secs(30 * 60);

/// Codes of the token endpoint that mean the app's credentials or state were refused
/// (generic error table: invalid parameter, tenant token failure, app unusable, wrong app
/// secret; "app secret invalid" as the live service words 10014).
const REFUSED_CODES: &[i64] = &[10003, 10013, 10014, 10015];

type Outcome = Result<(), Arc<TicketError>>;

/// The tenant access token of a self-built Feishu app, for reads: a [`TokenSource`] that
/// fetches it from the app's id and secret.
///
/// - **Cached in memory** for the life of the source, and asking for it while it is fresh takes
///   a lock and a clone.
/// - **One fetch for every waiter:** the fetch runs on a task of the source's own; every read
///   that needs the token meanwhile waits for that one fetch and shares its outcome (a failure
///   too), and dropping a waiter never cancels it.
/// - **Renewed** when less than [`TENANT_TOKEN_RENEW_BEFORE`] is left of the lifetime Feishu
///   stated (`expire`, whatever it is: from about 30 minutes to 2 hours), and when a read
///   refuses the token (`99991663`): once.
/// - **Never printed:** the app secret and every token received are scrubbed from this
///   source's errors and logs, and from those of the client it is shared with.
#[derive(Clone)]
pub struct TenantToken {
    inner: Arc<Inner>,
}

struct Inner {
    app_id: String,
    app_secret: SecretString,
    url: Url,
    transport: Transport,
    renew_before: Duration,
    state: Mutex<State>,
    fetches: AtomicU64,
}

#[derive(Default)]
struct State {
    token: Option<SecretString>,
    renew_at: Option<Instant>,
    inflight: Option<watch::Receiver<Option<Outcome>>>,
}

impl State {
    fn fresh(&self) -> Option<SecretString> {
        let token = self.token.as_ref()?;
        match self.renew_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(token.clone()),
        }
    }
}

impl fmt::Debug for TenantToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantToken")
            .field("app_id", &self.inner.app_id)
            .field("app_secret", &"<redacted>")
            .field("url", &self.inner.url.as_str())
            .field("renew_before", &self.inner.renew_before)
            .finish_non_exhaustive()
    }
}

/// Builds a [`TenantToken`].
#[must_use]
pub struct TenantTokenBuilder {
    app_id: String,
    app_secret: String,
    base_url: String,
    http: HttpOptions,
    client: Option<ticket_http::reqwest::Client>,
    renew_before: Duration,
    secrets: Option<Secrets>,
}

impl fmt::Debug for TenantTokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantTokenBuilder")
            .field("app_id", &self.app_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl TenantToken {
    /// Starts a builder from the app's id and secret.
    pub fn builder(app_id: impl Into<String>, app_secret: impl Into<String>) -> TenantTokenBuilder {
        TenantTokenBuilder {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            base_url: Region::Feishu.base_url().to_owned(),
            http: HttpOptions::default(),
            client: None,
            renew_before: TENANT_TOKEN_RENEW_BEFORE,
            secrets: None,
        }
    }

    /// How many tokens this source has fetched (successful requests to the token endpoint).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Joins the fetch in flight, or starts one on a task of this source's own.
    fn join_or_start(&self, state: &mut State) -> watch::Receiver<Option<Outcome>> {
        if let Some(rx) = &state.inflight {
            // A task that died without an answer (a panic) is replaced.
            if rx.has_changed().is_ok() {
                return rx.clone();
            }
        }
        let (tx, rx) = watch::channel(None);
        state.inflight = Some(rx.clone());
        let inner = Arc::clone(&self.inner);
        // A child of the read that needed it (the first one, when several wait).
        let span = telemetry::token_refresh_span(crate::PROVIDER, TokenKind::Tenant);
        tokio::spawn(async move {
            let result = inner.fetch().instrument(span.clone()).await;
            let done = result.as_ref().map(|()| TokenOutcome::Refreshed);
            telemetry::token_refreshed(&span, crate::PROVIDER, TokenKind::Tenant, done);
            inner.state().inflight = None;
            tx.send_replace(Some(result.map_err(Arc::new)));
        });
        rx
    }

    async fn wait(mut rx: watch::Receiver<Option<Outcome>>) -> Result<(), TicketError> {
        let outcome = rx
            .wait_for(Option::is_some)
            .await
            .map(|o| o.clone())
            .map_err(|_| {
                TicketError::config("the Feishu tenant token fetch ended without an answer")
            })?;
        match outcome {
            Some(Err(err)) => Err(TicketError::clone(&err)),
            _ => Ok(()),
        }
    }

    fn current(&self) -> Result<SecretString, TicketError> {
        self.inner
            .state()
            .token
            .clone()
            .ok_or_else(|| TicketError::config("no Feishu tenant access token after a fetch"))
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the endpoint for the token and keeps it.
    async fn fetch(&self) -> Result<(), TicketError> {
        #[derive(Serialize)]
        struct Request<'a> {
            app_id: &'a str,
            app_secret: &'a str,
        }
        let body = serde_json::to_vec(&Request {
            app_id: &self.app_id,
            app_secret: self.app_secret.expose_secret(),
        })
        .map_err(|e| TicketError::config(format!("cannot encode the tenant token request: {e}")))?;
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let request = || {
            PreparedRequest::new(
                Method::POST,
                self.url.clone(),
                headers.clone(),
                body.clone(),
            )
            .with_url_template(self.url.path())
        };
        let issued_at = Instant::now();
        let decode = |response: &RawResponse| {
            // Every token in the answer is registered before it is parsed, so that no error
            // about the answer can show it.
            if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&response.body)
                && let Some(token) = fields.get("tenant_access_token").and_then(Value::as_str)
            {
                self.transport.secrets().add_received(token);
            }
            decode(response)
        };
        let executed = self
            .transport
            .execute("tenant_token", request(), || Ok(request()), decode)
            .await?;
        let (token, lifetime) = executed.value;
        let delay = refresh_delay(lifetime, self.renew_before);
        {
            let mut state = self.state();
            state.token = Some(token);
            state.renew_at = issued_at.checked_add(delay);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            provider = crate::PROVIDER,
            lifetime_s = lifetime.as_secs(),
            "tenant access token fetched"
        );
        Ok(())
    }
}

/// Reads the token endpoint's answer: `{"code":0,"msg":"ok","tenant_access_token","expire"}` at
/// the top level. A non-zero `code` is an error whatever the HTTP status.
fn decode(response: &RawResponse) -> Result<(SecretString, Duration), TicketError> {
    #[derive(Deserialize)]
    struct Answer {
        code: Option<i64>,
        msg: Option<String>,
        tenant_access_token: Option<String>,
        expire: Option<Value>,
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(&response.body) else {
        if response.is_success() {
            return Err(response.malformed(crate::PROVIDER, "tenant token answer is not JSON"));
        }
        let message = response.fallback_message();
        return Err(response.to_error(crate::PROVIDER, None, None, message, None));
    };
    match answer.code {
        Some(0) => {}
        None if !response.is_success() => {
            let message = response.message(answer.msg.as_deref());
            return Err(response.to_error(crate::PROVIDER, None, None, message, None));
        }
        None => return Err(response.malformed(crate::PROVIDER, "the answer has no `code`")),
        Some(code) => {
            let said = response.message(answer.msg.as_deref());
            let (kind, message) = if REFUSED_CODES.contains(&code) {
                (
                    Some(ErrorKind::Unauthenticated),
                    format!(
                        "the tenant access token was refused for this app ({said}): check app_id and app_secret"
                    ),
                )
            } else if code == crate::RATE_LIMIT_CODE {
                (Some(ErrorKind::RateLimited), said)
            } else {
                (None, said)
            };
            let retry_after = response.header_seconds("x-ogw-ratelimit-reset");
            return Err(response
                .to_error(
                    crate::PROVIDER,
                    kind,
                    Some(code.into()),
                    message,
                    retry_after,
                )
                .with_rate_limit(response.header_rate("x-ogw-ratelimit-limit")));
        }
    }
    let lifetime = answer.expire.as_ref().and_then(server_lifetime);
    match (answer.tenant_access_token, lifetime) {
        (Some(token), Some(lifetime)) if !token.trim().is_empty() && !lifetime.is_zero() => {
            Ok((SecretString::from(token), lifetime))
        }
        _ => Err(response.malformed(
            crate::PROVIDER,
            "tenant token answer lacks tenant_access_token or a positive expire",
        )),
    }
}

impl TenantTokenBuilder {
    /// Fetches through `region`'s host (default: Feishu).
    pub fn region(mut self, region: Region) -> Self {
        self.base_url = region.base_url().to_owned();
        self
    }

    /// Fetches through an explicit base URL (`https://`, or `http://` to loopback).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Timeouts, size cap and retry policy of the fetch (it is idempotent: retried as the
    /// policy says).
    pub fn http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Fetches through the caller's own `reqwest` client.
    pub fn http_client(mut self, client: Option<ticket_http::reqwest::Client>) -> Self {
        self.client = client;
        self
    }

    /// Renews a token when less than this is left (default [`TENANT_TOKEN_RENEW_BEFORE`]; at
    /// most half a token's lifetime).
    pub fn renew_before(mut self, before: Duration) -> Self {
        self.renew_before = before;
        self
    }

    /// Scrubs with `secrets` (shared with a client, so that the app secret and the tokens
    /// are scrubbed from the client's errors too, and the client's from this source's).
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Checks the settings and builds the source. Both values are trimmed; errors name them,
    /// never quote them.
    pub fn build(self) -> Result<TenantToken, TicketError> {
        let app_id = self.app_id.trim().to_owned();
        if app_id.is_empty() {
            return Err(TicketError::config("the Feishu app id is empty"));
        }
        let app_secret = clean_secret(&self.app_secret, "the Feishu app secret")?;
        let base = BaseUrl::parse(&self.base_url)?;
        let secrets = self.secrets.unwrap_or_default();
        secrets.add(&app_secret);
        let transport = Transport::with_optional_client(
            crate::PROVIDER,
            self.http,
            &["x-tt-logid"],
            self.client,
        )?
        .with_secrets(secrets);
        Ok(TenantToken {
            inner: Arc::new(Inner {
                app_id,
                app_secret: app_secret.into(),
                url: Url::parse(&base.join(TENANT_TOKEN_PATH))
                    .map_err(|e| TicketError::config(format!("bad tenant token URL: {e}")))?,
                transport,
                renew_before: self.renew_before,
                state: Mutex::new(State::default()),
                fetches: AtomicU64::new(0),
            }),
        })
    }
}

#[async_trait]
impl TokenSource for TenantToken {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        let rx = {
            let mut state = self.inner.state();
            if let Some(token) = state.fresh() {
                return Ok(token);
            }
            self.join_or_start(&mut state)
        };
        Self::wait(rx).await?;
        self.current()
    }

    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        let rx = {
            let mut state = self.inner.state();
            match &state.token {
                // Another read already replaced the refused token: use the new one.
                Some(token) if token.expose_secret() != rejected.expose_secret() => {
                    return Ok(true);
                }
                _ => {}
            }
            state.renew_at = Some(Instant::now());
            self.join_or_start(&mut state)
        };
        Self::wait(rx).await?;
        Ok(true)
    }

    fn secrets(&self) -> Option<Secrets> {
        Some(self.inner.transport.secrets().clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn answer(status: u16, body: &str) -> RawResponse {
        RawResponse::new(status, HeaderMap::new(), body.as_bytes().to_vec(), None)
    }

    #[test]
    fn the_answer_is_read_at_the_top_level_and_codes_win_over_the_status() {
        let (token, lifetime) = decode(&answer(
            200,
            r#"{"code":0,"msg":"ok","tenant_access_token":"t-1","expire":1799}"#,
        ))
        .unwrap();
        assert_eq!((token.expose_secret(), lifetime.as_secs()), ("t-1", 1799));
        let refused =
            decode(&answer(200, r#"{"code":10014,"msg":"app secret invalid"}"#)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Unauthenticated);
        assert!(refused.to_string().contains("app_secret"), "{refused}");
        assert!(!refused.is_retryable());
        let limited = decode(&answer(429, r#"{"code":99991400,"msg":"slow"}"#)).unwrap_err();
        assert_eq!(limited.kind(), ErrorKind::RateLimited);
        for bad in [
            r#"{"code":0,"tenant_access_token":"t-1"}"#,
            r#"{"code":0,"tenant_access_token":"","expire":7200}"#,
            r#"{"code":0,"tenant_access_token":"t-1","expire":0}"#,
            "<html>",
        ] {
            let err = decode(&answer(200, bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedResponse, "{bad}");
        }
    }
}
