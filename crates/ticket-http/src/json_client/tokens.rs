//! The bearer token of a [`JsonClient`]: the header of the current token, formatted once per
//! token, and the one token handling of updates and reads (a refused token refreshed once).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;

use super::JsonClient;
use crate::{JsonApi, TokenSource, sensitive_header};

/// A changing bearer token and the header value of the last one used.
pub(super) struct Tokens {
    pub(super) source: Arc<dyn TokenSource>,
    last: Mutex<Option<(SecretString, HeaderValue)>>,
}

impl Tokens {
    pub(super) fn new(source: Arc<dyn TokenSource>) -> Self {
        Self {
            source,
            last: Mutex::new(None),
        }
    }
}

/// The `Authorization` value of a request prepared without a token (a preview).
pub(super) fn redacted_bearer() -> HeaderValue {
    let mut value = HeaderValue::from_static("Bearer <redacted>");
    value.set_sensitive(true);
    value
}

impl<A: JsonApi> JsonClient<A> {
    /// The bearer header for the current token, and that token. The source's own errors are
    /// scrubbed here: they did not come through the transport.
    async fn bearer(&self, tokens: &Tokens) -> Result<(HeaderValue, SecretString), TicketError> {
        let scrub = |e| self.transport.secrets().scrub_error(e);
        let token = tokens.source.access_token().await.map_err(scrub)?;
        let mut last = tokens.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, value)) = last.as_ref()
            && cached.expose_secret() == token.expose_secret()
        {
            return Ok((value.clone(), token));
        }
        let clean = crate::bearer_token(token.expose_secret(), "the bearer token")?;
        self.transport.secrets().add_received(&clean);
        let value = sensitive_header(format!("Bearer {clean}"), "the bearer token")?;
        *last = Some((token.clone(), value.clone()));
        Ok((value, token))
    }

    /// Runs `run` under the current token of `tokens` (with no token when `None`), and once
    /// more after a refresh when the API reads its error as a refusal of that token: the one
    /// token handling of updates and reads.
    pub(super) async fn with_bearer<T, F, Fut>(
        &self,
        tokens: Option<&Tokens>,
        run: F,
    ) -> Result<T, TicketError>
    where
        F: Fn(Option<HeaderValue>) -> Fut,
        Fut: Future<Output = Result<T, TicketError>>,
    {
        let Some(tokens) = tokens else {
            return run(None).await;
        };
        let (bearer, token) = self.bearer(tokens).await?;
        let err = match self.refusal(run(Some(bearer)).await) {
            Ok(result) => return result,
            Err(refusal) => refusal,
        };
        // Boxed: a refused token is rare, and its state would otherwise enlarge every
        // request's future.
        Box::pin(self.after_refusal(tokens, token, err, run)).await
    }

    /// `Err` with the error when `result` is the API's refusal of the token; else `result`.
    /// (A function rather than a `match` on the awaited value, which would keep room for that
    /// value across the refresh in every request's future.)
    fn refusal<T>(
        &self,
        result: Result<T, TicketError>,
    ) -> Result<Result<T, TicketError>, TicketError> {
        match result {
            Err(err) if self.api.refuses_token(&err) => Err(err),
            other => Ok(other),
        }
    }

    /// After `err`, a refusal of `token`: a refresh, and `run` once more under the new token
    /// (or `err` when the source has nothing newer).
    async fn after_refusal<T, F, Fut>(
        &self,
        tokens: &Tokens,
        token: SecretString,
        err: TicketError,
        run: F,
    ) -> Result<T, TicketError>
    where
        F: Fn(Option<HeaderValue>) -> Fut,
        Fut: Future<Output = Result<T, TicketError>>,
    {
        let refresh = tokens.source.refresh(&token).await;
        if !refresh.map_err(|e| self.transport.secrets().scrub_error(e))? {
            return Err(err);
        }
        tracing::info!(
            ticket.provider = A::PROVIDER,
            "bearer token refreshed after refusal"
        );
        let (bearer, _) = self.bearer(tokens).await?;
        run(Some(bearer)).await
    }
}
