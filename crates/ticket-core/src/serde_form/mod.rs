//! The JSON forms (feature `serde`): of [`TicketUpdate`](crate::TicketUpdate) and
//! [`UpdateReceipt`](crate::UpdateReceipt) (`update.rs`, `receipt.rs`), of what reading gives
//! (`read.rs`), and of the small value types (`values.rs`).
//!
//! Deserializing a [`TicketUpdate`](crate::TicketUpdate) runs exactly the checks of
//! [`TicketUpdateBuilder::build`](crate::TicketUpdateBuilder::build) (the form is fed through
//! the builder), and unknown keys are refused, so a typo in a file of updates is an error
//! rather than a field silently not set.

mod read;
mod receipt;
mod update;
mod values;
