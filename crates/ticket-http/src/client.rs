use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, redirect};
use ticket_core::TicketError;

use crate::HttpOptions;

/// The headers the client adds to every request that does not set them itself: `accept: */*`
/// and the `user-agent` of `options`. [`Transport::preview`](crate::Transport::preview) renders them too.
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
/// ([`Transport::new`](crate::Transport::new) bounds each attempt itself, which costs less).
pub(crate) fn client_for(
    options: &HttpOptions,
    timeout: Option<Duration>,
) -> Result<Client, TicketError> {
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
/// for your own client ([`Transport::with_client`](crate::Transport::with_client)).
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
