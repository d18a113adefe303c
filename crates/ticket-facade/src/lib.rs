//! One API to update helpdesk tickets, whatever the helpdesk.
//!
//! Pick the provider at runtime from configuration; compile in only the backends you enable
//! with Cargo features (`engagelab`, `feishu`, both on by default). Everything in
//! `ticket-core` is re-exported here, so an application depends on this crate alone.
//!
//! ```no_run
//! use ticket_facade::{Config, Priority, TicketId, TicketUpdate};
//!
//! # async fn run() -> Result<(), ticket_facade::TicketError> {
//! // TICKET_PROVIDER=engagelab TICKET_ENGAGELAB_API_KEY=… TICKET_ENGAGELAB_API_SECRET=…
//! let updater = ticket_facade::connect(&Config::from_env())?;
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
//! | provider | keys (`TICKET_<PROVIDER>_<KEY>` in the environment) |
//! |---|---|
//! | `engagelab` | `api_key`, `api_secret` (required); `base_url` |
//! | `feishu` | `helpdesk_id`, `helpdesk_token` (required); `user_access_token` (static), or `app_id`, `app_secret`, a token store (`token_store` = `file` with `refresh_token_file`, or `redis` with `redis_url` and `redis_key`, feature `redis`) and `refresh_token` while the store is empty (refreshing); `region` (`feishu`/`lark`) or `base_url` |
//! | every provider | `connect_timeout_ms`, `request_timeout_ms`, `max_response_bytes`, `max_retries`, `retry_initial_backoff_ms`, `retry_max_backoff_ms`, `retry_budget_ms`, `retry_jitter` |
//!
//! # Adding a provider
//!
//! Everything a provider needs is in [`kit`] (for a JSON-over-HTTP helpdesk, [`kit::JsonApi`]
//! and [`kit::JsonClient`] implement the trait for you); the `testkit` feature gives the
//! conformance suite every provider should pass. Implement [`TicketUpdater`] (or use the kit)
//! and register a factory once, at start-up ([`replace`] to allow registering again):
//!
//! ```
//! use std::sync::Arc;
//! use ticket_facade::{Config, Settings, TicketError, TicketUpdater};
//! # use ticket_facade::{Capabilities, FieldSet, RequestPreview, TicketId, TicketUpdate, UpdateReceipt};
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
//! ticket_facade::register("acme", build_acme)?;
//! let updater = ticket_facade::connect(&Config::from_map([("provider", "acme"), ("acme.token", "t")]))?;
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
mod registry;

pub use ticket_core::*;

pub use crate::config::{Config, ENV_PREFIX, PROVIDER_VAR};
pub use crate::registry::{
    BUILTIN, Factory, Registry, Settings, connect, providers, register, replace,
};
pub use ticket_http::{HttpOptions, RetryPolicy};

pub mod kit;
#[cfg(feature = "testkit")]
pub mod testkit;

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
