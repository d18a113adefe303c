//! [`Transport`]: sends one provider's requests through one client, each attempt bounded, the
//! answer read up to the cap with its request id, failures classified and scrubbed; and what
//! it would send ([`Transport::preview`]). Its retries are in `execute.rs`, each attempt's span
//! and measures in `telemetry.rs`.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::Client;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use ticket_core::{RequestPreview, Sent, TicketError};
use tracing::Instrument;

use crate::client::{client_for, default_headers};
use crate::response::excerpt;
use crate::telemetry::AttemptTrace;
use crate::{HttpOptions, PreparedRequest, RawResponse, Secrets};

/// Reqwest's future of a request handed to it ([`Transport::start`]).
pub(crate) trait Pending:
    Future<Output = reqwest::Result<reqwest::Response>> + Send
{
}

impl<F: Future<Output = reqwest::Result<reqwest::Response>> + Send> Pending for F {}

/// Sends [`PreparedRequest`]s for one provider: one client (one connection pool), the limits of
/// [`HttpOptions`], and the provider's request-id header.
#[derive(Clone)]
pub struct Transport {
    client: Client,
    /// What the client adds to requests that lack them, for [`Transport::preview`].
    defaults: HeaderMap,
    /// Shared, so that a metric label takes it without a copy.
    provider: Arc<str>,
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
            provider: Arc::from(provider.into()),
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

    /// The provider name, shared (a metric label, an attempt span).
    pub(crate) fn provider_shared(&self) -> &Arc<str> {
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
    /// `host`, `content-length` (only with a body: hyper sends none without one) and the body,
    /// with every sensitive header value replaced by [`RequestPreview::REDACTED`]. Sends
    /// nothing.
    pub fn preview(&self, request: &PreparedRequest) -> RequestPreview {
        request.render(&self.defaults)
    }

    /// Sends `request` once and reads the whole answer, whatever its status.
    ///
    /// Errors are [`TicketError::Transport`] (saying whether the request may have been sent),
    /// [`TicketError::Timeout`], or [`TicketError::MalformedResponse`] for a body over the cap.
    /// The attempt's DEBUG span `ticket_http.send` (see [`telemetry`](crate::telemetry)) records
    /// the method, server, URL, status and request id under OpenTelemetry's names; never a
    /// header value or the body. With the feature `metrics`, its duration is measured as the
    /// operation `send`.
    pub async fn send(&self, request: &PreparedRequest) -> Result<RawResponse, TicketError> {
        self.send_owned(request.clone()).await
    }

    /// [`send`](Self::send) without copying `request` (reqwest consumes what it sends).
    pub async fn send_owned(&self, request: PreparedRequest) -> Result<RawResponse, TicketError> {
        let trace = AttemptTrace::start(&self.provider, &self.secrets, &request, "send", 0);
        let result = match self.start(request) {
            Ok(pending) => self.send_traced(pending, &trace).await,
            Err(err) => Err(err),
        };
        let status = result.as_ref().ok().map(|r| r.status);
        trace.finish(status, result.as_ref().err());
        result
    }

    /// Hands `request` to reqwest, which builds its request future at once (without sending
    /// anything until it is polled): from here on an attempt's futures carry reqwest's handle
    /// rather than the request itself. A ready `Request` (parsed URL, the prepared header map
    /// moved in) skips the builder's URL parse and header merge. Its error is scrubbed.
    pub(crate) fn start(
        &self,
        request: PreparedRequest,
    ) -> Result<impl Pending + use<>, TicketError> {
        let PreparedRequest {
            method,
            url,
            headers,
            body,
            idempotent: _,
            url_template: _,
        } = request;
        // The last line of defence for a URL no constructor checked (a token endpoint, a
        // downstream transport): refused as the configuration error it is, not sent to fail as
        // a retryable "could not connect". Only this transport's own client: a caller's may
        // have TLS of its own.
        if !crate::tls::COMPILED && self.attempt_timeout.is_some() && url.scheme() == "https" {
            let err = crate::tls::no_backend(url.origin().ascii_serialization().as_str());
            return Err(self.secrets.scrub_error(err));
        }
        let mut outgoing = reqwest::Request::new(method, url);
        *outgoing.headers_mut() = headers;
        *outgoing.body_mut() = Some(body.into());
        Ok(self.client.execute(outgoing))
    }

    /// Awaits `pending` (see [`start`](Self::start)) inside the attempt's span, recording
    /// what the answer says.
    pub(crate) async fn send_traced(
        &self,
        pending: impl Pending,
        trace: &AttemptTrace,
    ) -> Result<RawResponse, TicketError> {
        // Each way is built where it is awaited (a future moved into a wrapper is copied
        // whole), and wrapped in the attempt's span only for a subscriber that takes it.
        let span = &trace.span;
        let result = match (self.attempt_timeout, span.is_disabled()) {
            // The whole attempt, body read included, within `request_timeout`.
            (Some(limit), true) => self.timed(
                limit,
                tokio::time::timeout(limit, self.receive(pending)).await,
            ),
            // Boxed when traced: a subscriber's span costs more than the allocation, and the
            // attempt's future is as small as without.
            (Some(limit), false) => self.timed(
                limit,
                Box::pin(tokio::time::timeout(
                    limit,
                    self.receive(pending).instrument(span.clone()),
                ))
                .await,
            ),
            (None, true) => self.receive(pending).await,
            (None, false) => Box::pin(self.receive(pending).instrument(span.clone())).await,
        }
        .map_err(|e| self.secrets.scrub_error(e));
        if let Ok(response) = &result {
            trace.answered(response);
        }
        result
    }

    /// What became of an attempt limited to `limit`: its own result, or a timeout.
    fn timed(
        &self,
        limit: Duration,
        result: Result<Result<RawResponse, TicketError>, tokio::time::error::Elapsed>,
    ) -> Result<RawResponse, TicketError> {
        result.unwrap_or_else(|_elapsed| {
            Err(TicketError::Timeout {
                provider: self.provider.to_string(),
                after: limit,
                sent: Sent::Maybe,
                idempotent: true,
            })
        })
    }

    /// Sends the request `pending` holds and reads the whole answer, within the cap.
    async fn receive(&self, pending: impl Pending) -> Result<RawResponse, TicketError> {
        // Only what the body's reading needs is kept across its awaits; the status, headers
        // and request id are taken from the response after it.
        let mut response = pending.await.map_err(|e| self.map_error(e))?;
        let cap = self.options.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(self.too_large(&response, b""));
        }
        // Chunk by chunk (hyper enforces a stated length; the cap is checked as they come):
        // the usual single chunk is kept as it is, without a copy; only a second one gathers.
        // (`Response::bytes` does the same, with a future half a kilobyte larger.)
        let mut body = Bytes::new();
        let mut gathered: Option<BytesMut> = None;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.map_error(e))? {
            let read = gathered.as_deref().unwrap_or(&body);
            if read.len() + chunk.len() > cap {
                return Err(self.too_large(&response, read));
            }
            match &mut gathered {
                Some(gathered) => gathered.extend_from_slice(&chunk),
                None if body.is_empty() => body = chunk,
                None => {
                    let mut both = BytesMut::with_capacity(body.len() + chunk.len());
                    both.extend_from_slice(&body);
                    both.extend_from_slice(&chunk);
                    gathered = Some(both);
                }
            }
        }
        let body = gathered.map_or(body, BytesMut::freeze);
        let request_id = self.request_id(&response);
        Ok(RawResponse {
            status: response.status().as_u16(),
            headers: std::mem::take(response.headers_mut()),
            body,
            request_id,
            secrets: self.secrets.clone(),
        })
    }

    /// The request id of `response` (the first of the API's request-id headers it carries),
    /// scrubbed.
    fn request_id(&self, response: &reqwest::Response) -> Option<String> {
        // The first of the names, in their order, that the response carries (its first value):
        // one pass over the response's few headers rather than a hashed lookup per name.
        let names = &self.request_id_headers;
        let mut found: Option<(usize, &HeaderValue)> = None;
        for (name, value) in response.headers() {
            if let Some(i) = names.iter().position(|n| n == name)
                && found.is_none_or(|(best, _)| i < best)
            {
                found = Some((i, value));
                if i == 0 {
                    break;
                }
            }
        }
        found
            .and_then(|(_, v)| v.to_str().ok())
            .map(|id| self.secrets.scrub(id))
    }

    /// The error for `response`, whose body is over the cap: `read`, what was read of it,
    /// quoted (scrubbed).
    fn too_large(&self, response: &reqwest::Response, read: &[u8]) -> TicketError {
        TicketError::MalformedResponse {
            provider: self.provider.to_string(),
            status: response.status().as_u16(),
            reason: format!(
                "response body is larger than the {}-byte cap",
                self.options.max_response_bytes
            ),
            excerpt: excerpt(read, &self.secrets),
            request_id: self.request_id(response),
        }
    }

    fn map_error(&self, err: reqwest::Error) -> TicketError {
        if let Some(why) = crate::tls::certificate_failure(&err) {
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
                provider: self.provider.to_string(),
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
            provider: self.provider.to_string(),
            sent,
            message,
            source: Some(std::sync::Arc::new(err.without_url())),
            idempotent: true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::RetryPolicy;
    use reqwest::{Method, Url};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The request id comes from the first of the names, in their order (not the response's),
    /// that the response carries, and from that header's first value; one that is not text
    /// gives none rather than a later name's.
    #[test]
    fn the_request_id_is_the_first_named_header_present() {
        let transport =
            Transport::new("x", HttpOptions::default(), &["X-Request-Id", "x-trace-id"]).unwrap();
        let id = |headers: &[(&str, &[u8])]| {
            let mut response = http::Response::builder();
            for (name, value) in headers {
                response = response.header(*name, HeaderValue::from_bytes(value).unwrap());
            }
            transport.request_id(&reqwest::Response::from(response.body("").unwrap()))
        };
        assert_eq!(id(&[]), None);
        assert_eq!(id(&[("content-type", b"application/json")]), None);
        assert_eq!(id(&[("x-trace-id", b"t")]).as_deref(), Some("t"));
        assert_eq!(
            id(&[("x-trace-id", b"t"), ("date", b"d"), ("x-request-id", b"r")]).as_deref(),
            Some("r")
        );
        assert_eq!(
            id(&[
                ("x-request-id", b"r1"),
                ("x-trace-id", b"t"),
                ("x-request-id", b"r2")
            ])
            .as_deref(),
            Some("r1")
        );
        assert_eq!(id(&[("x-request-id", b"\xff"), ("x-trace-id", b"t")]), None);
    }

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
