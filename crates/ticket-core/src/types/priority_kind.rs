//! [`Priority`] and [`TicketKind`]: the closed vocabularies of how urgent a ticket is and what
//! kind of work it is.

use std::fmt;
use std::str::FromStr;

use crate::TicketError;

named_enum!(
    /// How urgent a ticket is.
    ///
    /// Parsing is case-insensitive and accepts `normal` as [`Priority::Medium`]: the EngageLab
    /// document's own example sends `normal`, which its table does not list. Providers always
    /// send a listed value.
    ///
    /// ```
    /// use helpdesk_ticket_core::Priority;
    /// assert_eq!("normal".parse::<Priority>()?, Priority::Medium);
    /// assert_eq!("HIGH".parse::<Priority>()?, Priority::High);
    /// # Ok::<(), helpdesk_ticket_core::TicketError>(())
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
    /// `name`, trimmed, compared without case.
    fn parse_alias(name: &str) -> Option<Self> {
        name.eq_ignore_ascii_case("normal")
            .then_some(Priority::Medium)
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
    fn parse_alias(_name: &str) -> Option<Self> {
        None
    }
}
