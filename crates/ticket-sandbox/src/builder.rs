//! The options a sandbox starts with: address, credentials, lifetimes, modes and seeds.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;

use crate::model::{
    Credentials, EngageLabGetPaths, EngageLabTicket, FeishuFieldDef, FeishuTicket, OmittedPriority,
};
use crate::ratelimit::Provider;
use crate::state::{Config, Shared};
use crate::{
    DEFAULT_FEISHU_GET_RATE_LIMIT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_REQUEST_LOG_CAPACITY,
    DEFAULT_REQUEST_LOG_MAX_BYTES, DEFAULT_TENANT_TOKEN_RENEW_WINDOW, DEFAULT_TOKEN_TTL, Sandbox,
};

/// Options for a [`Sandbox`]; create with [`Sandbox::builder`].
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    bind: SocketAddr,
    config: Config,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            config: Config {
                credentials: Credentials::default(),
                token_ttl: DEFAULT_TOKEN_TTL,
                tenant_token_ttl: DEFAULT_TOKEN_TTL,
                tenant_token_renew_window: DEFAULT_TENANT_TOKEN_RENEW_WINDOW,
                seed_engagelab: Vec::new(),
                seed_feishu: Vec::new(),
                feishu_fields: Vec::new(),
                request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
                request_log_max_bytes: DEFAULT_REQUEST_LOG_MAX_BYTES,
                header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
                rate_limits: Vec::new(),
                feishu_get_rate_limit: DEFAULT_FEISHU_GET_RATE_LIMIT,
                omitted_priority: OmittedPriority::default(),
                engagelab_get_paths: EngageLabGetPaths::default(),
            },
        }
    }
}

impl SandboxBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a random free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The port to listen on (default 0, a random free port).
    pub fn port(mut self, port: u16) -> Self {
        self.bind.set_port(port);
        self
    }

    /// The credentials to accept (default [`Credentials::default`]).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.config.credentials = credentials;
        self
    }

    /// How long a Feishu access token stays valid (default [`DEFAULT_TOKEN_TTL`]). The
    /// configured token's lifetime starts when the sandbox starts (and again on reset).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.config.token_ttl = ttl;
        self
    }

    /// How long a Feishu tenant access token stays valid (default [`DEFAULT_TOKEN_TTL`], the
    /// documented "at most 2 hours"). The configured tenant token's lifetime starts when the
    /// sandbox starts (and again on reset).
    pub fn tenant_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.tenant_token_ttl = ttl;
        self
    }

    /// How much life the current tenant token must have left for the tenant token endpoint to
    /// hand it out again (default [`DEFAULT_TENANT_TOKEN_RENEW_WINDOW`], the documented 30
    /// minutes); with less left it issues a new one and the old one stays valid until it
    /// expires. With a lifetime shorter than the window every call issues a new token.
    pub fn tenant_token_renew_window(mut self, window: Duration) -> Self {
        self.config.tenant_token_renew_window = window;
        self
    }

    /// What an EngageLab update without `priority` does (default [`OmittedPriority::Reset`],
    /// the document's reading: back to `medium`).
    pub fn engagelab_omitted_priority(mut self, mode: OmittedPriority) -> Self {
        self.config.omitted_priority = mode;
        self
    }

    /// Which EngageLab `GET` paths answer (default [`EngageLabGetPaths::Both`]).
    pub fn engagelab_get_paths(mut self, paths: EngageLabGetPaths) -> Self {
        self.config.engagelab_get_paths = paths;
        self
    }

    /// How many Feishu ticket reads a second the rate-limit mode allows (default
    /// [`DEFAULT_FEISHU_GET_RATE_LIMIT`], the Get Ticket page's figure). Reads have their own
    /// bucket, in force whenever the Feishu rate-limit mode is on; 0 leaves reads unpaced.
    pub fn feishu_get_rate_limit(mut self, per_second: u32) -> Self {
        self.config.feishu_get_rate_limit = per_second;
        self
    }

    /// Defines a ticket custom field of the Feishu helpdesk (replacing one with the same id):
    /// listed by the custom field endpoint, checked on update (a dropdown takes only its option
    /// tags), and shown by `GET` (a dropdown as its option label).
    pub fn feishu_field(mut self, def: FeishuFieldDef) -> Self {
        self.config.feishu_fields.retain(|d| d.id != def.id);
        self.config.feishu_fields.push(def);
        self
    }

    /// How many requests the request log keeps (default [`DEFAULT_REQUEST_LOG_CAPACITY`]).
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.config.request_log_capacity = capacity;
        self
    }

    /// How many bytes the request log keeps (default [`DEFAULT_REQUEST_LOG_MAX_BYTES`]): the
    /// oldest entries are dropped first, and a single request larger than the limit is kept
    /// with its body cut short (`RecordedRequest::body_truncated`). 0 keeps nothing.
    pub fn request_log_max_bytes(mut self, max_bytes: usize) -> Self {
        self.config.request_log_max_bytes = max_bytes;
        self
    }

    /// How long a client has to send a complete request head (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]): counted from the connection's start for its first
    /// request, and from the first byte of each later one. A connection that misses it is
    /// closed. Idle keep-alive connections are never closed. `None` waits forever.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }

    /// Turns on the rate-limit mode for `provider`: a token bucket of `per_second` requests a
    /// second (holding at most one second's worth, full at start) in front of its ticket
    /// routes. Feishu reads take from their own bucket (see
    /// [`SandboxBuilder::feishu_get_rate_limit`]). A request finding it empty is refused as the vendor does: Feishu HTTP 429, code
    /// 99991400, `x-ogw-ratelimit-limit: <per_second>`, `x-ogw-ratelimit-reset: <secs>`;
    /// EngageLab HTTP 429, code 42901, `Retry-After: <secs>` (whole seconds until a token is
    /// free, at least 1). 0 turns it off. Injected faults are served before the bucket is asked.
    pub fn rate_limit(mut self, provider: Provider, per_second: u32) -> Self {
        self.config.rate_limits.retain(|(p, _)| *p != provider);
        self.config.rate_limits.push((provider, per_second));
        self
    }

    /// Seeds an EngageLab ticket (its `ticket_id` is set to `id`).
    pub fn seed_engagelab(mut self, id: impl Into<String>, ticket: EngageLabTicket) -> Self {
        self.config.seed_engagelab.push((id.into(), ticket));
        self
    }

    /// Seeds an EngageLab ticket with [`EngageLabTicket::default`] contents.
    pub fn seed_engagelab_default(self, id: impl Into<String>) -> Self {
        self.seed_engagelab(id, EngageLabTicket::default())
    }

    /// Seeds a Feishu ticket (its `ticket_id` is set to `id`).
    pub fn seed_feishu(mut self, id: impl Into<String>, ticket: FeishuTicket) -> Self {
        self.config.seed_feishu.push((id.into(), ticket));
        self
    }

    /// Seeds a Feishu ticket with [`FeishuTicket::default`] contents.
    pub fn seed_feishu_default(self, id: impl Into<String>) -> Self {
        self.seed_feishu(id, FeishuTicket::default())
    }

    /// Binds the listener and starts serving on the current Tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(self) -> io::Result<Sandbox> {
        let listener = TcpListener::bind(self.bind).await?;
        Sandbox::serve(listener, Shared::new(self.config))
    }
}
