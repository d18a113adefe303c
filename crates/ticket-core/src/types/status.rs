//! The status an update sets: the unified [`TicketStatus`], one provider's [`NativeStatus`],
//! and [`Status`], which is either.

use std::fmt;
use std::str::FromStr;

use crate::TicketError;

named_enum!(
    /// Where a ticket stands in its workflow: the unified statuses every provider maps.
    ///
    /// | unified | Feishu | Zendesk |
    /// |---|---|---|
    /// | `open` | 1 awaiting response | `open` |
    /// | `in_progress` | 2 in progress | `open` |
    /// | `pending` (waiting for the requester) | 5 awaiting user | `pending` |
    /// | `on_hold` (waiting for a third party) | 4 pending | `hold` |
    /// | `solved` | `solved: 2` (Feishu has no such status) | `solved` |
    /// | `closed` | 51 closed manually | `closed` |
    ///
    /// A provider's exact values (Feishu's `queued` or `closed_by_bot`, Zendesk's `new`) are
    /// reachable through [`NativeStatus`], usually built by the provider crate's own typed enum.
    TicketStatus, "status" {
        /// New or reopened, waiting for someone to act.
        Open => "open",
        /// Being worked on.
        InProgress => "in_progress",
        /// Waiting for the requester to answer.
        Pending => "pending",
        /// Waiting for a third party.
        OnHold => "on_hold",
        /// The problem is solved.
        Solved => "solved",
        /// Closed.
        Closed => "closed",
    }
);

impl TicketStatus {
    /// `name`, trimmed, compared without case.
    fn parse_alias(name: &str) -> Option<Self> {
        name.eq_ignore_ascii_case("hold")
            .then_some(TicketStatus::OnHold)
    }
}

/// One provider's own status value, carried exactly (Feishu's `closed_by_bot`, Zendesk's
/// `new`). Only the named provider carries it; for any other provider the status counts as
/// an unsupported field (refused, or dropped and reported under the lenient policy).
///
/// The provider checks the value when it maps the update (an unknown value is
/// [`TicketError::InvalidInput`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NativeStatus {
    provider: String,
    value: String,
}

impl NativeStatus {
    /// `value` of `provider` (a provider name, `[a-z0-9_-]+`); neither may be blank.
    pub fn new(provider: impl Into<String>, value: impl Into<String>) -> Result<Self, TicketError> {
        let provider = provider.into();
        let value = value.into();
        super::check_provider_name("status", &provider)?;
        if super::blank(&value) {
            return Err(TicketError::invalid(
                "status",
                "a native status must not be blank",
            ));
        }
        Ok(Self { provider, value })
    }

    /// The provider that carries it.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The provider's value, as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `provider:value`: how a native status is written wherever one text names it (the
    /// form [`Status`]'s `Display` writes and `FromStr` reads back).
    pub(crate) fn qualified(&self) -> String {
        format!("{}:{}", self.provider, self.value)
    }
}

/// The status an update sets: a unified [`TicketStatus`] or one provider's [`NativeStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// A unified status, mapped by every provider that carries statuses.
    Unified(TicketStatus),
    /// One provider's exact value.
    Native(NativeStatus),
}

impl Status {
    /// The unified status, if this is one.
    pub fn unified(&self) -> Option<TicketStatus> {
        match self {
            Status::Unified(s) => Some(*s),
            Status::Native(_) => None,
        }
    }

    /// The native status, if this is one.
    pub fn native(&self) -> Option<&NativeStatus> {
        match self {
            Status::Native(s) => Some(s),
            Status::Unified(_) => None,
        }
    }

    /// Whether `provider` can carry this status value: every unified one, and its own
    /// native ones.
    pub fn is_for(&self, provider: &str) -> bool {
        match self {
            Status::Unified(_) => true,
            Status::Native(s) => s.provider == provider,
        }
    }
}

impl fmt::Display for Status {
    /// A unified status as its name (`in_progress`); a native one as `provider:value`
    /// (`feishu:closed_by_bot`), the form [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Unified(s) => f.write_str(s.as_str()),
            Status::Native(n) => f.write_str(&n.qualified()),
        }
    }
}

impl FromStr for Status {
    type Err = TicketError;
    /// `in_progress` (a unified status) or `feishu:closed_by_bot` (a native one), for
    /// command lines and configuration.
    ///
    /// ```
    /// use helpdesk_ticket_core::{Status, TicketStatus};
    /// assert_eq!("on_hold".parse::<Status>()?, Status::Unified(TicketStatus::OnHold));
    /// assert_eq!("zendesk:new".parse::<Status>()?.native().map(|n| n.value()), Some("new"));
    /// # Ok::<(), helpdesk_ticket_core::TicketError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((provider, value)) => Ok(Status::Native(NativeStatus::new(
                provider.trim(),
                value.trim(),
            )?)),
            None => Ok(Status::Unified(s.parse()?)),
        }
    }
}

impl From<TicketStatus> for Status {
    fn from(status: TicketStatus) -> Self {
        Status::Unified(status)
    }
}

impl From<NativeStatus> for Status {
    fn from(status: NativeStatus) -> Self {
        Status::Native(status)
    }
}
