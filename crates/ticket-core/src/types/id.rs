//! [`TicketId`]: the id of one ticket, safe as a URL path segment.

use std::fmt;
use std::str::FromStr;

use crate::TicketError;

/// A ticket id, validated to be safe as one URL path segment.
///
/// It is non-empty, has no control characters, no surrounding whitespace, and is not `.` or
/// `..`. Providers percent-encode it as a single path segment, so `a/b` or `../x` can never
/// change the request path.
///
/// ```
/// use helpdesk_ticket_core::TicketId;
/// assert_eq!(TicketId::new("tk_20251104_789abc")?.as_str(), "tk_20251104_789abc");
/// assert!(TicketId::new("").is_err());
/// assert!(TicketId::new("a\nb").is_err());
/// # Ok::<(), helpdesk_ticket_core::TicketError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(String);

impl TicketId {
    /// Validates `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, TicketError> {
        let id = id.into();
        let refuse = |reason: &str| Err(TicketError::invalid("ticket_id", reason));
        if id.is_empty() {
            return refuse("must not be empty");
        }
        if id.chars().any(char::is_control) {
            return refuse("must not contain control characters");
        }
        if id.trim() != id {
            return refuse("must not start or end with whitespace");
        }
        if id == "." || id == ".." {
            return refuse("must not be `.` or `..`");
        }
        if id.len() > 256 {
            return refuse("must be at most 256 bytes");
        }
        Ok(Self(id))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TicketId {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for TicketId {
    type Error = TicketError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for TicketId {
    type Error = TicketError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl AsRef<str> for TicketId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
