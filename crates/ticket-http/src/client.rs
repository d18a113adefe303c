//! Building the `reqwest` client of a transport from [`HttpOptions`]: timeouts, no redirects,
//! the pool, default headers, proxies, and TLS (`tls.rs`).

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
/// connections, and [`default_headers`]. Its TLS shares the system's roots with every other
/// client built here, read at the first certificate checked (see the crate docs); its
/// `ca_file` roots are its own.
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
        Some(path) => crate::tls::read_pem(path)?,
        None => Vec::new(),
    };
    crate::tls::configure(builder, roots)?
        .build()
        .map_err(|e| TicketError::config(format!("cannot build the HTTP client: {e}")))
}

/// A `reqwest::ClientBuilder` with this crate's TLS backend chosen and nothing else: a start
/// for your own client ([`Transport::with_client`](crate::Transport::with_client)). It uses
/// reqwest's own verifier, not the roots this crate's clients share: whatever you add to the
/// builder (`add_root_certificate`, `tls_certs_only`) keeps working.
pub fn client_builder() -> Result<reqwest::ClientBuilder, TicketError> {
    crate::tls::backend(Client::builder(), Vec::new())
}
