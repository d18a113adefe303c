//! Validated values that make up an update: ids, enumerations, custom fields, attachments.

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
/// use ticket_core::TicketId;
/// assert_eq!(TicketId::new("tk_20251104_789abc")?.as_str(), "tk_20251104_789abc");
/// assert!(TicketId::new("").is_err());
/// assert!(TicketId::new("a\nb").is_err());
/// # Ok::<(), ticket_core::TicketError>(())
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

/// Declares a closed enumeration with stable lowercase names and a parser.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        // Deliberately exhaustive: every provider's mapping must handle every value, so a
        // new value is a compile error in a mapping rather than a silent `_` arm.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable lowercase name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = TicketError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                $(if lower == $text { return Ok($name::$variant); })+
                Self::parse_alias(&lower).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    TicketError::invalid(
                        $field,
                        format!("unknown value {s:?}; expected one of {}", names.join(", ")),
                    )
                })
            }
        }
    };
}

named_enum!(
    /// How urgent a ticket is.
    ///
    /// Parsing is case-insensitive and accepts `normal` as [`Priority::Medium`]: the EngageLab
    /// document's own example sends `normal`, which its table does not list. Providers always
    /// send a listed value.
    ///
    /// ```
    /// use ticket_core::Priority;
    /// assert_eq!("normal".parse::<Priority>()?, Priority::Medium);
    /// assert_eq!("HIGH".parse::<Priority>()?, Priority::High);
    /// # Ok::<(), ticket_core::TicketError>(())
    /// ```
    Priority, "priority" {
        /// Low.
        Low => "low",
        /// Medium (also parsed from `normal`).
        Medium => "medium",
        /// High.
        High => "high",
        /// Urgent.
        Urgent => "urgent",
    }
);

impl Priority {
    fn parse_alias(lower: &str) -> Option<Self> {
        (lower == "normal").then_some(Priority::Medium)
    }
}

named_enum!(
    /// What kind of work a ticket is.
    TicketKind, "kind" {
        /// Something is broken.
        Incident => "incident",
        /// Someone asks something.
        Question => "question",
        /// The root cause behind incidents.
        Problem => "problem",
        /// A piece of work to do.
        Task => "task",
    }
);

impl TicketKind {
    fn parse_alias(_lower: &str) -> Option<Self> {
        None
    }
}

named_enum!(
    /// Where a ticket stands in its workflow (the Feishu helpdesk's statuses).
    TicketStatus, "status" {
        /// Waiting for a first response.
        AwaitingResponse => "awaiting_response",
        /// Being worked on.
        InProgress => "in_progress",
        /// Queued for an agent.
        Queued => "queued",
        /// On hold.
        Pending => "pending",
        /// Waiting for the user to answer.
        AwaitingUser => "awaiting_user",
        /// Closed by a bot.
        ClosedByBot => "closed_by_bot",
        /// Closed by a person.
        ClosedManually => "closed_manually",
    }
);

impl TicketStatus {
    fn parse_alias(_lower: &str) -> Option<Self> {
        None
    }
}

/// One custom field: a key, a string value and, for providers that address custom fields by
/// id, an optional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    key: String,
    value: String,
    id: Option<String>,
}

impl CustomField {
    /// A custom field addressed by key. The key must not be empty.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Result<Self, TicketError> {
        let key = key.into();
        if key.trim().is_empty() {
            return Err(TicketError::invalid(
                "custom_fields",
                "a custom field key must not be empty",
            ));
        }
        Ok(Self {
            key,
            value: value.into(),
            id: None,
        })
    }

    /// Sets the provider's id of this custom field (Feishu's `id`). Must not be empty.
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Self, TicketError> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(TicketError::invalid(
                "custom_fields.id",
                format!("the id of custom field {:?} must not be empty", self.key),
            ));
        }
        self.id = Some(id);
        Ok(self)
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The provider's id, when set.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// A file attached to a ticket, given by an `http(s)` URL the helpdesk can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    file_url: String,
}

impl Attachment {
    /// An attachment at `file_url`, which must be an absolute `http://` or `https://` URL with
    /// a host and no whitespace or control characters.
    pub fn new(file_url: impl Into<String>) -> Result<Self, TicketError> {
        let file_url = file_url.into();
        let lower = file_url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let valid = match rest {
            Some(rest) => {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && !file_url
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(TicketError::invalid(
                "attachments",
                format!("{file_url:?} is not an absolute http(s) URL"),
            ));
        }
        Ok(Self { file_url })
    }

    /// The file's URL.
    pub fn file_url(&self) -> &str {
        &self.file_url
    }
}
