//! [`TicketUpdate`]: a validated set of changes to one ticket, and what it sets.
//!
//! The builder is in `builder.rs`, the checks of `build` in `validate.rs`, and the check that
//! fits an update to one provider in `plan.rs`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{
    Attachment, CommentVisibility, CustomField, Field, FieldSet, Priority, Status, TicketKind,
    UnsupportedPolicy,
};

mod builder;
mod plan;
mod validate;

pub use builder::TicketUpdateBuilder;
pub use plan::Plan;

/// A validated set of changes to one ticket, independent of any provider.
///
/// Build one with [`TicketUpdate::builder`]. Each provider maps the fields it can carry (see
/// its [`Capabilities`](crate::Capabilities)); what happens to the others is decided by the
/// update's [`UnsupportedPolicy`].
///
/// ```
/// use helpdesk_ticket_core::{Priority, TicketUpdate};
/// let update = TicketUpdate::builder()
///     .title("Printer jammed")
///     .description("A4 paper is stuck in the output tray.")
///     .priority(Priority::High)
///     .tags(["printer", "hardware"])
///     .custom_field("device_sn", "PRN-2024-001")
///     .build()?;
/// assert_eq!(update.title(), Some("Printer jammed"));
/// # Ok::<(), helpdesk_ticket_core::TicketError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TicketUpdate {
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) priority: Option<Priority>,
    pub(crate) kind: Option<TicketKind>,
    pub(crate) tags: Option<Vec<String>>,
    pub(crate) custom_fields: Option<Vec<CustomField>>,
    pub(crate) attachments: Option<Vec<Attachment>>,
    pub(crate) status: Option<Status>,
    pub(crate) solved: Option<bool>,
    pub(crate) comment: Option<String>,
    pub(crate) comment_visibility: Option<CommentVisibility>,
    pub(crate) provider_fields: BTreeMap<String, Map<String, Value>>,
    pub(crate) policy: UnsupportedPolicy,
    /// Merge mode: read the ticket first, fill what the provider's update needs or would
    /// reset, and resolve the relative edits below against it.
    pub(crate) merge: bool,
    /// Read the ticket back after the update and compare.
    pub(crate) verify: bool,
    pub(crate) add_tags: Vec<String>,
    pub(crate) remove_tags: Vec<String>,
    pub(crate) unset_custom_fields: Vec<String>,
}

impl TicketUpdate {
    /// Starts an empty update.
    pub fn builder() -> TicketUpdateBuilder {
        TicketUpdateBuilder::default()
    }

    /// The new title.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The new description (Markdown).
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The new priority.
    pub fn priority(&self) -> Option<Priority> {
        self.priority
    }

    /// The new kind.
    pub fn kind(&self) -> Option<TicketKind> {
        self.kind
    }

    /// The new tags (replacing the old ones); `Some(&[])` clears them.
    pub fn tags(&self) -> Option<&[String]> {
        self.tags.as_deref()
    }

    /// Custom fields to set.
    pub fn custom_fields(&self) -> Option<&[CustomField]> {
        self.custom_fields.as_deref()
    }

    /// The new attachments.
    pub fn attachments(&self) -> Option<&[Attachment]> {
        self.attachments.as_deref()
    }

    /// The new status: unified, or one provider's native value.
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// Whether the ticket is now solved.
    pub fn solved(&self) -> Option<bool> {
        self.solved
    }

    /// A comment to add.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Who may read the comment; `None` leaves it to the provider's default.
    pub fn comment_visibility(&self) -> Option<CommentVisibility> {
        self.comment_visibility
    }

    /// Every provider name that has raw fields in this update.
    pub fn provider_field_names(&self) -> impl Iterator<Item = &str> {
        self.provider_fields.keys().map(String::as_str)
    }

    /// Raw fields meant for one provider only, merged into that provider's request body.
    pub fn provider_fields(&self, provider: &str) -> Option<&Map<String, Value>> {
        self.provider_fields.get(provider)
    }

    /// What happens to fields the provider cannot carry.
    pub fn policy(&self) -> UnsupportedPolicy {
        self.policy
    }

    /// Whether the update runs in merge mode: the ticket is read first, what the provider's
    /// update needs or would reset is filled from it, and relative edits are resolved
    /// against it (see [`TicketUpdate::merged_with`]).
    pub fn merges(&self) -> bool {
        self.merge
    }

    /// Whether the ticket is read back after the update and compared with what was sent
    /// (see [`Verification`](crate::Verification)).
    pub fn verifies(&self) -> bool {
        self.verify
    }

    /// Whether the update adds or removes tags (merge mode's relative edits of the tags).
    pub(crate) fn edits_tags(&self) -> bool {
        !self.add_tags.is_empty() || !self.remove_tags.is_empty()
    }

    /// Whether the update needs a read of the ticket (merge mode or verification).
    pub fn needs_read(&self) -> bool {
        self.merge || self.verify
    }

    /// Tags to add to the ticket's current ones (merge mode).
    pub fn tags_added(&self) -> &[String] {
        &self.add_tags
    }

    /// Tags to remove from the ticket's current ones (merge mode).
    pub fn tags_removed(&self) -> &[String] {
        &self.remove_tags
    }

    /// Keys of custom fields to remove from the ticket, keeping the others (merge mode).
    pub fn custom_fields_unset(&self) -> &[String] {
        &self.unset_custom_fields
    }

    /// This update without merge mode and verification: what is sent once they are done.
    #[must_use]
    pub fn without_reads(&self) -> TicketUpdate {
        let mut plain = self.clone();
        plain.merge = false;
        plain.verify = false;
        plain
    }

    /// The unified fields this update sets.
    pub fn fields(&self) -> FieldSet {
        let mut set = FieldSet::EMPTY;
        let mut add = |present: bool, field| {
            if present {
                set = set.with(field);
            }
        };
        add(self.title.is_some(), Field::Title);
        add(self.description.is_some(), Field::Description);
        add(self.priority.is_some(), Field::Priority);
        add(self.kind.is_some(), Field::Kind);
        add(self.tags.is_some() || self.edits_tags(), Field::Tags);
        add(
            self.custom_fields.is_some() || !self.unset_custom_fields.is_empty(),
            Field::CustomFields,
        );
        add(
            self.custom_fields
                .iter()
                .flatten()
                .any(|f| f.id().is_some()),
            Field::CustomFieldIds,
        );
        add(
            self.custom_fields
                .iter()
                .flatten()
                .any(|f| f.key().is_some())
                || !self.unset_custom_fields.is_empty(),
            Field::CustomFieldKeys,
        );
        add(self.attachments.is_some(), Field::Attachments);
        add(self.status.is_some(), Field::Status);
        add(self.solved.is_some(), Field::Solved);
        add(self.comment.is_some(), Field::Comment);
        add(self.comment_visibility.is_some(), Field::CommentVisibility);
        set
    }
}
