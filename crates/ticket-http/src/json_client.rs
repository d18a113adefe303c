//! [`JsonClient`]: the `TicketUpdater` of a [`JsonApi`], for built-in and downstream providers
//! alike. The one path of an update: plan → body → request (credentials, constant headers) →
//! [`Transport::execute`] (retries, scrubbing) → decode → receipt, in one `ticket.update`
//! span ([`telemetry`](crate::telemetry)). By role: the builder is in [`builder`], the bearer
//! token in [`tokens`], reads (and merge mode and verification, which read) in [`read`].

mod builder;
mod read;
mod tokens;

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::{
    Capabilities, Plan, RequestPreview, TicketError, TicketId, TicketSnapshot, TicketUpdate,
    TicketUpdater, UpdateReceipt,
};
use tracing::Instrument;

use crate::telemetry::{self, Call};
use crate::{
    JsonApi, PreparedRequest, RawResponse, Route, Secrets, Transport, body_capacity,
    sensitive_header,
};

pub use self::builder::JsonClientBuilder;
use self::read::Reading;
pub use self::read::Reads;
use self::tokens::Tokens;

/// A [`TicketUpdater`] for a [`JsonApi`]: one connection pool, the route parsed once, the
/// constant headers (credentials first) computed once. Build it with
/// [`builder`](Self::builder), or from the API's configuration ([`FromConfig`]).
///
/// With a [`TokenSource`](crate::TokenSource), each request carries `Authorization: Bearer <token>` (formatted once
/// per token, the token registered with the client's secrets); when the API reads an answer as
/// a refused token ([`JsonApi::refuses_token`]), the source is asked to refresh once and the
/// update is sent once more.
pub struct JsonClient<A> {
    api: A,
    transport: Transport,
    route: Route,
    headers: HeaderMap,
    tokens: Option<Tokens>,
    reading: Reading,
}

/// A [`JsonApi`] built from a configuration of its own, so that `JsonClient::<A>::new(config)`
/// builds its client (a provider crate's `XClient::new(XConfig)`, with
/// `pub type XClient = JsonClient<X>`).
pub trait FromConfig: JsonApi + Sized {
    /// The provider's configuration.
    type Config;

    /// The client builder for `config`: the API value, base URL, credentials, HTTP options.
    fn builder(config: Self::Config) -> Result<JsonClientBuilder<Self>, TicketError>;
}

impl<A> fmt::Debug for JsonClient<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonClient")
            .field("transport", &self.transport)
            .field("route", &self.route)
            .field("bearer_token", &self.tokens.is_some())
            .field("reading", &self.reading)
            .finish_non_exhaustive()
    }
}

impl<A: JsonApi> JsonClient<A> {
    /// The API description.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// The transport (its options and secrets).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Checks `update` and builds the request, without sending it; a bearer token, if the
    /// client has a source, is a redacted placeholder.
    pub fn prepare(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<(PreparedRequest, Plan), TicketError> {
        self.prepare_with(id, update, None)
    }

    /// [`prepare`](Self::prepare) with `token` as the bearer token (cleaned as
    /// [`bearer_token`](crate::bearer_token) says): the request exactly as it would be sent
    /// with that token, for a baseline or a replay. The header value stays sensitive.
    pub fn prepare_with_token(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        token: &SecretString,
    ) -> Result<(PreparedRequest, Plan), TicketError> {
        let clean = crate::bearer_token(token.expose_secret(), "the bearer token")?;
        let bearer = sensitive_header(format!("Bearer {clean}"), "the bearer token")?;
        self.prepare_with(id, update, Some(&bearer))
    }

    fn prepare_with(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        bearer: Option<&HeaderValue>,
    ) -> Result<(PreparedRequest, Plan), TicketError> {
        let plan = update.plan(A::PROVIDER, &A::CAPABILITIES, A::MAPPED_KEYS)?;
        let mut body = Vec::with_capacity(body_capacity(update));
        serde_json::to_writer(&mut body, &self.api.body(id, update, &plan)?)
            .map_err(|e| TicketError::invalid("update", format!("cannot encode as JSON: {e}")))?;
        let mut headers = self.headers.clone();
        if let Some(bearer) = bearer {
            headers.insert(header::AUTHORIZATION, bearer.clone());
        }
        let mut request =
            PreparedRequest::new(self.api.method(), self.route.url(id), headers, body)
                .with_url_template(self.route.template().clone());
        // An update carrying a field that is not idempotent (a comment) is retried only when
        // it certainly did not apply.
        if !A::CAPABILITIES.is_idempotent(plan.carried) {
            request = request.not_idempotent();
        }
        Ok((request, plan))
    }

    /// Reads the answer to an update of `id` as [`update`](TicketUpdater::update) does (public
    /// so that recorded answers can be replayed and fuzzed): the receipt of a success (without
    /// request id, dropped fields or attempts), or the matching error, scrubbed. A success that
    /// confirms another ticket than `id` is a [`TicketError::MalformedResponse`] naming both
    /// (not retried: the caller must not believe `id` was updated).
    pub fn decode(
        &self,
        id: &TicketId,
        response: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        self.decode_unscrubbed(id, response)
            .map_err(|e| self.transport.secrets().scrub_error(e))
    }

    /// [`decode`](Self::decode) inside the transport, which scrubs what it returns.
    fn decode_unscrubbed(
        &self,
        id: &TicketId,
        response: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        let receipt = self
            .api
            .decode(UpdateReceipt::new(A::PROVIDER, id.clone()), response)?;
        match &receipt.confirmed_ticket_id {
            Some(confirmed) if confirmed != id.as_str() => Err(response.malformed(
                A::PROVIDER,
                format!(
                    "{} confirmed an update of ticket {confirmed:?}, not of the requested {:?}; the requested ticket may not have been updated",
                    A::PROVIDER,
                    id.as_str()
                ),
            )),
            _ => Ok(receipt),
        }
    }

    /// One execution of an update, with the transport's retries, under `bearer`.
    async fn execute_update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        bearer: Option<HeaderValue>,
        attempts: &AtomicU32,
    ) -> Result<UpdateReceipt, TicketError> {
        let (request, plan) = self.prepare_with(id, update, bearer.as_ref())?;
        let rebuild = || Ok(self.prepare_with(id, update, bearer.as_ref())?.0);
        let decode = |r: &RawResponse| self.decode_unscrubbed(id, r);
        let (receipt, request_id) = self
            .transport
            .execute_counting("update", request, rebuild, decode, attempts)
            .await?;
        Ok(receipt
            .with_request_id(request_id)
            .with_dropped(plan.dropped))
    }

    /// An update without reads: under the update's token, refreshed once when refused; its
    /// attempts added to `attempts`.
    async fn update_plain(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        attempts: &AtomicU32,
    ) -> Result<UpdateReceipt, TicketError> {
        let mut receipt = self
            .with_bearer(self.tokens.as_ref(), &|bearer: Option<HeaderValue>| {
                self.execute_update(id, update, bearer, attempts)
            })
            .await?;
        // Text quoted from the answer: scrubbed, and worth a warning when it was not understood.
        if let Some(raw) = &mut receipt.updated_at_raw {
            *raw = self.transport.secrets().scrub(raw);
            if receipt.updated_at.is_none() {
                tracing::warn!(
                    provider = A::PROVIDER,
                    updated_at = %raw,
                    "the update was confirmed with an update time in an unknown form; kept as text"
                );
            }
        }
        Ok(receipt.with_attempts(attempts.load(Ordering::Relaxed)))
    }

    /// An update, with the reads it needs first (merge mode) and after (verification).
    async fn update_in_span(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        attempts: &AtomicU32,
    ) -> Result<UpdateReceipt, TicketError> {
        if !update.needs_read() {
            return self.update_plain(id, update, attempts).await;
        }
        // Refused before any request: the plan's rules, and a client that cannot read.
        update.plan(A::PROVIDER, &A::CAPABILITIES, A::MAPPED_KEYS)?;
        self.read_side()?;
        // Boxed: an update with reads is a few round trips, and its reads' state would
        // otherwise enlarge every update's future.
        Box::pin(ticket_core::update_with_reads(
            &A::CAPABILITIES,
            update,
            || self.read_ticket(id),
            |merged| async move { self.update_plain(id, &merged, attempts).await },
        ))
        .await
    }

    /// Ends the `ticket.update` span `span` (or the disabled one) with `result` and its
    /// `attempts`, and counts it.
    fn update_done(
        &self,
        span: &tracing::Span,
        attempts: &AtomicU32,
        result: Result<UpdateReceipt, TicketError>,
    ) -> Result<UpdateReceipt, TicketError> {
        let done = result.as_ref().map(|r| r.request_id.as_deref());
        let attempts = attempts.load(Ordering::Relaxed);
        telemetry::call_done(span, Call::Update, A::PROVIDER, attempts, done);
        result
    }

    /// The client's secrets (its transport's).
    fn secrets(&self) -> &Secrets {
        self.transport.secrets()
    }
}

impl<A: FromConfig> JsonClient<A> {
    /// The client for `config` (see [`FromConfig`]).
    pub fn new(config: A::Config) -> Result<Self, TicketError> {
        A::builder(config)?.build()
    }
}

#[async_trait]
impl<A: JsonApi> TicketUpdater for JsonClient<A> {
    fn provider(&self) -> &str {
        A::PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        A::CAPABILITIES
    }

    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        if update.merges() {
            self.read_side()?;
            return Err(TicketError::invalid(
                "merge",
                "an update in merge mode sends what the ticket holds when it is read, so its request cannot be shown before: read the ticket and preview `update.merged_with(&snapshot, &caps)?.update` (helpdesk: --plan, or --dry-run with --merge)",
            ));
        }
        if update.verifies() {
            self.read_side()?;
        }
        let (request, plan) = self.prepare(id, update)?;
        Ok(self.transport.preview(&request).with_dropped(plan.dropped))
    }

    /// The plan and the body's own refusals, without encoding the body or building a request.
    /// An update in merge mode is checked by the plan only (its body is known after the read),
    /// and refused when this client cannot read.
    fn check(&self, id: &TicketId, update: &TicketUpdate) -> Result<Plan, TicketError> {
        let plan = update.plan(A::PROVIDER, &A::CAPABILITIES, A::MAPPED_KEYS)?;
        if update.needs_read() {
            self.read_side()?;
        }
        if !update.merges() {
            self.api.body(id, update, &plan)?;
        }
        Ok(plan)
    }

    /// The update in one `ticket.update` span (see [`telemetry`](crate::telemetry)), with its
    /// reads (merge mode, verification) inside.
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        // With a subscriber that takes the span, the update runs in it, boxed (the span costs
        // more than the allocation); without one, it is awaited as it is and no span is kept,
        // so that the update's future (which `async_trait` boxes) stays small.
        let Some(span) = telemetry::enabled(telemetry::call_span(Call::Update, A::PROVIDER, id))
        else {
            let attempts = AtomicU32::new(0);
            let result = self.update_in_span(id, update, &attempts).await;
            return self.update_done(&tracing::Span::none(), &attempts, result);
        };
        Box::pin(async move {
            let attempts = AtomicU32::new(0);
            let result = self
                .update_in_span(id, update, &attempts)
                .instrument(span.clone())
                .await;
            self.update_done(&span, &attempts, result)
        })
        .await
    }

    async fn read(&self, id: &TicketId) -> Result<TicketSnapshot, TicketError> {
        self.read_ticket(id).await
    }
}
