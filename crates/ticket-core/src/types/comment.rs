//! [`CommentVisibility`]: who may read a comment.

use std::fmt;
use std::str::FromStr;

use crate::TicketError;

/// Who may read a comment. Unset, the provider's default applies (Zendesk: public).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentVisibility {
    /// Visible to the requester.
    Public,
    /// Visible to agents only (an internal note).
    Internal,
}

impl CommentVisibility {
    /// `"public"` or `"internal"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommentVisibility::Public => "public",
            CommentVisibility::Internal => "internal",
        }
    }
}

impl fmt::Display for CommentVisibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CommentVisibility {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" => Ok(CommentVisibility::Public),
            "internal" | "private" => Ok(CommentVisibility::Internal),
            _ => Err(TicketError::invalid(
                "comment.visibility",
                format!("unknown value {s:?}; expected public or internal"),
            )),
        }
    }
}
