//! Reading with the kit: the read route, its headers and credentials (the update's, or a
//! token of its own), and [`Reads`] for an API that completes a snapshot with more reads.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use ticket_core::{RequestPreview, TicketError, TicketId, TicketSnapshot};

use tracing::Instrument;

use super::JsonClient;
use super::tokens::{Tokens, redacted_bearer};
use crate::telemetry::{self, Call};
use crate::{
    BaseUrl, Credential, JsonApi, PreparedRequest, RawResponse, Route, TokenSource, Transport,
};

/// Whose token a read carries.
pub(super) enum ReadAuth {
    /// The update's credentials, token included (EngageLab, Zendesk).
    Update,
    /// A token of its own (Feishu's tenant token); the update's token is never sent.
    Token(Arc<dyn TokenSource>),
    /// Not configured: why, for the configuration error.
    Unavailable(String),
}

/// What a client can do about reads.
pub(super) enum Reading {
    /// The API cannot read.
    No,
    /// The API can, this client is not configured for it: why.
    Unavailable(String),
    /// Ready.
    Yes(Box<ReadSide>),
}

impl fmt::Debug for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reading::No => f.write_str("No"),
            Reading::Unavailable(_) => f.write_str("Unavailable"),
            Reading::Yes(side) => f
                .debug_struct("Yes")
                .field("route", &side.route)
                .field("own_token", &side.tokens.is_some())
                .finish_non_exhaustive(),
        }
    }
}

/// Everything a read needs, computed once per client.
pub(super) struct ReadSide {
    base: BaseUrl,
    route: Route,
    /// Credentials first (a placeholder for a bearer token), then the read headers, then the
    /// client's `user-agent`.
    headers: HeaderMap,
    /// A token of the read's own; `None`: the update's, if it has one.
    tokens: Option<Tokens>,
    /// Whether the update's token is sent (`ReadAuth::Update` on a client with a token).
    update_token: bool,
}

impl Reading {
    /// The read side of a client: `update_token` says whether the update carries a bearer
    /// token (which a read with [`ReadAuth::Update`] carries too).
    pub(super) fn new<A: JsonApi>(
        api: &A,
        base: &BaseUrl,
        credentials: &[Credential],
        auth: ReadAuth,
        transport: &Transport,
        update_token: bool,
    ) -> Result<Self, TicketError> {
        let route = api.read_route();
        if A::CAPABILITIES.read != route.is_some() {
            return Err(TicketError::config(format!(
                "{}: the capabilities say it {} read, but the API {} a read route",
                A::PROVIDER,
                if A::CAPABILITIES.read {
                    "can"
                } else {
                    "cannot"
                },
                if route.is_some() { "gives" } else { "gives no" },
            )));
        }
        let Some(route) = route else {
            return Ok(Reading::No);
        };
        let (tokens, update_token) = match auth {
            ReadAuth::Unavailable(why) => return Ok(Reading::Unavailable(why)),
            ReadAuth::Update => (None, update_token),
            ReadAuth::Token(source) => (Some(Tokens::new(source)), false),
        };
        let mut headers =
            HeaderMap::with_capacity(credentials.len() + api.read_headers().len() + 2);
        if tokens.is_some() || update_token {
            // A placeholder, replaced in place by each read's token: first on the wire, as on
            // an update.
            headers.insert(header::AUTHORIZATION, redacted_bearer());
        }
        for credential in credentials {
            headers.insert(credential.name().clone(), credential.value().clone());
        }
        for (name, value) in api.read_headers() {
            let bad = || TicketError::config(format!("{}: bad read header {name}", A::PROVIDER));
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            headers.insert(name, HeaderValue::from_str(value).map_err(|_| bad())?);
        }
        if let Some(agent) = transport.own_user_agent() {
            headers.insert(header::USER_AGENT, agent);
        }
        Ok(Reading::Yes(Box::new(ReadSide {
            base: base.clone(),
            route: base.route_template(route)?,
            headers,
            tokens,
            update_token,
        })))
    }

    /// The read side, or the error a read gets: `provider` cannot read, or this client is
    /// not configured to.
    pub(super) fn side(&self, provider: &str) -> Result<&ReadSide, TicketError> {
        match self {
            Reading::Yes(side) => Ok(side),
            Reading::Unavailable(why) => Err(TicketError::config(why.clone())),
            Reading::No => Err(TicketError::cannot_read(provider)),
        }
    }
}

impl ReadSide {
    /// A GET of `url` under `bearer` (a preview keeps the redacted placeholder); `routed`: the
    /// URL is the read route's, whose template the spans carry.
    fn request(&self, url: Url, bearer: Option<&HeaderValue>, routed: bool) -> PreparedRequest {
        let mut headers = self.headers.clone();
        if let Some(bearer) = bearer {
            headers.insert(header::AUTHORIZATION, bearer.clone());
        }
        let request = PreparedRequest::new(Method::GET, url, headers, Vec::new());
        if routed {
            request.with_url_template(self.route.template().clone())
        } else {
            request
        }
    }
}

/// Further reads for [`JsonApi::complete_read`]: a `GET` of any path under the client's base
/// URL, with the read's credentials (its token refreshed once when refused), its headers, the
/// transport's retries and scrubbing.
pub struct Reads<'a, A> {
    client: &'a JsonClient<A>,
    side: &'a ReadSide,
}

impl<A> fmt::Debug for Reads<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reads")
    }
}

impl<A: JsonApi> Reads<'_, A> {
    /// Sends `GET <base URL><path_and_query>` (`path_and_query` starts with `/`) and decodes
    /// each answer with `decode`: an error it returns is retried as the transport's policy
    /// says (a rate limit, a 5xx), and one the API reads as a refused token
    /// ([`JsonApi::refuses_token`]) refreshes it once. Errors are scrubbed.
    pub async fn get<T>(
        &self,
        path_and_query: &str,
        decode: impl Fn(&RawResponse) -> Result<T, TicketError>,
    ) -> Result<T, TicketError> {
        if !path_and_query.starts_with('/') {
            return Err(TicketError::config(format!(
                "{}: a read path must start with `/`",
                A::PROVIDER
            )));
        }
        let url = Url::parse(&self.side.base.join(path_and_query))
            .map_err(|e| TicketError::config(format!("{}: bad read path ({e})", A::PROVIDER)))?;
        let attempts = AtomicU32::new(0);
        let read = self.client.get(self.side, url, false, decode, &attempts);
        Ok(read.await?.0)
    }
}

impl<A: JsonApi> JsonClient<A> {
    /// Sends a read of `url` (`routed`: the read route's) and decodes it with `decode`, under
    /// the read's token (refreshed once when refused), with the transport's retries, adding
    /// its attempts to `attempts`; errors scrubbed. Returns the value and the request id.
    async fn get<T>(
        &self,
        side: &ReadSide,
        url: Url,
        routed: bool,
        decode: impl Fn(&RawResponse) -> Result<T, TicketError>,
        attempts: &AtomicU32,
    ) -> Result<(T, Option<String>), TicketError> {
        let tokens = match (&side.tokens, side.update_token) {
            (Some(own), _) => Some(own),
            (None, true) => self.tokens.as_ref(),
            (None, false) => None,
        };
        let decode = &decode;
        self.with_bearer(tokens, &|bearer: Option<HeaderValue>| {
            let url = url.clone();
            async move {
                let request = side.request(url.clone(), bearer.as_ref(), routed);
                let rebuild = || Ok(side.request(url.clone(), bearer.as_ref(), routed));
                self.transport
                    .execute_counting("get", request, rebuild, decode, attempts)
                    .await
            }
        })
        .await
    }

    /// Reads ticket `id` in one `ticket.get` span (see [`telemetry`](crate::telemetry)).
    pub(super) async fn read_ticket(&self, id: &TicketId) -> Result<TicketSnapshot, TicketError> {
        let span = telemetry::call_span(Call::Get, A::PROVIDER, id);
        let attempts = AtomicU32::new(0);
        // Not wrapped without a subscriber that takes the span (see `update`).
        let result = if span.is_disabled() {
            self.read_in_span(id, &attempts).await
        } else {
            self.read_in_span(id, &attempts)
                .instrument(span.clone())
                .await
        };
        let done = match &result {
            Ok((_, request_id)) => Ok(request_id.as_deref()),
            Err(err) => Err(err),
        };
        let attempts = attempts.load(Ordering::Relaxed);
        telemetry::call_done(&span, Call::Get, A::PROVIDER, attempts, done);
        result.map(|(snapshot, _)| snapshot)
    }

    /// Reads ticket `id`: the read route, decoded by the API, then completed by it; with the
    /// request id of the ticket's read.
    async fn read_in_span(
        &self,
        id: &TicketId,
        attempts: &AtomicU32,
    ) -> Result<(TicketSnapshot, Option<String>), TicketError> {
        let side = self.read_side()?;
        let url = side.route.url(id);
        let decode = |r: &RawResponse| self.api.decode_read(id, r);
        let (snapshot, request_id) = self.get(side, url, true, decode, attempts).await?;
        let reads = Reads { client: self, side };
        let snapshot = self
            .api
            .complete_read(snapshot, reads)
            .await
            .map_err(|e| self.secrets().scrub_error(e))?;
        Ok((snapshot, request_id))
    }

    /// The read side, or the error a read gets: this API cannot read, or this client is not
    /// configured to.
    pub(super) fn read_side(&self) -> Result<&ReadSide, TicketError> {
        self.reading.side(A::PROVIDER)
    }

    /// Exactly the request a read of `id` sends, with every secret redacted (a bearer token
    /// as a placeholder). Sends nothing.
    pub fn preview_read(&self, id: &TicketId) -> Result<RequestPreview, TicketError> {
        let side = self.read_side()?;
        Ok(self
            .transport
            .preview(&side.request(side.route.url(id), None, true)))
    }
}
