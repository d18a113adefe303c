use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, redirect};
use ticket_core::{RequestPreview, Sent, TicketError};
use tracing::Instrument;

use crate::{AttemptHook, PreparedRequest, RetryPolicy, Secrets};

/// Time and size limits of a client, and its network: proxies, extra roots, connection pool;
/// its retry policy and the caller's hook into it. Every field is public and documented with
/// its default. `Debug` never shows a proxy's credentials. Two options are equal when every
/// setting is, and they hold the same hook (the same `Arc`) or none.
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Limit on establishing a connection (TCP and TLS). Default: 5 s.
    pub connect_timeout: Duration,
    /// Limit on one attempt, from sending to the last body byte. Default: 15 s (below the
    /// retry budget, so a slow attempt still leaves room for a retry).
    pub request_timeout: Duration,
    /// Responses larger than this are refused unread. Default: 1 MiB.
    pub max_response_bytes: usize,
    /// The `user-agent` header. Default: `helpdesk-tickets/<version>`.
    pub user_agent: String,
    /// Retries of [`Transport::execute`]. Default: [`RetryPolicy::default`].
    pub retry: RetryPolicy,
    /// Called around each attempt of [`Transport::execute`] (a shared gate, a rate limiter or
    /// budget; see [`AttemptHook`]). Default: `None`, which costs nothing.
    pub attempt_hook: Option<Arc<dyn AttemptHook>>,
    /// The proxy for every non-loopback request (`http://` or `https://`, with optional
    /// `user:password@`). Default: `None`, which reads `HTTPS_PROXY`, `HTTP_PROXY` and
    /// `ALL_PROXY` (either case) instead. Loopback hosts are never proxied.
    pub proxy: Option<String>,
    /// Hosts never proxied, comma-separated (`NO_PROXY` syntax: `example.com`, `.corp`,
    /// `10.0.0.0/8`, `*`). Default: `None`, which reads `NO_PROXY` (either case). Loopback
    /// (`localhost`, `127.0.0.0/8`, `::1`) is always added.
    pub no_proxy: Option<String>,
    /// A PEM file of extra root certificates to trust beside the platform's (a TLS-inspecting
    /// corporate proxy). Default: `None`. Verification itself cannot be turned off.
    pub ca_file: Option<std::path::PathBuf>,
    /// Idle keep-alive connections kept per host. Default: 16 (enough for a helpdesk's rate
    /// limit; a burst of 256 in flight does not leave 256 descriptors open).
    pub pool_max_idle_per_host: usize,
    /// How long an idle connection is kept. Default: 30 s.
    pub pool_idle_timeout: Duration,
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("attempt_hook", &self.attempt_hook)
            .field(
                "proxy",
                &self
                    .proxy
                    .as_deref()
                    .map(crate::network::without_credentials),
            )
            .field("no_proxy", &self.no_proxy)
            .field("ca_file", &self.ca_file)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .finish()
    }
}

impl PartialEq for HttpOptions {
    fn eq(&self, other: &Self) -> bool {
        // Destructured without `..`: a new field cannot be forgotten here.
        let Self {
            connect_timeout,
            request_timeout,
            max_response_bytes,
            user_agent,
            retry,
            attempt_hook,
            proxy,
            no_proxy,
            ca_file,
            pool_max_idle_per_host,
            pool_idle_timeout,
        } = self;
        let same_hook = match (attempt_hook, &other.attempt_hook) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_hook
            && *connect_timeout == other.connect_timeout
            && *request_timeout == other.request_timeout
            && *max_response_bytes == other.max_response_bytes
            && *user_agent == other.user_agent
            && *retry == other.retry
            && *proxy == other.proxy
            && *no_proxy == other.no_proxy
            && *ca_file == other.ca_file
            && *pool_max_idle_per_host == other.pool_max_idle_per_host
            && *pool_idle_timeout == other.pool_idle_timeout
    }
}

impl Eq for HttpOptions {}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_response_bytes: 1024 * 1024,
            user_agent: concat!("helpdesk-tickets/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            attempt_hook: None,
            proxy: None,
            no_proxy: None,
            ca_file: None,
            pool_max_idle_per_host: 16,
            pool_idle_timeout: Duration::from_secs(30),
        }
    }
}

impl HttpOptions {
    /// Sets the connect timeout.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the response size cap.
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sets the proxy for non-loopback requests (instead of the environment's).
    #[must_use]
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Sets the hosts never proxied (instead of the environment's `NO_PROXY`).
    #[must_use]
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.no_proxy = Some(hosts.into());
        self
    }

    /// Trusts the root certificates of a PEM file beside the platform's.
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets how many idle connections are kept per host.
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// Sets how long an idle connection is kept.
    #[must_use]
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Sets the retry policy ([`RetryPolicy::disabled`] turns retries off).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the hook called around each attempt (see [`AttemptHook`]).
    #[must_use]
    pub fn attempt_hook(mut self, hook: Arc<dyn AttemptHook>) -> Self {
        self.attempt_hook = Some(hook);
        self
    }
}

impl HttpOptions {
    /// The first setting that cannot work, as its configuration key (`request_timeout_ms`,
    /// `max_response_bytes`, `retry_budget_ms`, …) and why; `None` when all are usable.
    pub fn invalid_setting(&self) -> Option<(&'static str, &'static str)> {
        let retry = &self.retry;
        if self.connect_timeout.is_zero() {
            Some(("connect_timeout_ms", "must be above zero"))
        } else if self.request_timeout.is_zero() {
            Some(("request_timeout_ms", "must be above zero"))
        } else if self.max_response_bytes == 0 {
            Some(("max_response_bytes", "must be above zero"))
        } else if retry.max_retries > 0 && retry.budget < self.request_timeout {
            Some((
                "retry_budget_ms",
                "is shorter than one attempt (request_timeout_ms): no retry could ever start; raise it or set max_retries = 0",
            ))
        } else if retry.max_retries > 0 && retry.initial_backoff.is_zero() {
            Some((
                "retry_initial_backoff_ms",
                "must be above zero when retries are on",
            ))
        } else if retry.max_backoff < retry.initial_backoff {
            Some(("retry_max_backoff_ms", "is below retry_initial_backoff_ms"))
        } else if HeaderValue::try_from(self.user_agent.as_str()).is_err() {
            Some(("user_agent", "is not valid header text"))
        } else {
            None
        }
    }

    /// Checks that every setting can work (see [`invalid_setting`](Self::invalid_setting)):
    /// a [`TicketError::Configuration`] naming the key otherwise. [`build_client`] (so every
    /// [`Transport`]) calls it, so a client that was built cannot fail later on its limits.
    pub fn validate(&self) -> Result<(), TicketError> {
        match self.invalid_setting() {
            Some((key, why)) => Err(TicketError::config(format!("`{key}` {why}"))),
            None => Ok(()),
        }
    }
}

/// The headers the client adds to every request that does not set them itself: `accept: */*`
/// and the `user-agent` of `options`. [`Transport::preview`] renders them too.
pub fn default_headers(options: &HttpOptions) -> Result<HeaderMap, TicketError> {
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    headers.insert(
        header::USER_AGENT,
        HeaderValue::try_from(options.user_agent.as_str())
            .map_err(|_| TicketError::config("the user agent is not valid header text"))?,
    );
    Ok(headers)
}

/// A `reqwest` client with the workspace's security defaults, after checking `options`
/// ([`HttpOptions::validate`]): rustls, no redirects followed,
/// the connect and per-attempt timeouts of `options`, `TCP_NODELAY`, pooled keep-alive
/// connections, and [`default_headers`].
pub fn build_client(options: &HttpOptions) -> Result<Client, TicketError> {
    client_for(options, Some(options.request_timeout))
}

/// [`build_client`], with reqwest's per-request timeout only when `timeout` is set
/// ([`Transport::new`] bounds each attempt itself, which costs less).
fn client_for(options: &HttpOptions, timeout: Option<Duration>) -> Result<Client, TicketError> {
    options.validate()?;
    let mut builder = Client::builder()
        .redirect(redirect::Policy::none())
        .connect_timeout(options.connect_timeout);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    let mut builder = builder
        .tcp_nodelay(true)
        .pool_max_idle_per_host(options.pool_max_idle_per_host)
        .pool_idle_timeout(options.pool_idle_timeout)
        .default_headers(default_headers(options)?);
    let proxies = crate::network::proxies(options, &|name| std::env::var(name).ok())?;
    if proxies.is_empty() {
        builder = builder.no_proxy();
    }
    for proxy in proxies {
        builder = builder.proxy(proxy);
    }
    let roots = match &options.ca_file {
        Some(path) => crate::network::read_pem(path)?,
        None => Vec::new(),
    };
    tls(builder, roots)?
        .build()
        .map_err(|e| TicketError::config(format!("cannot build the HTTP client: {e}")))
}

/// A `reqwest::ClientBuilder` with this crate's TLS backend chosen and nothing else: a start
/// for your own client ([`Transport::with_client`]).
pub fn client_builder() -> Result<reqwest::ClientBuilder, TicketError> {
    tls(Client::builder(), Vec::new())
}

/// Chooses the TLS backend of the enabled feature (`rustls` wins when both are on) and adds
/// the `ca_file` roots to the platform's.
fn tls(
    builder: reqwest::ClientBuilder,
    roots: Vec<Vec<u8>>,
) -> Result<reqwest::ClientBuilder, TicketError> {
    #[cfg(feature = "rustls")]
    let mut builder = builder.tls_backend_rustls();
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    let mut builder = builder.tls_backend_native();
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    if !roots.is_empty() {
        return Err(TicketError::config(
            "`ca_file` needs a TLS feature of ticket-http (`rustls` or `native-tls`)",
        ));
    }
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    for der in roots {
        let cert = reqwest::Certificate::from_der(&der)
            .map_err(|e| TicketError::config(format!("`ca_file` holds a bad certificate: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
}

/// A provider's answer, read in full (up to the cap).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The request id from the provider's request-id header, when present (scrubbed of the
    /// transport's [`Secrets`]).
    pub request_id: Option<String>,
    /// The secrets of the transport that read this answer: every excerpt and message built
    /// from it is scrubbed of them.
    pub(crate) secrets: Secrets,
}

impl RawResponse {
    /// An answer assembled by hand (to replay a recorded one, or to fuzz a decoder).
    pub fn new(
        status: u16,
        headers: HeaderMap,
        body: impl Into<Bytes>,
        request_id: Option<String>,
    ) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
            request_id,
            secrets: Secrets::default(),
        }
    }

    /// Scrubs every excerpt and message built from this answer of `secrets` (answers read by
    /// a [`Transport`] carry its set already).
    #[must_use]
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// The secrets this answer's excerpts are scrubbed of.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header value as text, when present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends [`PreparedRequest`]s for one provider: one client (one connection pool), the limits of
/// [`HttpOptions`], and the provider's request-id header.
#[derive(Clone)]
pub struct Transport {
    client: Client,
    /// What the client adds to requests that lack them, for [`Transport::preview`].
    defaults: HeaderMap,
    provider: String,
    options: HttpOptions,
    request_id_headers: Vec<HeaderName>,
    secrets: Secrets,
    /// The limit this transport puts on each attempt itself: `request_timeout` for its own
    /// client (built without reqwest's per-request timeout), none for a caller's client.
    attempt_timeout: Option<Duration>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.provider)
            .field("options", &self.options)
            .field("request_id_headers", &self.request_id_headers)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport for `provider` with a new client built from `options`. The request id is
    /// read from the first of `request_id_headers` present in a response (names in any case;
    /// one that is not a valid header name is a [`TicketError::Configuration`]).
    pub fn new(
        provider: impl Into<String>,
        options: HttpOptions,
        request_id_headers: &[&str],
    ) -> Result<Self, TicketError> {
        // Each attempt is bounded in `send` (one tokio timer), not by reqwest's per-request
        // timeout (a timer plus a wrapper around every response body).
        let client = client_for(&options, None)?;
        let attempt_timeout = Some(options.request_timeout);
        Self::from_parts(
            provider,
            options,
            request_id_headers,
            client,
            attempt_timeout,
        )
    }

    fn from_parts(
        provider: impl Into<String>,
        options: HttpOptions,
        request_id_headers: &[&str],
        client: Client,
        attempt_timeout: Option<Duration>,
    ) -> Result<Self, TicketError> {
        let request_id_headers = request_id_headers
            .iter()
            .map(|h| {
                HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()).map_err(|_| {
                    TicketError::config(format!("{h:?} is not a valid request-id header name"))
                })
            })
            .collect::<Result<_, _>>()?;
        let secrets = Secrets::default();
        crate::network::register_proxy_password(&options, &secrets);
        Ok(Self {
            client,
            defaults: default_headers(&options)?,
            provider: provider.into(),
            options,
            request_id_headers,
            secrets,
            attempt_timeout,
        })
    }

    /// A transport that sends through `client`, the caller's own: its proxies, roots,
    /// timeouts, redirect policy and middleware stay as the caller built them. The project
    /// then no longer guarantees that redirects are refused, that the connect and per-attempt
    /// timeouts of `options` apply, nor what [`preview`](Self::preview) shows of the client's
    /// own default headers. The size cap, the retry policy, request ids and secret scrubbing
    /// of `options` still apply (the options are validated as for [`new`](Self::new)).
    pub fn with_client(
        provider: impl Into<String>,
        options: HttpOptions,
        request_id_headers: &[&str],
        client: Client,
    ) -> Result<Self, TicketError> {
        options.validate()?;
        Self::from_parts(provider, options, request_id_headers, client, None)
    }

    /// [`with_client`](Self::with_client) when the caller handed in a `client`, else
    /// [`new`](Self::new): what a provider config with an optional own client needs.
    pub fn with_optional_client(
        provider: impl Into<String>,
        options: HttpOptions,
        request_id_headers: &[&str],
        client: Option<Client>,
    ) -> Result<Self, TicketError> {
        match client {
            Some(client) => Self::with_client(provider, options, request_id_headers, client),
            None => Self::new(provider, options, request_id_headers),
        }
    }

    /// Scrubs `secrets` from everything this transport returns or logs (see [`Secrets`]).
    /// The set is shared: secrets registered in it later are scrubbed too.
    #[must_use]
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        crate::network::register_proxy_password(&self.options, &secrets);
        self.secrets = secrets;
        self
    }

    /// The secrets scrubbed from this transport's errors, request ids and logs.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The provider name used in errors and spans.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The limits in force.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// The `user-agent` this transport's own client adds to every request, for a provider to
    /// put last in its constant header map: the same header in the same place on the wire,
    /// and reqwest no longer grows each request's map to merge it. `None` for a caller's own
    /// client (see [`with_client`](Self::with_client)), which keeps its own `user-agent`.
    pub fn own_user_agent(&self) -> Option<HeaderValue> {
        // Only a client this transport built has `attempt_timeout` set.
        self.attempt_timeout?;
        self.defaults.get(header::USER_AGENT).cloned()
    }

    /// Exactly what [`send`](Self::send) puts on the wire for `request`: the request line,
    /// the request's headers in order, the client's [`default_headers`] it does not set,
    /// `host`, `content-length` and the body, with every sensitive header value replaced by
    /// [`RequestPreview::REDACTED`]. Sends nothing.
    pub fn preview(&self, request: &PreparedRequest) -> RequestPreview {
        request.render(&self.defaults)
    }

    /// Sends `request` once and reads the whole answer, whatever its status.
    ///
    /// Errors are [`TicketError::Transport`] (saying whether the request may have been sent),
    /// [`TicketError::Timeout`], or [`TicketError::MalformedResponse`] for a body over the cap.
    /// The tracing span `ticket_http.send` records provider, method, URL, status and request
    /// id; never a header value or the body.
    pub async fn send(&self, request: &PreparedRequest) -> Result<RawResponse, TicketError> {
        self.send_owned(request.clone()).await
    }

    /// [`send`](Self::send) without copying `request` (reqwest consumes what it sends).
    pub async fn send_owned(&self, request: PreparedRequest) -> Result<RawResponse, TicketError> {
        let span = tracing::debug_span!(
            "ticket_http.send",
            provider = %self.provider,
            method = %request.method,
            url = %request.url,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let attempt = self.send_inner(request).instrument(span.clone());
        let result = match self.attempt_timeout {
            // The whole attempt, body read included, within `request_timeout`.
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(result) => result,
                Err(_elapsed) => Err(TicketError::Timeout {
                    provider: self.provider.clone(),
                    after: limit,
                    sent: Sent::Maybe,
                    idempotent: true,
                }),
            },
            None => attempt.await,
        }
        .map_err(|e| self.secrets.scrub_error(e));
        match &result {
            Ok(resp) => {
                span.record("status", resp.status);
                if let Some(id) = &resp.request_id {
                    span.record("request_id", id.as_str());
                }
                tracing::debug!(parent: &span, status = resp.status, bytes = resp.body.len(), "response read");
            }
            Err(err) => tracing::debug!(parent: &span, error = %err, "request failed"),
        }
        result
    }

    async fn send_inner(&self, request: PreparedRequest) -> Result<RawResponse, TicketError> {
        // A ready `Request` (parsed URL, the prepared header map moved in) skips the
        // builder's URL parse and header merge.
        let PreparedRequest {
            method,
            url,
            headers,
            body,
            idempotent: _,
        } = request;
        let mut outgoing = reqwest::Request::new(method, url);
        *outgoing.headers_mut() = headers;
        *outgoing.body_mut() = Some(body.into());
        let mut response = self
            .client
            .execute(outgoing)
            .await
            .map_err(|e| self.map_error(e))?;
        let status = response.status().as_u16();
        let request_id = self
            .request_id_headers
            .iter()
            .find_map(|h| response.headers().get(h))
            .and_then(|v| v.to_str().ok())
            .map(|id| self.secrets.scrub(id));
        let cap = self.options.max_response_bytes;
        let too_large =
            |excerpt_bytes: &[u8], request_id: &Option<String>| TicketError::MalformedResponse {
                provider: self.provider.clone(),
                status,
                reason: format!("response body is larger than the {cap}-byte cap"),
                excerpt: excerpt(excerpt_bytes, &self.secrets),
                request_id: request_id.clone(),
            };
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(too_large(b"", &request_id));
        }
        let headers = std::mem::take(response.headers_mut());
        let body = if response.content_length().is_some() {
            // The length is known and under the cap (checked above), and hyper enforces it.
            response.bytes().await.map_err(|e| self.map_error(e))?
        } else {
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.map_error(e))? {
                if body.len() + chunk.len() > cap {
                    return Err(too_large(&body, &request_id));
                }
                body.extend_from_slice(&chunk);
            }
            body.freeze()
        };
        Ok(RawResponse {
            status,
            headers,
            body,
            request_id,
            secrets: self.secrets.clone(),
        })
    }

    fn map_error(&self, err: reqwest::Error) -> TicketError {
        if let Some(why) = crate::network::certificate_failure(&err) {
            // Permanent: another handshake gets the same certificate.
            return TicketError::config(format!(
                "the TLS certificate of {}'s server was refused ({why}); behind a TLS-inspecting proxy, trust its root with `ca_file`",
                self.provider
            ));
        }
        let sent = if err.is_connect() {
            Sent::No
        } else {
            Sent::Maybe
        };
        if err.is_timeout() {
            let after = if err.is_connect() {
                self.options.connect_timeout
            } else {
                self.options.request_timeout
            };
            return TicketError::Timeout {
                provider: self.provider.clone(),
                after,
                sent,
                idempotent: true,
            };
        }
        let message = if err.is_connect() {
            "could not connect".to_owned()
        } else if err.is_body() || err.is_decode() {
            "the response body was cut short".to_owned()
        } else {
            "the connection failed before a complete response".to_owned()
        };
        TicketError::Transport {
            provider: self.provider.clone(),
            sent,
            message,
            source: Some(std::sync::Arc::new(err.without_url())),
            idempotent: true,
        }
    }
}

/// The first 200 characters of `body` as text, for error messages: every secret of `secrets`
/// is replaced by [`RequestPreview::REDACTED`] before cutting (so no secret is left half-shown),
/// and control characters become spaces.
pub fn excerpt(body: &[u8], secrets: &Secrets) -> String {
    const LIMIT: usize = 200;
    // Room past the cut for any secret that starts before it (4 KiB covers every form of any
    // credential that fits a header).
    let window = &body[..body.len().min(LIMIT * 4 + 4096)];
    secrets
        .scrub(&String::from_utf8_lossy(window))
        .chars()
        .take(LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::{Method, Url};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that sends the head and part of the body, then stalls: the attempt's limit
    /// covers the body read, and the timeout says the request may have been sent.
    #[tokio::test]
    async fn the_attempt_limit_covers_a_stalled_body() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/t", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await.unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"code\":")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let limit = Duration::from_millis(300);
        let options = HttpOptions::default()
            .request_timeout(limit)
            .retry(RetryPolicy::disabled());
        let transport = Transport::new("x", options, &[]).unwrap();
        let request = PreparedRequest::new(Method::PUT, url, HeaderMap::new(), "{}");
        // A generous guard, so that a limit not covering the body fails instead of hanging.
        let err = tokio::time::timeout(Duration::from_secs(60), transport.send(&request))
            .await
            .expect("the attempt's own limit fired first")
            .unwrap_err();
        let TicketError::Timeout { after, sent, .. } = err else {
            panic!("expected Timeout, got {err:?}");
        };
        assert_eq!((after, sent), (limit, Sent::Maybe));
        server.abort();
    }

    /// The first attempt sends the request given; a retry sends what `rebuild` returns, and
    /// a `rebuild` failure ends the execution with that failure.
    #[tokio::test]
    async fn a_retry_sends_the_rebuilt_request_and_a_rebuild_error_ends_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/t", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await.unwrap();
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            }
        });
        let options = HttpOptions::default().retry(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(1))
                .jitter(false),
        );
        let transport = Transport::new("x", options, &[]).unwrap();
        let request = PreparedRequest::new(Method::PUT, url, HeaderMap::new(), "{}");
        let rebuilds = std::sync::atomic::AtomicU32::new(0);
        let err = transport
            .execute(
                "update",
                request,
                || {
                    rebuilds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Err(TicketError::invalid("update", "cannot rebuild"))
                },
                |response| {
                    assert_eq!(response.status, 503);
                    Err::<(), _>(TicketError::Transport {
                        provider: "x".into(),
                        sent: Sent::No,
                        idempotent: true,
                        message: "busy".into(),
                        source: None,
                    })
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot rebuild"), "{err}");
        assert_eq!(rebuilds.load(std::sync::atomic::Ordering::Relaxed), 1);
        server.abort();
    }
}
