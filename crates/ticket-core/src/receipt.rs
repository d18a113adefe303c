//! What a successful update returns, and what a dry run shows.

use std::fmt;

use time::OffsetDateTime;

use crate::{Field, MergeReport, TicketId, Verification};

/// Proof that a provider accepted an update.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateReceipt {
    /// The provider that accepted the update.
    pub provider: String,
    /// The ticket that was updated.
    pub ticket_id: TicketId,
    /// When the provider says the ticket was updated, if it says (EngageLab does).
    pub updated_at: Option<OffsetDateTime>,
    /// The provider's update time as it sent it, when its form was not exact (no offset, or
    /// not understood: then `updated_at` is `None`). Secret-free.
    pub updated_at_raw: Option<String>,
    /// The ticket id the provider's answer confirmed, when it names one (EngageLab's
    /// `data.ticket_id`). A provider that sees another id than the requested one fails the
    /// update instead.
    pub confirmed_ticket_id: Option<String>,
    /// The provider's request id, if it gave one (Feishu's `X-Tt-Logid`).
    pub request_id: Option<String>,
    /// Unified fields dropped under the lenient policy; always empty under the strict one.
    pub dropped: Vec<Field>,
    /// How many HTTP attempts the update took (1 without retries).
    pub attempts: u32,
    /// In merge mode: the fields filled from the read before the update (boxed: most
    /// receipts have none, and receipts travel in bulk).
    pub merge: Option<Box<MergeReport>>,
    /// With verification: what reading the ticket back found (boxed, as `merge`).
    pub verification: Option<Box<Verification>>,
}

impl UpdateReceipt {
    /// A receipt for `ticket_id` from `provider`, after one attempt.
    pub fn new(provider: impl Into<String>, ticket_id: TicketId) -> Self {
        Self {
            provider: provider.into(),
            ticket_id,
            updated_at: None,
            updated_at_raw: None,
            confirmed_ticket_id: None,
            request_id: None,
            dropped: Vec::new(),
            attempts: 1,
            merge: None,
            verification: None,
        }
    }

    /// Sets what merge mode did.
    #[must_use]
    #[inline]
    pub fn with_merge(mut self, merge: Option<MergeReport>) -> Self {
        self.merge = merge.map(Box::new);
        self
    }

    /// Sets the verification.
    #[must_use]
    #[inline]
    pub fn with_verification(mut self, verification: Option<Verification>) -> Self {
        self.verification = verification.map(Box::new);
        self
    }

    /// Sets when the ticket was updated.
    #[must_use]
    #[inline]
    pub fn with_updated_at(mut self, updated_at: Option<OffsetDateTime>) -> Self {
        self.updated_at = updated_at;
        self
    }

    /// Sets the request id.
    #[must_use]
    #[inline]
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Sets the update time as the provider sent it.
    #[must_use]
    #[inline]
    pub fn with_updated_at_raw(mut self, raw: Option<String>) -> Self {
        self.updated_at_raw = raw;
        self
    }

    /// Sets the ticket id the provider confirmed.
    #[must_use]
    #[inline]
    pub fn with_confirmed_ticket_id(mut self, id: Option<String>) -> Self {
        self.confirmed_ticket_id = id;
        self
    }

    /// Sets the dropped fields.
    #[must_use]
    #[inline]
    pub fn with_dropped(mut self, dropped: Vec<Field>) -> Self {
        self.dropped = dropped;
        self
    }

    /// Sets the number of attempts.
    #[must_use]
    #[inline]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }
}

/// Exactly what an update would send, with every secret header value replaced by
/// [`RequestPreview::REDACTED`]. Built without sending anything: use it for dry runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestPreview {
    /// The HTTP method, such as `PUT`.
    pub method: String,
    /// The full URL, with the ticket id percent-encoded.
    pub url: String,
    /// Header names and values in the order they are sent; secret values are redacted.
    pub headers: Vec<(String, String)>,
    /// The request body, byte for byte (JSON is UTF-8).
    pub body: String,
    /// Unified fields the update would drop under the lenient policy.
    pub dropped: Vec<Field>,
}

impl RequestPreview {
    /// The text that stands in for a secret header value.
    pub const REDACTED: &'static str = "<redacted>";

    /// A preview of a request.
    pub fn new(
        method: impl Into<String>,
        url: impl Into<String>,
        headers: Vec<(String, String)>,
        body: impl Into<String>,
    ) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers,
            body: body.into(),
            dropped: Vec::new(),
        }
    }

    /// Sets the fields that would be dropped.
    #[must_use]
    #[inline]
    pub fn with_dropped(mut self, dropped: Vec<Field>) -> Self {
        self.dropped = dropped;
        self
    }
}

impl fmt::Display for RequestPreview {
    /// Renders the request as HTTP/1.1-style text: request line, headers, blank line, body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        writeln!(f)?;
        f.write_str(&self.body)?;
        if !self.dropped.is_empty() {
            let names: Vec<&str> = self.dropped.iter().map(|d| d.as_str()).collect();
            write!(f, "\n(dropped as unsupported: {})", names.join(", "))?;
        }
        Ok(())
    }
}
