//! Feishu's OAuth refresh: the `grant_type=refresh_token` request, its answer (tokens and
//! lifetimes) and its error codes, including the one that means the chain is broken.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ticket_core::{ErrorKind, TicketError};
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderMap, HeaderValue};
use ticket_http::{
    BaseUrl, HttpOptions, PreparedRequest, RawResponse, RetryPolicy, Secrets, Transport, Url,
};

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

/// The app's credentials and the way to Feishu's token endpoint: sends refresh requests, and
/// nothing else (caching, single flight and the store are the source's).
pub(super) struct OAuth {
    pub(super) app_id: String,
    app_secret: SecretString,
    pub(super) url: Url,
    transport: Transport,
}

/// A successful refresh: the new tokens and their lifetimes, clamped.
pub(super) struct Fresh {
    pub(super) access_token: SecretString,
    pub(super) refresh_token: SecretString,
    pub(super) lifetime: Duration,
    pub(super) refresh_lifetime: Option<Duration>,
}

impl OAuth {
    /// The refresh endpoint under `base`, reached with `http`'s timeouts and no retry (a retry
    /// after a lost answer would present an already-rotated refresh token). `secrets` are
    /// scrubbed from every error and log of the refresh.
    pub(super) fn new(
        app_id: String,
        app_secret: SecretString,
        base: &BaseUrl,
        http: HttpOptions,
        secrets: Secrets,
    ) -> Result<Self, TicketError> {
        let transport = Transport::new(
            crate::PROVIDER,
            http.retry(RetryPolicy::disabled()),
            &["x-tt-logid"],
        )?
        .with_secrets(secrets);
        let url = Url::parse(&base.join(TOKEN_PATH))
            .map_err(|e| TicketError::config(format!("bad token URL: {e}")))?;
        Ok(Self {
            app_id,
            app_secret,
            url,
            transport,
        })
    }

    /// The secrets scrubbed from the refresh's errors and logs.
    pub(super) fn secrets(&self) -> &Secrets {
        self.transport.secrets()
    }

    /// Sends the refresh request once and reads the answer.
    pub(super) async fn refresh(
        &self,
        refresh_token: &SecretString,
        access: Option<&SecretString>,
    ) -> Result<Fresh, TicketError> {
        let body = self.body(refresh_token)?;
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        // The app secret is registered by the builder; the tokens may come from the store
        // (another process wrote them): registered here, before anything can quote them.
        self.secrets().add_received(refresh_token.expose_secret());
        if let Some(access) = access {
            self.secrets().add_received(access.expose_secret());
        }
        let request = PreparedRequest::new(Method::POST, self.url.clone(), headers, body)
            .with_url_template(self.url.path());
        let response = self.transport.send(&request).await?;
        // Every token in the answer is registered with the transport's secrets before it is
        // parsed, so that no error about it (a wrongly typed `expires_in`, a missing field) can
        // show the new tokens.
        if let Ok(value) = serde_json::from_slice::<Value>(&response.body) {
            register_tokens(&value, self.secrets());
        }
        decode(&response).map_err(|e| self.secrets().scrub_error(e))
    }

    /// The request body: the app's credentials and the refresh token.
    fn body(&self, refresh_token: &SecretString) -> Result<Vec<u8>, TicketError> {
        #[derive(Serialize)]
        struct Request<'a> {
            grant_type: &'a str,
            client_id: &'a str,
            client_secret: &'a str,
            refresh_token: &'a str,
        }
        serde_json::to_vec(&Request {
            grant_type: "refresh_token",
            client_id: &self.app_id,
            client_secret: self.app_secret.expose_secret(),
            refresh_token: refresh_token.expose_secret(),
        })
        .map_err(|e| TicketError::config(format!("cannot encode the refresh request: {e}")))
    }
}

/// Whether `err` is Feishu refusing the refresh token itself (the chain is broken there).
pub(super) fn refused_refresh_token(err: &TicketError) -> bool {
    err.kind() == ErrorKind::Unauthenticated
        && err
            .server()
            .and_then(|s| s.code.as_ref())
            .and_then(|c| c.as_i64())
            .is_some_and(breaks_chain)
}

/// Whether OAuth error `code` refuses the refresh token itself, not the app's credentials.
fn breaks_chain(code: i64) -> bool {
    REFUSED_CODES.contains(&code) && !CLIENT_CODES.contains(&code)
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

/// A token answer as Feishu sends it: the tokens on success, the OAuth error fields otherwise.
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

/// Reads a token answer; the response's secrets are scrubbed from any excerpt.
pub(super) fn decode(response: &RawResponse) -> Result<Fresh, TicketError> {
    let Some(answer) = serde_json::from_slice::<Answer>(&response.body).ok() else {
        if response.is_success() {
            return Err(response.malformed(crate::PROVIDER, "token refresh answer is not JSON"));
        }
        let message = response.fallback_message();
        return Err(response.to_error(crate::PROVIDER, None, None, message, None));
    };
    if response.is_success() && answer.code == Some(0) {
        return granted(response, answer);
    }
    Err(refused(response, answer))
}

/// A success answer: it must carry both tokens and the access token's lifetime.
fn granted(response: &RawResponse, answer: Answer) -> Result<Fresh, TicketError> {
    let lifetime = answer.expires_in.as_ref().and_then(server_lifetime);
    match (answer.access_token, lifetime, answer.refresh_token) {
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
    }
}

/// An error answer, in Feishu's words; a refused refresh token says the chain is broken.
fn refused(response: &RawResponse, answer: Answer) -> TicketError {
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
    if answer.code.is_some_and(breaks_chain) {
        message = format!("{message}; {BROKEN_CHAIN}");
    }
    let refused = answer.code.filter(|c| REFUSED_CODES.contains(c));
    let class = refused.map(|_| ErrorKind::Unauthenticated);
    response.to_error(
        crate::PROVIDER,
        class,
        answer.code.map(Into::into),
        message,
        None,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::token::RefreshingToken;
    use crate::token::refreshing::deadline;
    use crate::token::store::{add_millis, unix_millis_now};
    use proptest::prelude::*;
    use tokio::time::Instant;

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
