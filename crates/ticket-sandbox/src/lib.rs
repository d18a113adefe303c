//! A stateful, in-process HTTP emulator of two helpdesk APIs — EngageLab LiveDesk and
//! Feishu/Lark Helpdesk — for testing integrations over real loopback HTTP.
//!
//! One server serves both APIs on one port (their paths do not collide):
//!
//! | route | what |
//! |---|---|
//! | `PUT`/`GET /api/v2/accounts/tickets/{ticket_id}` | EngageLab update / read |
//! | `PUT`/`GET /open-apis/helpdesk/v1/tickets/{ticket_id}` | Feishu update / read |
//! | `POST /open-apis/authen/v2/oauth/token` | Feishu user token refresh (rotating refresh tokens) |
//! | `/__sandbox/...` | admin routes (JSON; see the crate README) |
//!
//! It validates requests the way the vendor documents describe them, keeps tickets in memory,
//! counts requests and connections, records the last requests received (raw path included), and
//! serves injected [`Fault`]s: rate limits, server errors, latency, dropped connections,
//! truncated or non-JSON bodies, auth errors with HTTP 200, expired tokens.
//!
//! The server runs on the current Tokio runtime and stops when the [`Sandbox`] is dropped.
//!
//! # Example
//!
//! ```
//! use ticket_sandbox::{Fault, Sandbox, Scope};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let sandbox = Sandbox::builder().seed_engagelab_default("tk_1").start().await?;
//!     let client = reqwest::Client::new();
//!     let update = || {
//!         client
//!             .put(sandbox.engagelab_ticket_url("tk_1"))
//!             .header("Authorization", sandbox.credentials().engagelab_authorization())
//!             .header("Content-Type", "application/json")
//!             .body(r#"{"title":"Printer jam","description":"Fixed.","priority":"high"}"#)
//!             .send()
//!     };
//!
//!     let resp = update().await?;
//!     assert_eq!(resp.status(), 200);
//!     let stored = sandbox.engagelab_ticket("tk_1").map(|t| t.priority);
//!     assert_eq!(stored.as_deref(), Some("high"));
//!
//!     // The next EngageLab request is rate limited.
//!     sandbox.inject(Fault::RateLimit { reset_secs: 2 }, Scope::EngageLab, 1);
//!     let resp = update().await?;
//!     assert_eq!(resp.status(), 429);
//!     assert_eq!(resp.headers()["retry-after"], "2");
//!     assert_eq!(sandbox.stats().engagelab_requests, 2);
//!     Ok(())
//! }
//! ```

mod admin;
mod engagelab;
mod fault;
mod feishu;
mod model;
mod ratelimit;
mod server;
mod state;
mod util;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use fault::{Fault, PendingFault, Scope};
pub use model::{
    Credentials, EngageLabAttachment, EngageLabTicket, FeishuCustomizedField, FeishuTicket,
    RecordedRequest, Stats,
};
pub use ratelimit::Provider;

use state::{Config, Shared};

/// The default Feishu access token lifetime: two hours.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);

/// How many requests the log keeps by default.
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 1000;

/// How many bytes (bodies, headers, paths) the request log keeps by default: 16 MiB.
pub const DEFAULT_REQUEST_LOG_MAX_BYTES: usize = 16 * 1024 * 1024;

/// How long a client has to send a complete request head by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

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
                seed_engagelab: Vec::new(),
                seed_feishu: Vec::new(),
                request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
                request_log_max_bytes: DEFAULT_REQUEST_LOG_MAX_BYTES,
                header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
                rate_limits: Vec::new(),
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
    /// routes. A request finding it empty is refused as the vendor does: Feishu HTTP 429, code
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
        let addr = listener.local_addr()?;
        let shared = Shared::new(self.config);
        let (shutdown, shutdown_rx) = watch::channel(());
        let task = tokio::spawn(server::serve(listener, shared.clone(), shutdown_rx));
        tracing::debug!(%addr, "ticket-sandbox: listening");
        Ok(Sandbox {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server and closes its connections.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<watch::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox on `127.0.0.1` with a random port and default options.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// Options for a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash): the base URL of both APIs.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The EngageLab base URL (the same as [`Sandbox::base_url`]).
    pub fn engagelab_base_url(&self) -> String {
        self.base_url()
    }

    /// The Feishu base URL (the same as [`Sandbox::base_url`]).
    pub fn feishu_base_url(&self) -> String {
        self.base_url()
    }

    /// The admin routes' base URL, `http://127.0.0.1:PORT/__sandbox`.
    pub fn admin_url(&self) -> String {
        format!("{}{}", self.base_url(), server::ADMIN_PREFIX)
    }

    /// The full URL of an EngageLab ticket, the id percent-encoded as one path segment.
    pub fn engagelab_ticket_url(&self, id: &str) -> String {
        format!(
            "{}/api/v2/accounts/tickets/{}",
            self.base_url(),
            util::percent_encode_segment(id)
        )
    }

    /// The full URL of a Feishu ticket, the id percent-encoded as one path segment.
    pub fn feishu_ticket_url(&self, id: &str) -> String {
        format!(
            "{}/open-apis/helpdesk/v1/tickets/{}",
            self.base_url(),
            util::percent_encode_segment(id)
        )
    }

    /// The Feishu token refresh URL.
    pub fn feishu_token_url(&self) -> String {
        format!("{}{}", self.base_url(), server::FEISHU_TOKEN)
    }

    /// The credentials the sandbox accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.config.credentials
    }

    /// Stores (or replaces) an EngageLab ticket; its `ticket_id` is set to `id` and an empty
    /// `updated_at` is set to now.
    pub fn seed_engagelab(&self, id: impl Into<String>, ticket: EngageLabTicket) {
        self.shared.seed_engagelab(id.into(), ticket);
    }

    /// Stores an EngageLab ticket with [`EngageLabTicket::default`] contents.
    pub fn seed_engagelab_default(&self, id: impl Into<String>) {
        self.seed_engagelab(id, EngageLabTicket::default());
    }

    /// Stores (or replaces) a Feishu ticket; its `ticket_id` is set to `id` and an `updated_at`
    /// of 0 is set to now.
    pub fn seed_feishu(&self, id: impl Into<String>, ticket: FeishuTicket) {
        self.shared.seed_feishu(id.into(), ticket);
    }

    /// Stores a Feishu ticket with [`FeishuTicket::default`] contents.
    pub fn seed_feishu_default(&self, id: impl Into<String>) {
        self.seed_feishu(id, FeishuTicket::default());
    }

    /// The stored EngageLab ticket, if any.
    pub fn engagelab_ticket(&self, id: &str) -> Option<EngageLabTicket> {
        self.shared.engagelab_ticket(id)
    }

    /// The stored Feishu ticket, if any.
    pub fn feishu_ticket(&self, id: &str) -> Option<FeishuTicket> {
        self.shared.feishu_ticket(id)
    }

    /// How many comments each Feishu ticket holds, for every ticket with at least one: an
    /// update applied twice shows as 2.
    pub fn comment_counts(&self) -> BTreeMap<String, usize> {
        self.shared.comment_counts()
    }

    /// How many comments the Feishu ticket `id` holds (0 when there is no such ticket).
    pub fn comment_count(&self, id: &str) -> usize {
        self.shared
            .feishu_ticket(id)
            .map_or(0, |t| t.comments.len())
    }

    /// Sets or clears (`None` or 0) the rate-limit mode of `provider` (see
    /// [`SandboxBuilder::rate_limit`]); the bucket starts full.
    pub fn set_rate_limit(&self, provider: Provider, per_second: Option<u32>) {
        self.shared.set_rate_limit(provider, per_second);
    }

    /// The rate-limit mode of each provider, requests per second (`None` when off).
    pub fn rate_limits(&self) -> BTreeMap<String, Option<u32>> {
        self.shared.rate_limits()
    }

    /// The request log's size in bytes, as counted against its byte limit.
    pub fn request_log_bytes(&self) -> usize {
        self.shared.request_log_bytes()
    }

    /// Queues `fault` for the next `times` requests matching `scope`. Each scope has its own
    /// FIFO queue; a request takes from its ticket scope first, then from its provider scope.
    /// Faults are served before any other check (auth, validation). `times == 0` does nothing.
    pub fn inject(&self, fault: Fault, scope: Scope, times: u32) {
        self.shared.inject(fault, scope, times);
    }

    /// The faults still queued, scope by scope in the order the scopes were first used.
    pub fn pending_faults(&self) -> Vec<PendingFault> {
        self.shared.pending_faults()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// The recorded requests, oldest first (at most the configured capacity; admin requests
    /// are not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// The newest Feishu access token (the configured one until a refresh).
    pub fn current_access_token(&self) -> String {
        self.shared.current_access_token()
    }

    /// The live Feishu refresh token (the configured one until a refresh rotates it).
    pub fn current_refresh_token(&self) -> String {
        self.shared.current_refresh_token()
    }

    /// Makes every Feishu access token issued so far count as expired.
    pub fn expire_access_tokens(&self) {
        self.shared.expire_access_tokens();
    }

    /// Restores the state the sandbox started with: seeded tickets, fresh tokens, no faults,
    /// zero counters, empty request log, the configured rate limits with full buckets.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, closes every connection and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Dropping the sender wakes the accept loop, which then closes every connection.
        self.shutdown.take();
    }
}
