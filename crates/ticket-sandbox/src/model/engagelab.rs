//! EngageLab tickets as the sandbox stores them.

use serde::{Deserialize, Serialize};

/// One EngageLab ticket attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EngageLabAttachment {
    /// The attachment's URL.
    pub file_url: String,
}

impl EngageLabAttachment {
    /// An attachment with this URL.
    pub fn new(file_url: impl Into<String>) -> Self {
        Self {
            file_url: file_url.into(),
        }
    }
}

/// An EngageLab LiveDesk ticket as the sandbox stores it. `GET` shows these fields in the
/// vendor's order (see the crate README).
///
/// Deserializing accepts partial JSON: missing fields take the [`Default`] values. Start from
/// [`EngageLabTicket::default`] or [`EngageLabTicket::new`] and chain the `with_` setters:
///
/// ```
/// use helpdesk_ticket_sandbox::EngageLabTicket;
///
/// let ticket = EngageLabTicket::new("Printer jam", "A4 stuck")
///     .with_priority("urgent")
///     .with_tags(["printer"])
///     .with_custom_field("device_sn", "PRN-1");
/// assert_eq!(ticket.priority, "urgent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EngageLabTicket {
    /// Ticket id (the sandbox sets it to the id the ticket is stored under).
    pub ticket_id: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// Ticket-level attachments.
    pub attachments: Vec<EngageLabAttachment>,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// `incident`, `question`, `problem` or `task`; `None` when never set.
    pub ticket_type: Option<String>,
    /// Custom fields, any JSON value per key.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Status as `GET` shows it (`open` by default). The update body has no status field, so
    /// only seeding sets it; the vendor's full value set is not documented.
    pub status: String,
    /// Last update, RFC 3339 with offset (e.g. `2025-11-04T10:30:00+00:00`). Seeding fills an
    /// empty value with the current time.
    pub updated_at: String,
}

impl Default for EngageLabTicket {
    fn default() -> Self {
        Self {
            ticket_id: String::new(),
            title: "Sandbox ticket".to_owned(),
            description: "Seeded by ticket-sandbox.".to_owned(),
            attachments: Vec::new(),
            priority: "medium".to_owned(),
            ticket_type: None,
            custom_fields: serde_json::Map::new(),
            tags: Vec::new(),
            status: "open".to_owned(),
            updated_at: String::new(),
        }
    }
}

impl EngageLabTicket {
    /// A default ticket with this title and description.
    pub fn new(title: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            description: description.into(),
            ..Self::default()
        }
    }

    /// Sets the priority (`low`, `medium`, `high`, `urgent`; seeding does not check it).
    #[must_use]
    pub fn with_priority(mut self, priority: impl Into<String>) -> Self {
        self.priority = priority.into();
        self
    }

    /// Sets the ticket type.
    #[must_use]
    pub fn with_ticket_type(mut self, ticket_type: impl Into<String>) -> Self {
        self.ticket_type = Some(ticket_type.into());
        self
    }

    /// Sets the status `GET` shows.
    #[must_use]
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// Replaces the tags.
    #[must_use]
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets one custom field.
    #[must_use]
    pub fn with_custom_field(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.custom_fields.insert(key.into(), value.into());
        self
    }

    /// Adds an attachment.
    #[must_use]
    pub fn with_attachment(mut self, file_url: impl Into<String>) -> Self {
        self.attachments.push(EngageLabAttachment::new(file_url));
        self
    }
}
