//! [`JsonClientBuilder`]: a [`JsonClient`]'s settings, checked once, and the constant headers
//! (credentials first) computed once.

use std::fmt;
use std::sync::Arc;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;

use super::JsonClient;
use super::read::{ReadAuth, Reading};
use super::tokens::{Tokens, redacted_bearer};
use crate::{BaseUrl, Credential, HttpOptions, JsonApi, TokenSource, Transport};

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
            self.api.request_id_headers(),
            self.client,
        )?
        .with_secrets(secrets);
        let mut headers =
            HeaderMap::with_capacity(self.credentials.len() + self.api.headers().len() + 2);
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
        for (name, value) in self.api.headers() {
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
}
