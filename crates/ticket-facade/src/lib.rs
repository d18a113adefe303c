//! One API to update helpdesk tickets, whatever the helpdesk.
//!
//! Pick the provider at runtime from configuration; compile in only the backends you enable
//! with Cargo features (`engagelab`, `feishu`, both on by default). Everything in
//! `ticket-core` is re-exported here, so an application depends on this crate alone.
//!
//! ```no_run
//! use helpdesk::{Config, Priority, TicketId, TicketUpdate};
//!
//! # async fn run() -> Result<(), helpdesk::TicketError> {
//! // TICKET_PROVIDER=engagelab TICKET_ENGAGELAB_API_KEY=… TICKET_ENGAGELAB_API_SECRET=…
//! let updater = helpdesk::connect(&Config::from_env())?;
//! let update = TicketUpdate::builder()
//!     .title("Printer jammed (updated)")
//!     .description("A technician is on the way.")
//!     .priority(Priority::High)
//!     .build()?;
//! let receipt = updater.update(&TicketId::new("tk_20251104_789abc")?, &update).await?;
//! println!("{} accepted the update", receipt.provider);
//! # Ok(()) }
//! ```
//!
//! # Configuration keys
//!
//! A key is written `TICKET_<PROVIDER>_<KEY>` in the environment, `<key>` in the provider's
//! TOML table, or `<provider>.<key>` in a map. Secret values are never printed. The keys are
//! data ([`ConfigKey`]): [`HTTP_KEYS`] for every provider, and each provider's own
//! ([`Registry::keys`], [`provider_keys`]); `connect` refuses any other key before the
//! provider's factory runs, naming it and the known ones. This table is tested against them:
//!
//! | provider | key | value | secret | meaning |
//! |---|---|---|---|---|
//! | `engagelab` | `api_key` | text | yes | required: the API key (the user name of Basic auth) |
//! | `engagelab` | `api_secret` | text | yes | required: the API secret |
//! | `engagelab` | `base_url` | URL | no | default `https://livedesk-api.engagelab.com` (`http://` to loopback only) |
//! | `engagelab` | `read_path` | `api` or `bare` | no | the read's path: `api` (default, `/api/v2/accounts/tickets/:id`, the update's prefix) or `bare` (`/v2/…`, as some Get Ticket pages write it) |
//! | `feishu` | `helpdesk_id` | text | no | required: the helpdesk id |
//! | `feishu` | `helpdesk_token` | text | yes | required: the helpdesk token |
//! | `feishu` | `user_access_token` | text | yes | a static user access token (required without `app_id`); with `app_id`, it only seeds the first access token |
//! | `feishu` | `app_id` | text | no | the app id: reads take a tenant token made from it and `app_secret` (without them, reading fails and updating works); and, unless `user_token = static`, a refreshing user token (with a token store) |
//! | `feishu` | `app_secret` | text | yes | the app secret (required with `app_id`) |
//! | `feishu` | `user_token` | `static` or `refreshing` | no | `refreshing` (default with `app_id`) or `static` (default without: `user_access_token` as given, `app_id` only for reads) |
//! | `feishu` | `refresh_token` | text | yes | the seed refresh token, used while the token store holds none |
//! | `feishu` | `token_store` | `file` or `redis` | no | where rotated tokens are kept: `file` (default) or `redis` (feature `redis`; at `redis_url`) |
//! | `feishu` | `refresh_token_file` | path | no | the file store's path (required with `file`; its directory must exist and be writable) |
//! | `feishu` | `redis_key` | text | no | the Redis key, default `ticket:feishu:<app_id>:token` (the lock is `<key>:lock`) |
//! | `feishu` | `region` | `feishu` or `lark` | no | `feishu` (default, `open.feishu.cn`) or `lark` (`open.larksuite.com`) |
//! | `feishu` | `base_url` | URL | no | instead of `region` (`http://` to loopback only) |
//! | every provider | `connect_timeout_ms` | milliseconds | no | limit on connecting (TCP and TLS), default 5000 |
//! | every provider | `request_timeout_ms` | milliseconds | no | limit on one attempt, default 15000 (below the retry budget) |
//! | every provider | `max_response_bytes` | whole number | no | larger responses are refused unread, default 1048576 (1 MiB) |
//! | every provider | `max_retries` | whole number | no | retries after the first attempt, default 3 (`0` turns retrying off) |
//! | every provider | `retry_initial_backoff_ms` | milliseconds | no | the first backoff, doubling each retry, default 200 |
//! | every provider | `retry_max_backoff_ms` | milliseconds | no | the largest backoff, default 5000 |
//! | every provider | `retry_budget_ms` | milliseconds | no | no retry starts later than this after the first attempt, default 30000 |
//! | every provider | `retry_jitter` | `true` or `false` | no | a random extra wait of up to one backoff, default `true` |
//! | every provider | `retry_non_idempotent` | `true` or `false` | no | retry an update that is not idempotent (a Feishu comment) after an error it may have followed, default `false` |
//! | every provider | `proxy` | URL | yes | `http://` or `https://` proxy (`user:password@` allowed) for every non-loopback request, default from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` |
//! | every provider | `no_proxy` | text | no | hosts never proxied (`example.com`, `.corp`, `10.0.0.0/8`, `*`), default from `NO_PROXY` |
//! | every provider | `ca_file` | path | no | a PEM file of extra root certificates, trusted beside the platform's |
//! | every provider | `pool_max_idle_per_host` | whole number | no | idle keep-alive connections kept per host, default 16 |
//! | every provider | `pool_idle_timeout_ms` | milliseconds | no | how long an idle connection is kept, default 30000 |
//! | every provider | `rate_limit` | rate (`N/s`, `N/min`) | no | the rate budget of updates, for every client of this configuration (and, with `rate_budget = redis`, every replica); turns the budget on; default none |
//! | every provider | `read_rate_limit` | rate (`N/s`, `N/min`) | no | the rate budget of reads; default the provider's documented read rate (Feishu 10/s) when the budget is on |
//! | every provider | `rate_budget` | `off`, `local` or `redis` | no | `local` (this process; the default when a rate is set), `redis` (shared by every replica, feature `redis`) or `off` (the default without a rate) |
//! | every provider | `redis_url` | URL | yes | the Redis server of `rate_budget = redis` and of Feishu's `token_store = redis`: `redis://[:password@]host[:port][/db]` |
//! | every provider | `rate_budget_prefix` | text | no | with `redis`: the budget's keys are `<prefix>:{<provider>:<app>}:update` (and `:get`, `:replicas`), default `ticket:rate` |
//! | every provider | `rate_budget_name` | text | no | with `redis`: the app's name in the budget's keys, default the provider's (Feishu `helpdesk_id`, EngageLab a hash of `api_key`) |
//! | every provider | `rate_budget_replicas` | whole number | no | with `redis`: the fewest replicas the fallback assumes while Redis cannot be reached (each keeps to the rate divided by the replicas last seen, at least this), default 1 |
//! | every provider | `rate_budget_timeout_ms` | milliseconds | no | with `redis`: the longest a request waits for Redis before it draws from its local share, default 500 |
//!
//! # Adding a provider
//!
//! Everything a provider needs is in [`kit`] (for a JSON-over-HTTP helpdesk, [`kit::JsonApi`]
//! and [`kit::JsonClient`] implement the trait for you); the `testkit` feature gives the
//! conformance suite every provider should pass. Implement [`TicketUpdater`] (or use the kit)
//! and register its configuration keys and a factory once, at start-up ([`replace`] to allow
//! registering again):
//!
//! ```
//! use std::sync::Arc;
//! use helpdesk::{Config, ConfigKey, Settings, TicketError, TicketUpdater, ValueKind};
//! # use helpdesk::{Capabilities, FieldSet, RequestPreview, TicketId, TicketUpdate, UpdateReceipt};
//! # struct Acme;
//! # #[async_trait::async_trait]
//! # impl TicketUpdater for Acme {
//! #     fn provider(&self) -> &str { "acme" }
//! #     fn capabilities(&self) -> Capabilities { Capabilities::new(FieldSet::EMPTY) }
//! #     fn preview(&self, _: &TicketId, _: &TicketUpdate) -> Result<RequestPreview, TicketError> { unimplemented!() }
//! #     async fn update(&self, _: &TicketId, _: &TicketUpdate) -> Result<UpdateReceipt, TicketError> { unimplemented!() }
//! # }
//!
//! fn build_acme(settings: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
//!     let _token = settings.required_secret("token")?; // a SecretString
//!     Ok(Arc::new(Acme))
//! }
//!
//! const ACME_KEYS: &[ConfigKey] =
//!     &[ConfigKey::new("token", ValueKind::Text, "required: the API token").secret()];
//!
//! helpdesk::register("acme", ACME_KEYS, build_acme)?;
//! let updater = helpdesk::connect(&Config::from_map([("provider", "acme"), ("acme.token", "t")]))?;
//! assert_eq!(updater.provider(), "acme");
//! # Ok::<(), TicketError>(())
//! ```
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n# Feature flags\n\n", document_features::document_features!())
)]
// docs.rs (`--cfg docsrs`, nightly) labels feature-gated items with the feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Library code never panics on input: these are errors here (tests may use them).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The README's examples are compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod builtin;
mod config;
mod keys;
mod registry;
mod settings;

pub use ticket_core::*;

pub use crate::config::{Config, ENV_PREFIX, PROVIDER_VAR};
pub use crate::keys::{ConfigKey, HTTP_KEYS, ValueKind};
pub use crate::registry::{
    BUILTIN, Connected, Factory, Registry, connect, connect_budgeted, provider_keys, providers,
    register, replace,
};
pub use crate::settings::Settings;
/// The spans and (feature `metrics`) metrics of every update: names, fields, labels.
pub use ticket_http::telemetry;
pub use ticket_http::{
    AttemptHook, BudgetStatus, Hooks, HttpOptions, Rate, RateBudget, RetryPolicy,
};

pub mod kit;
/// The conformance suite every provider runs from its own tests (feature `testkit`):
/// `ticket-http`'s, the one suite, re-exported here for provider authors.
#[cfg(feature = "testkit")]
pub use ticket_http::testkit;

/// The EngageLab LiveDesk backend (feature `engagelab`).
#[cfg(feature = "engagelab")]
pub mod engagelab {
    pub use provider_engagelab::*;
}

/// The Feishu / Lark Helpdesk backend (feature `feishu`).
#[cfg(feature = "feishu")]
pub mod feishu {
    pub use provider_feishu::*;
}
