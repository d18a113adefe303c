//! The provider-neutral core of the helpdesk ticket workspace: the [`TicketUpdater`] trait,
//! the domain types of an update, and [`TicketError`].
//!
//! This crate does no I/O. Providers (`provider-engagelab`, `provider-feishu`, or your own)
//! implement [`TicketUpdater`]; applications usually depend on `helpdesk`, which
//! re-exports everything here.
//!
//! # Implementing a provider
//!
//! ```
//! use async_trait::async_trait;
//! use helpdesk_ticket_core::{
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
//!
//! # The JSON form (feature `serde`)
//!
//! [`TicketUpdate`] and [`UpdateReceipt`] implement `Serialize` and `Deserialize`. An update
//! is an object with the unified field names; every key is optional, unknown keys and keys
//! given twice are refused, `null` means "not set", and reading runs exactly the checks of
//! [`TicketUpdateBuilder::build`]:
//!
//! ```json
//! {
//!   "title": "Printer jammed",
//!   "description": "A4 paper is stuck.",
//!   "priority": "high",
//!   "kind": "incident",
//!   "tags": ["printer"],
//!   "custom_fields": [
//!     {"key": "device_sn", "value": "PRN-2024-001"},
//!     {"id": 360001, "value": 3},
//!     {"key": "vip", "id": "6981", "value": true}
//!   ],
//!   "attachments": ["https://files.example.com/a.png"],
//!   "status": "in_progress",
//!   "solved": false,
//!   "comment": {"body": "Checked on site.", "visibility": "internal"},
//!   "provider_fields": {"feishu": {"channel": 1}},
//!   "lenient": true
//! }
//! ```
//!
//! - `status`: a unified name (`open`, `in_progress`, `pending`, `on_hold`, `solved`,
//!   `closed`) or one provider's exact value, `{"feishu": "closed_by_bot"}`.
//! - `custom_fields`: items with `key`, `id` (number or string) or both, and a `value` that
//!   is any JSON scalar.
//! - `comment`: its text, or `{"body": …, "visibility": "public" | "internal"}`.
//! - `lenient`: `true` selects [`UnsupportedPolicy::Lenient`].
//! - `merge`, `verify`: `true` selects merge mode and verification (below); `add_tags`,
//!   `remove_tags`, `unset_custom_fields`: lists of the relative edits of merge mode.
//!
//! A receipt is `{"provider", "ticket_id", "updated_at" (RFC 3339 or null), "request_id"
//! (or null), "dropped" (field names such as `"custom_fields.id"`), "attempts"}`, with
//! `"merge"` and `"verification"` when the update had them. A [`TicketSnapshot`] is written
//! (not read) with every unified field and the provider's `raw` JSON.
//!
//! # Reading, merge mode and verification
//!
//! A provider that can read ([`Capabilities::read`]) implements [`TicketUpdater::read`]. An
//! update in merge mode ([`TicketUpdateBuilder::merge`]) is resolved against the ticket as
//! read ([`TicketUpdate::merged_with`]): it changes only the fields it names, even where the
//! provider's update replaces or resets what it is not given. With verification
//! ([`TicketUpdateBuilder::verify`]) the ticket is read back and compared ([`compare()`],
//! [`Verification`]). [`update_with_reads`] is the sequence every reader runs.
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

mod compare;
mod error;
mod fields;
mod merge;
mod receipt;
#[cfg(feature = "serde")]
mod serde_form;
mod server_error;
mod snapshot;
mod types;
mod update;
mod updater;
mod verify;

pub use compare::{Check, FieldCheck, compare, normalize_text};
pub use error::{ErrorKind, Sent, TicketError};
pub use fields::{Capabilities, Field, FieldSet, UnsupportedPolicy};
pub use merge::Merged;
pub use receipt::{RequestPreview, UpdateReceipt};
pub use server_error::{ErrorCode, ServerError};
pub use snapshot::{SnapshotField, TicketSnapshot};
pub use types::{
    Attachment, CommentVisibility, CustomField, CustomFieldId, CustomValue, NativeStatus, Priority,
    Status, TicketId, TicketKind, TicketStatus,
};
pub use update::{Plan, TicketUpdate, TicketUpdateBuilder};
/// A [`mockall`](https://docs.rs/mockall) mock of [`TicketUpdater`], for tests of code that takes
/// one (`expect_update`, `expect_capabilities`, …). Its generated internals stay private.
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use updater::MockTicketUpdater;
pub use updater::TicketUpdater;
pub use verify::{Drift, MergeReport, Verification, update_with_reads};
