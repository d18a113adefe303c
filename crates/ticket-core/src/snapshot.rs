//! [`TicketSnapshot`]: a ticket as a provider's read shows it, in the unified vocabulary, with
//! the provider's own answer beside it.

use serde_json::Value;
use time::OffsetDateTime;

use crate::{
    CustomField, CustomFieldId, NativeStatus, Priority, TicketId, TicketKind, TicketStatus,
};

/// One ticket as read ([`TicketUpdater::read`](crate::TicketUpdater::read)).
///
/// A field is `None` when the provider's read does not show it (Feishu has no title), and
/// `Some` of an empty list when it shows none (a ticket without tags). What the unified fields
/// cannot hold stays in [`raw`](Self::raw), the provider's own JSON.
///
/// ```
/// use helpdesk_ticket_core::{Priority, TicketId, TicketSnapshot};
/// let mut snapshot = TicketSnapshot::new("engagelab", TicketId::new("tk_1")?);
/// snapshot.priority = Some(Priority::Urgent);
/// snapshot.tags = Some(vec!["printer".into()]);
/// assert_eq!(snapshot.priority, Some(Priority::Urgent));
/// # Ok::<(), helpdesk_ticket_core::TicketError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TicketSnapshot {
    /// The provider that answered.
    pub provider: String,
    /// The ticket read.
    pub ticket_id: TicketId,
    /// The title.
    pub title: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The priority.
    pub priority: Option<Priority>,
    /// The kind.
    pub kind: Option<TicketKind>,
    /// The tags, in the provider's order.
    pub tags: Option<Vec<String>>,
    /// The custom fields, in the provider's order.
    pub custom_fields: Option<Vec<SnapshotField>>,
    /// The attachments' file URLs.
    pub attachments: Option<Vec<String>>,
    /// The status in the unified vocabulary, from the provider's status alone (a separate
    /// solved flag is in [`solved`](Self::solved)); `None` when the provider shows none or
    /// one the unified vocabulary has no name for (see [`native_status`](Self::native_status)).
    pub status: Option<TicketStatus>,
    /// Other unified statuses the provider writes as the same status (Zendesk writes both
    /// `open` and `in_progress` as `open`): an update that set one of them landed.
    pub status_aliases: Vec<TicketStatus>,
    /// The provider's own status value (Feishu's `closed_by_user`), when it has one.
    pub native_status: Option<NativeStatus>,
    /// The provider's own status as its wire writes it, when that differs from the name in
    /// [`native_status`](Self::native_status) (Feishu's number, `"52"`): an update may name a
    /// native status either way.
    pub native_status_code: Option<String>,
    /// Whether the ticket is solved, when the provider shows a flag for it.
    pub solved: Option<bool>,
    /// The latest comment, when the read shows one (Feishu shows the latest; most reads
    /// show none, and then comments cannot be verified).
    pub latest_comment: Option<String>,
    /// When the ticket was last updated, when the read says.
    pub updated_at: Option<OffsetDateTime>,
    /// The update time as the provider wrote it, when its form was not understood.
    pub updated_at_raw: Option<String>,
    /// The provider's answer, as JSON (its ticket object).
    pub raw: Value,
}

impl TicketSnapshot {
    /// An empty snapshot of `ticket_id` from `provider`: set the fields the read shows.
    pub fn new(provider: impl Into<String>, ticket_id: TicketId) -> Self {
        Self {
            provider: provider.into(),
            ticket_id,
            title: None,
            description: None,
            priority: None,
            kind: None,
            tags: None,
            custom_fields: None,
            attachments: None,
            status: None,
            status_aliases: Vec::new(),
            native_status: None,
            native_status_code: None,
            solved: None,
            latest_comment: None,
            updated_at: None,
            updated_at_raw: None,
            raw: Value::Null,
        }
    }

    /// The custom field that `field` (of an update) names: by id when both have one, else by
    /// key.
    pub fn custom_field(&self, field: &CustomField) -> Option<&SnapshotField> {
        self.custom_fields
            .iter()
            .flatten()
            .find(|item| item.names(field))
    }
}

/// One custom field as read: its id, key and display name when the provider shows them, and
/// its value as the provider shows it (any JSON).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SnapshotField {
    /// The provider's id of the field.
    pub id: Option<CustomFieldId>,
    /// The field's key.
    pub key: Option<String>,
    /// The field's name for people.
    pub display_name: Option<String>,
    /// The value as read (Feishu shows a dropdown's option label, not the option's id).
    pub value: Value,
    /// For a choice field whose definitions the provider looked up: the id of the option
    /// that `value` names (Feishu's option `tag`, which an update writes).
    pub option: Option<String>,
}

impl SnapshotField {
    /// A field holding `value`, with no id, key or name yet.
    pub fn new(value: impl Into<Value>) -> Self {
        Self {
            id: None,
            key: None,
            display_name: None,
            value: value.into(),
            option: None,
        }
    }

    /// Sets the id.
    #[must_use]
    pub fn with_id(mut self, id: Option<CustomFieldId>) -> Self {
        self.id = id;
        self
    }

    /// Sets the key.
    #[must_use]
    pub fn with_key(mut self, key: Option<String>) -> Self {
        self.key = key;
        self
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_display_name(mut self, name: Option<String>) -> Self {
        self.display_name = name;
        self
    }

    /// Sets the option id the value stands for.
    #[must_use]
    pub fn with_option(mut self, option: Option<String>) -> Self {
        self.option = option;
        self
    }

    /// Whether `field` (of an update) names this one: by id when both have one (`5` and
    /// `"5"` are one id), else by key.
    pub fn names(&self, field: &CustomField) -> bool {
        match (field.id(), &self.id) {
            (Some(a), Some(b)) => a.is_same(b),
            _ => field.key().is_some() && field.key() == self.key.as_deref(),
        }
    }

    /// How this field is named in reports: its key, else its id, else its display name.
    pub fn label(&self) -> String {
        match (&self.key, &self.id, &self.display_name) {
            (Some(key), _, _) => key.clone(),
            (None, Some(id), _) => id.to_string(),
            (None, None, Some(name)) => name.clone(),
            (None, None, None) => "(unnamed)".to_owned(),
        }
    }

    /// The value as text, as a string-typed API compares it: text as is, numbers and
    /// booleans as their JSON text, `null` as `None`; lists and objects as their JSON.
    pub fn value_text(&self) -> Option<String> {
        match &self.value {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }
}
