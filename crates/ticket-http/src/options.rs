//! [`HttpOptions`]: the limits and network settings of a client, with their defaults and the
//! check that they can work.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use ticket_core::TicketError;

use crate::{AttemptHook, RetryPolicy};

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
    /// Retries of [`Transport::execute`](crate::Transport::execute). Default: [`RetryPolicy::default`].
    pub retry: RetryPolicy,
    /// Called around each attempt of [`Transport::execute`](crate::Transport::execute) (a
    /// shared gate, a rate limiter or budget; see [`AttemptHook`]). Default: `None`, which
    /// costs nothing.
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

    /// Sets the hook called around each attempt (see [`AttemptHook`]), replacing any.
    #[must_use]
    pub fn attempt_hook(mut self, hook: Arc<dyn AttemptHook>) -> Self {
        self.attempt_hook = Some(hook);
        self
    }

    /// Adds `hook` after the hook already set, if any: both run, the one already set first
    /// (see [`Hooks`](crate::Hooks), the one way to compose hooks). A rate budget set first
    /// and a caller's hook added after it: the caller's runs after the budget's waits, just
    /// before the request leaves.
    #[must_use]
    pub fn add_attempt_hook(mut self, hook: Arc<dyn AttemptHook>) -> Self {
        self.attempt_hook = Some(match self.attempt_hook.take() {
            None => hook,
            Some(first) => Arc::new(crate::Hooks::new().then(first).then(hook)),
        });
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
    /// a [`TicketError::Configuration`] naming the key otherwise. [`build_client`](crate::build_client) (so every
    /// [`Transport`](crate::Transport)) calls it, so a client that was built cannot fail later on its limits.
    pub fn validate(&self) -> Result<(), TicketError> {
        match self.invalid_setting() {
            Some((key, why)) => Err(TicketError::config(format!("`{key}` {why}"))),
            None => Ok(()),
        }
    }
}
