//! The JSON forms (feature `serde`): of [`TicketUpdate`](crate::TicketUpdate) and
//! [`UpdateReceipt`](crate::UpdateReceipt) (`update.rs`, `receipt.rs`), of what reading gives
//! (`read.rs`), and of the small value types (`values.rs`).
//!
//! Deserializing a [`TicketUpdate`](crate::TicketUpdate) runs exactly the checks of
//! [`TicketUpdateBuilder::build`](crate::TicketUpdateBuilder::build) (the form is fed through
//! the builder), and unknown keys are refused, so a typo in a file of updates is an error
//! rather than a field silently not set.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod read;
mod receipt;
mod update;
mod values;

/// A time as the JSON forms write one: RFC 3339 text.
fn rfc3339(time: Option<OffsetDateTime>) -> Result<Option<String>, time::error::Format> {
    time.map(|t| t.format(&Rfc3339)).transpose()
}

/// RFC 3339 text read back; the error names `key`.
fn parse_rfc3339(key: &str, text: Option<String>) -> Result<Option<OffsetDateTime>, String> {
    text.map(|t| {
        OffsetDateTime::parse(&t, &Rfc3339)
            .map_err(|e| format!("{key} {t:?} is not RFC 3339 ({e})"))
    })
    .transpose()
}
