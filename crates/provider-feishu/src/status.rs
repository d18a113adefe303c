//! Feishu's own seven statuses, reachable exactly through [`ticket_core::NativeStatus`].

use std::fmt;
use std::str::FromStr;

use ticket_core::{NativeStatus, Status, TicketError};

/// Feishu's exact ticket statuses. Converts into a [`Status`] that only Feishu carries:
/// `.status(FeishuStatus::ClosedByBot)`. In the JSON form: `{"feishu": "closed_by_bot"}`
/// (the number, `{"feishu": 50}`, is accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeishuStatus {
    /// 1: waiting for a first response.
    AwaitingResponse,
    /// 2: being worked on.
    InProgress,
    /// 3: queued for an agent.
    Queued,
    /// 4: pending (on hold).
    Pending,
    /// 5: waiting for the user to answer.
    AwaitingUser,
    /// 50: closed by a bot.
    ClosedByBot,
    /// 51: closed by a person.
    ClosedManually,
}

impl FeishuStatus {
    /// Every status, in Feishu's numeric order.
    pub const ALL: [FeishuStatus; 7] = [
        FeishuStatus::AwaitingResponse,
        FeishuStatus::InProgress,
        FeishuStatus::Queued,
        FeishuStatus::Pending,
        FeishuStatus::AwaitingUser,
        FeishuStatus::ClosedByBot,
        FeishuStatus::ClosedManually,
    ];

    /// The number Feishu's `status` field takes.
    pub const fn code(self) -> u8 {
        match self {
            FeishuStatus::AwaitingResponse => 1,
            FeishuStatus::InProgress => 2,
            FeishuStatus::Queued => 3,
            FeishuStatus::Pending => 4,
            FeishuStatus::AwaitingUser => 5,
            FeishuStatus::ClosedByBot => 50,
            FeishuStatus::ClosedManually => 51,
        }
    }

    /// The stable name (`"closed_by_bot"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            FeishuStatus::AwaitingResponse => "awaiting_response",
            FeishuStatus::InProgress => "in_progress",
            FeishuStatus::Queued => "queued",
            FeishuStatus::Pending => "pending",
            FeishuStatus::AwaitingUser => "awaiting_user",
            FeishuStatus::ClosedByBot => "closed_by_bot",
            FeishuStatus::ClosedManually => "closed_manually",
        }
    }
}

impl fmt::Display for FeishuStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeishuStatus {
    type Err = TicketError;
    /// A name (`"queued"`, any case) or Feishu's number (`"3"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim().to_ascii_lowercase();
        FeishuStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == text || st.code().to_string() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = FeishuStatus::ALL.iter().map(|s| s.as_str()).collect();
                TicketError::invalid(
                    "status",
                    format!(
                        "unknown Feishu status {s:?}; expected one of {} (or its number)",
                        names.join(", ")
                    ),
                )
            })
    }
}

impl From<FeishuStatus> for NativeStatus {
    fn from(status: FeishuStatus) -> Self {
        // The provider name and the status names are valid by construction.
        NativeStatus::new(crate::PROVIDER, status.as_str())
            .unwrap_or_else(|_| unreachable!("valid native status"))
    }
}

impl From<FeishuStatus> for Status {
    fn from(status: FeishuStatus) -> Self {
        Status::Native(status.into())
    }
}
