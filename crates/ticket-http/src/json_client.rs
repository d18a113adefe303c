//! [`JsonClient`]: the `TicketUpdater` of a [`JsonApi`], for built-in and downstream providers
//! alike. The one path of an update: plan → body → request (credentials, constant headers) →
//! [`Transport::execute`] (retries, scrubbing) → decode → receipt. Reads (and merge mode and
//! verification, which read) are in [`read`].

mod read;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::{
    Capabilities, Plan, RequestPreview, TicketError, TicketId, TicketSnapshot, TicketUpdate,
    TicketUpdater, UpdateReceipt,
};

use crate::{
    BaseUrl, Credential, HttpOptions, JsonApi, PreparedRequest, RawResponse, Route, Secrets,
    TokenSource, Transport, body_capacity, sensitive_header,
};

pub use self::read::Reads;
use self::read::{ReadAuth, Reading};

/// A [`TicketUpdater`] for a [`JsonApi`]: one connection pool, the route parsed once, the
/// constant headers (credentials first) computed once. Build it with
/// [`builder`](Self::builder), or from the API's configuration ([`FromConfig`]).
///
/// With a [`TokenSource`], each request carries `Authorization: Bearer <token>` (formatted once
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

/// A changing bearer token and the header value of the last one used.
struct Tokens {
    source: Arc<dyn TokenSource>,
    last: Mutex<Option<(SecretString, HeaderValue)>>,
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

/// Builds a [`JsonClient`].
#[must_use]
pub struct JsonClientBuilder<A> {
    api: A,
    base_url: BaseUrl,
    credentials: Vec<Credential>,
    tokens: Option<Arc<dyn TokenSource>>,
    read_auth: ReadAuth,
    http: HttpOptions,
    client: Option<reqwest::Client>,
    secrets: Vec<SecretString>,
}

impl<A> fmt::Debug for JsonClientBuilder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl<A: JsonApi> JsonClientBuilder<A> {
    /// Sends `credential` on every request, in the order added (after a bearer token).
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credentials.push(credential);
        self
    }

    /// Sends `Authorization: Bearer <token>` from `source` on every request, first.
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(source);
        self
    }

    /// Reads with `Authorization: Bearer <token>` from `source` instead of the update's token
    /// (Feishu reads with a tenant token, updates with a user token): the update's token is
    /// never sent on a read. Refreshed once when a read refuses it, as the update's is.
    pub fn read_token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.read_auth = ReadAuth::Token(source);
        self
    }

    /// This client cannot read although the API can, because something reading needs is not
    /// configured: every read (and every update in merge mode or with verification) fails
    /// with a [`TicketError::Configuration`] saying `reason` (name the keys to set). Nothing
    /// else is sent on a read: no token of the update.
    pub fn read_unavailable(mut self, reason: impl Into<String>) -> Self {
        self.read_auth = ReadAuth::Unavailable(reason.into());
        self
    }

    /// Timeouts, size cap, proxy, roots, pool and retry policy (default: [`HttpOptions`]'s).
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Sends through the caller's own `reqwest` client (see [`Transport::with_client`]);
    /// `None` (the default) builds one from the HTTP options.
    pub fn client(mut self, client: impl Into<Option<reqwest::Client>>) -> Self {
        self.client = client.into();
        self
    }

    /// Scrubs `secret` too from every error, excerpt and log line (a secret this API puts
    /// elsewhere than in a credential header).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(SecretString::from(secret.into()));
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<JsonClient<A>, TicketError> {
        // A client this crate builds can speak `https://` only with a TLS feature; the
        // caller's own client is theirs.
        if self.client.is_none() {
            self.base_url.require_tls_backend()?;
        }
        // One set per client: a token source's, when it scrubs its own requests with one (the
        // update's first, then the read's).
        let read_source = match &self.read_auth {
            ReadAuth::Token(source) => Some(source),
            _ => None,
        };
        let secrets = self
            .tokens
            .as_ref()
            .and_then(|t| t.secrets())
            .or_else(|| read_source.and_then(|t| t.secrets()))
            .unwrap_or_default();
        for credential in &self.credentials {
            credential.register(&secrets);
        }
        for secret in &self.secrets {
            secrets.add(secret.expose_secret());
        }
        let transport = Transport::with_optional_client(
            A::PROVIDER,
            self.http,
            A::REQUEST_ID_HEADERS,
            self.client,
        )?
        .with_secrets(secrets);
        let mut headers = HeaderMap::with_capacity(self.credentials.len() + A::HEADERS.len() + 2);
        if self.tokens.is_some() {
            // A placeholder, replaced in place by each request's token: `Authorization` keeps
            // its first place on the wire.
            headers.insert(header::AUTHORIZATION, redacted_bearer());
        }
        for credential in &self.credentials {
            if headers.contains_key(credential.name()) {
                return Err(TicketError::config(format!(
                    "{}: two credentials for the header {}",
                    A::PROVIDER,
                    credential.name()
                )));
            }
            headers.insert(credential.name().clone(), credential.value().clone());
        }
        for (name, value) in A::HEADERS {
            let bad =
                || TicketError::config(format!("{}: bad constant header {name}", A::PROVIDER));
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            headers.insert(name, HeaderValue::from_str(value).map_err(|_| bad())?);
        }
        // Last, where the client would add it: the same wire, without growing each request.
        if let Some(agent) = transport.own_user_agent() {
            headers.insert(header::USER_AGENT, agent);
        }
        let reading = Reading::new(
            &self.api,
            &self.base_url,
            &self.credentials,
            self.read_auth,
            &transport,
            self.tokens.is_some(),
        )?;
        Ok(JsonClient {
            route: self.base_url.route_template(A::ROUTE)?,
            api: self.api,
            transport,
            headers,
            tokens: self.tokens.map(Tokens::new),
            reading,
        })
    }
}

impl Tokens {
    fn new(source: Arc<dyn TokenSource>) -> Self {
        Self {
            source,
            last: Mutex::new(None),
        }
    }
}

/// The `Authorization` value of a request prepared without a token (a preview).
fn redacted_bearer() -> HeaderValue {
    let mut value = HeaderValue::from_static("Bearer <redacted>");
    value.set_sensitive(true);
    value
}

impl<A: JsonApi> JsonClient<A> {
    /// A builder for `api` at `base_url`.
    pub fn builder(api: A, base_url: BaseUrl) -> JsonClientBuilder<A> {
        JsonClientBuilder {
            api,
            base_url,
            credentials: Vec::new(),
            tokens: None,
            read_auth: ReadAuth::Update,
            http: HttpOptions::default(),
            client: None,
            secrets: Vec::new(),
        }
    }

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
        let mut request = PreparedRequest::new(A::METHOD, self.route.url(id), headers, body);
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

    /// Runs `run` under the current token of `tokens` (with no token when `None`), and once
    /// more after a refresh when the API reads its error as a refusal of that token: the one
    /// token handling of updates and reads.
    async fn with_bearer<T, F, Fut>(
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
        match run(Some(bearer)).await {
            Err(err) if self.api.refuses_token(&err) => {
                let refresh = tokens.source.refresh(&token).await;
                if !refresh.map_err(|e| self.transport.secrets().scrub_error(e))? {
                    return Err(err);
                }
                tracing::info!(
                    provider = A::PROVIDER,
                    "bearer token refreshed after refusal"
                );
                let (bearer, _) = self.bearer(tokens).await?;
                run(Some(bearer)).await
            }
            other => other,
        }
    }

    /// An update without reads: under the update's token, refreshed once when refused.
    async fn update_plain(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        let attempts = AtomicU32::new(0);
        let mut receipt = self
            .with_bearer(self.tokens.as_ref(), |bearer| {
                self.execute_update(id, update, bearer, &attempts)
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

    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        if !update.needs_read() {
            return self.update_plain(id, update).await;
        }
        // Refused before any request: the plan's rules, and a client that cannot read.
        update.plan(A::PROVIDER, &A::CAPABILITIES, A::MAPPED_KEYS)?;
        self.read_side()?;
        ticket_core::update_with_reads(
            &A::CAPABILITIES,
            update,
            || self.read_ticket(id),
            |merged| async move { self.update_plain(id, &merged).await },
        )
        .await
    }

    async fn read(&self, id: &TicketId) -> Result<TicketSnapshot, TicketError> {
        self.read_ticket(id).await
    }
}
