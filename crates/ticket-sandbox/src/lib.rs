//! A stateful, in-process HTTP emulator of two helpdesk APIs — EngageLab LiveDesk and
//! Feishu/Lark Helpdesk — for testing integrations over real loopback HTTP.
//!
//! One server serves both APIs on one port (their paths do not collide):
//!
//! | route | what |
//! |---|---|
//! | `PUT`/`GET /api/v2/accounts/tickets/{ticket_id}` | EngageLab update / read |
//! | `GET /v2/accounts/tickets/{ticket_id}` | EngageLab read on the prefix other pages give ([`EngageLabGetPaths`]) |
//! | `PUT /open-apis/helpdesk/v1/tickets/{ticket_id}` | Feishu update (user access token) |
//! | `GET /open-apis/helpdesk/v1/tickets/{ticket_id}` | Feishu read (tenant access token), in the read's own form |
//! | `GET /open-apis/helpdesk/v1/ticket_customized_fields` | Feishu ticket custom field definitions |
//! | `POST /open-apis/authen/v2/oauth/token` | Feishu user token refresh (rotating refresh tokens) |
//! | `POST /open-apis/auth/v3/tenant_access_token/internal` | Feishu tenant token (app id + secret) |
//! | `/__sandbox/...` | admin routes (JSON; see the crate README) |
//!
//! It validates requests the way the vendor documents describe them, keeps tickets in memory,
//! counts requests and connections, records the last requests received (raw path included), and
//! serves injected [`Fault`]s: rate limits, server errors, latency, dropped connections,
//! truncated or non-JSON bodies, auth errors with HTTP 200, expired tokens, and updates that
//! succeed without storing a field ([`Fault::SilentDrop`]). Where the documents leave a choice
//! (what an omitted EngageLab priority does, which `GET` prefix answers) each instance picks one.
//!
//! The server runs on the current Tokio runtime and stops when the [`Sandbox`] is dropped.
//!
//! Redis is not emulated: [`RedisServer`] starts a real `redis-server` on a free loopback port
//! for the tests and benchmarks that share state through it.
//!
//! # Example
//!
//! ```
//! use helpdesk_ticket_sandbox::{Fault, Sandbox, Scope};
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
mod builder;
mod engagelab;
mod fault;
mod feishu;
mod model;
mod ratelimit;
mod redis_server;
mod sandbox;
mod server;
mod state;
mod util;

use std::time::Duration;

pub use builder::SandboxBuilder;
pub use fault::{DropTarget, Fault, PendingFault, Scope};
pub use model::{
    Credentials, EngageLabAttachment, EngageLabGetPaths, EngageLabTicket, FeishuComment,
    FeishuCustomizedField, FeishuDropdownOption, FeishuFieldDef, FeishuTicket, OmittedPriority,
    RecordedRequest, Stats,
};
pub use ratelimit::Provider;
pub use redis_server::RedisServer;
pub use sandbox::Sandbox;

/// The default Feishu access token lifetime, user and tenant: two hours.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);

/// How much life a tenant token must have left to be handed out again by default: the tenant
/// token page's 30 minutes.
pub const DEFAULT_TENANT_TOKEN_RENEW_WINDOW: Duration = Duration::from_secs(30 * 60);

/// Feishu ticket reads a second in the rate-limit mode by default: the Get Ticket page's 10/s.
pub const DEFAULT_FEISHU_GET_RATE_LIMIT: u32 = 10;

/// How many requests the log keeps by default.
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 1000;

/// How many bytes (bodies, headers, paths) the request log keeps by default: 16 MiB.
pub const DEFAULT_REQUEST_LOG_MAX_BYTES: usize = 16_777_216;

/// How long a client has to send a complete request head by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
