//! The provider-neutral core of the helpdesk ticket workspace: the [`TicketUpdater`] trait,
//! the domain types of an update, and [`TicketError`].
//!
//! This crate does no I/O. Providers (`provider-engagelab`, `provider-feishu`, or your own)
//! implement [`TicketUpdater`]; applications usually depend on `ticket-facade`, which
//! re-exports everything here.
//!
//! # Implementing a provider
//!
//! ```
//! use async_trait::async_trait;
//! use ticket_core::{
//!     Capabilities, Field, FieldSet, RequestPreview, TicketError, TicketId, TicketUpdate,
//!     TicketUpdater, UpdateReceipt,
//! };
//!
//! /// A provider that only records titles.
//! struct Notebook;
//!
//! const CAPS: Capabilities = Capabilities::new(FieldSet::of(&[Field::Title]));
//!
//! #[async_trait]
//! impl TicketUpdater for Notebook {
//!     fn provider(&self) -> &str {
//!         "notebook"
//!     }
//!     fn capabilities(&self) -> Capabilities {
//!         CAPS
//!     }
//!     fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
//!         let plan = update.plan("notebook", &CAPS, &[])?;
//!         let body = update.title().unwrap_or_default().to_owned();
//!         Ok(RequestPreview::new("WRITE", id.as_str(), vec![], body).with_dropped(plan.dropped))
//!     }
//!     async fn update(&self, id: &TicketId, update: &TicketUpdate) -> Result<UpdateReceipt, TicketError> {
//!         let plan = update.plan("notebook", &CAPS, &[])?;
//!         Ok(UpdateReceipt::new("notebook", id.clone()).with_dropped(plan.dropped))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let update = TicketUpdate::builder().title("Hello").comment("hi").lenient().build()?;
//! let receipt = Notebook.update(&TicketId::new("42")?, &update).await?;
//! assert_eq!(receipt.dropped, vec![Field::Comment]);
//! # Ok::<(), TicketError>(())
//! # }).unwrap();
//! ```
// Library code never panics on input: these are errors here (tests may use them).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
mod fields;
mod receipt;
mod types;
mod update;

use async_trait::async_trait;

pub use error::{ErrorKind, Sent, ServerError, TicketError};
pub use fields::{Capabilities, Field, FieldSet, UnsupportedPolicy};
pub use receipt::{RequestPreview, UpdateReceipt};
pub use types::{Attachment, CustomField, Priority, TicketId, TicketKind, TicketStatus};
pub use update::{Plan, TicketUpdate, TicketUpdateBuilder};

/// Updates tickets in one helpdesk.
///
/// The contract every implementation keeps:
/// - It is `Send + Sync` and object-safe: share one as `Arc<dyn TicketUpdater>`.
/// - [`update`](Self::update) checks the update against the provider with
///   [`TicketUpdate::plan`] before any request is made, so invalid or unsupported input fails
///   locally with a typed error and nothing is sent.
/// - A field the provider cannot carry is never dropped silently: it is refused (strict
///   policy) or listed in [`UpdateReceipt::dropped`] (lenient policy).
/// - [`preview`](Self::preview) renders exactly the request [`update`](Self::update) would
///   send, with secrets redacted, without sending it.
/// - No secret appears in any error, preview, log line or `Debug` output.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TicketUpdater: Send + Sync {
    /// The provider's registry name, such as `"engagelab"` or `"feishu"`.
    fn provider(&self) -> &str;

    /// The unified fields this provider can carry, and what it requires.
    fn capabilities(&self) -> Capabilities;

    /// The request an update would send, with secrets redacted. Sends nothing.
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError>;

    /// Applies `update` to ticket `id`.
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError>;
}

/// Lets `Arc<dyn TicketUpdater>` be debug-printed (and `unwrap_err`ed) without making `Debug`
/// a supertrait every provider must implement. Shows the provider name only.
impl std::fmt::Debug for dyn TicketUpdater + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketUpdater")
            .field("provider", &self.provider())
            .finish_non_exhaustive()
    }
}
