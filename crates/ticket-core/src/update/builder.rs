//! [`TicketUpdateBuilder`]: its setters, and [`TicketUpdate::to_builder`], which turns an
//! update back into one.

use serde_json::Value;

use crate::{
    CommentVisibility, CustomField, CustomFieldId, CustomValue, Priority, Status, TicketKind,
    TicketUpdate, UnsupportedPolicy,
};

impl TicketUpdate {
    /// A builder holding every part of this update (fields, raw provider fields, policy):
    /// change what you need and [`build`](TicketUpdateBuilder::build) again, which checks
    /// everything again. `update.to_builder().build()` gives an equal update, and adding to a
    /// list (a tag, a custom field, an attachment) appends to the ones already there.
    ///
    /// ```
    /// use helpdesk_ticket_core::TicketUpdate;
    /// let update = TicketUpdate::builder().title("Printer jammed").tag("printer").build()?;
    /// let more = update.to_builder().tag("urgent").build()?;
    /// assert_eq!(more.tags(), Some(&["printer".to_owned(), "urgent".to_owned()][..]));
    /// assert_eq!(update.to_builder().build()?, update);
    /// # Ok::<(), helpdesk_ticket_core::TicketError>(())
    /// ```
    pub fn to_builder(&self) -> TicketUpdateBuilder {
        // Every single-valued field (and the policy) travels in the clone, so a field added
        // later cannot be forgotten here. The three lists the builder collects on the side
        // are moved back there, so that `build` checks them again and the builder's setters
        // append to them exactly as on a fresh builder.
        let mut update = self.clone();
        // An empty list of custom fields (merge mode removed the last one of a provider that
        // replaces them whole) is kept as such.
        let no_custom_fields = update.custom_fields.as_ref().is_some_and(Vec::is_empty);
        let pending_custom = update
            .custom_fields
            .take()
            .into_iter()
            .flatten()
            .map(CustomField::into_parts)
            .collect();
        let pending_attachments = update
            .attachments
            .take()
            .into_iter()
            .flatten()
            .map(|a| a.file_url().to_owned())
            .collect();
        let provider_fields = std::mem::take(&mut update.provider_fields)
            .into_iter()
            .flat_map(|(provider, fields)| {
                fields
                    .into_iter()
                    .map(move |(key, value)| (provider.clone(), key, value))
            })
            .collect();
        TicketUpdateBuilder {
            update,
            pending_custom,
            pending_attachments,
            provider_fields,
            no_custom_fields,
        }
    }
}

/// A custom field as given to the builder (id, key, value), checked in `build`.
pub(super) type PendingCustom = (Option<CustomFieldId>, Option<String>, CustomValue);

/// Builds a [`TicketUpdate`]; every check runs in [`build`](Self::build).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TicketUpdateBuilder {
    pub(super) update: TicketUpdate,
    pub(super) pending_custom: Vec<PendingCustom>,
    pub(super) pending_attachments: Vec<String>,
    pub(super) provider_fields: Vec<(String, String, Value)>,
    /// The update sets the custom fields to none (only merge mode builds one: removing the
    /// last custom field of a provider that replaces them whole).
    pub(super) no_custom_fields: bool,
}

impl TicketUpdateBuilder {
    /// Sets the title (must not be blank).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.update.title = Some(title.into());
        self
    }

    /// Sets the description, in Markdown (must not be blank).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.update.description = Some(description.into());
        self
    }

    /// Sets the priority.
    #[inline]
    pub fn priority(mut self, priority: Priority) -> Self {
        self.update.priority = Some(priority);
        self
    }

    /// Sets the kind.
    #[inline]
    pub fn kind(mut self, kind: TicketKind) -> Self {
        self.update.kind = Some(kind);
        self
    }

    /// Adds one tag (the update then replaces the ticket's tags with the ones given).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.update
            .tags
            .get_or_insert_with(Vec::new)
            .push(tag.into());
        self
    }

    /// Sets the tags, replacing any given before; an empty list clears the ticket's tags.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.update.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Sets a custom field by key to a JSON scalar (text, number, boolean). Keys must be
    /// unique within an update.
    pub fn custom_field(mut self, key: impl Into<String>, value: impl Into<CustomValue>) -> Self {
        self.pending_custom
            .push((None, Some(key.into()), value.into()));
        self
    }

    /// Sets a custom field by key and the provider's id for it (Feishu sends both).
    pub fn custom_field_with_id(
        mut self,
        id: impl Into<CustomFieldId>,
        key: impl Into<String>,
        value: impl Into<CustomValue>,
    ) -> Self {
        self.pending_custom
            .push((Some(id.into()), Some(key.into()), value.into()));
        self
    }

    /// Sets a custom field by id only (Zendesk's numeric ids; a Feishu `{id, value}` item).
    /// Ids must be unique within an update.
    pub fn custom_field_by_id(
        mut self,
        id: impl Into<CustomFieldId>,
        value: impl Into<CustomValue>,
    ) -> Self {
        self.pending_custom
            .push((Some(id.into()), None, value.into()));
        self
    }

    /// Adds a custom field built beforehand.
    pub fn custom(mut self, field: CustomField) -> Self {
        self.pending_custom.push(field.into_parts());
        self
    }

    /// Adds an attachment by its `http(s)` URL.
    pub fn attachment(mut self, file_url: impl Into<String>) -> Self {
        self.pending_attachments.push(file_url.into());
        self
    }

    /// Sets the status: a unified [`TicketStatus`](crate::TicketStatus), or a provider's
    /// exact value ([`NativeStatus`](crate::NativeStatus), usually from the provider crate's
    /// own enum).
    pub fn status(mut self, status: impl Into<Status>) -> Self {
        self.update.status = Some(status.into());
        self
    }

    /// Marks the ticket solved or unsolved.
    #[inline]
    pub fn solved(mut self, solved: bool) -> Self {
        self.update.solved = Some(solved);
        self
    }

    /// Adds a comment (must not be blank), with the provider's default visibility.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.update.comment = Some(comment.into());
        self
    }

    /// Sets who may read the comment (requires a comment). A provider that cannot carry
    /// visibility refuses it; under the lenient policy it drops the comment with it.
    #[inline]
    pub fn comment_visibility(mut self, visibility: CommentVisibility) -> Self {
        self.update.comment_visibility = Some(visibility);
        self
    }

    /// Adds an internal comment (a note only agents see).
    pub fn internal_comment(self, comment: impl Into<String>) -> Self {
        self.comment(comment)
            .comment_visibility(CommentVisibility::Internal)
    }

    /// Adds a public comment (seen by the requester).
    pub fn public_comment(self, comment: impl Into<String>) -> Self {
        self.comment(comment)
            .comment_visibility(CommentVisibility::Public)
    }

    /// Adds a raw field for one provider only (for example Feishu's `channel`), merged into
    /// that provider's request body and ignored by every other provider. `provider` is a
    /// provider name (`[a-z0-9_-]+`); a key may be given once, and must not be one the
    /// provider fills from a unified field.
    pub fn provider_field(
        mut self,
        provider: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Self {
        self.provider_fields
            .push((provider.into(), key.into(), value.into()));
        self
    }

    /// Sets the policy for fields the provider cannot carry (default: strict).
    #[inline]
    pub fn policy(mut self, policy: UnsupportedPolicy) -> Self {
        self.update.policy = policy;
        self
    }

    /// Shorthand for `policy(UnsupportedPolicy::Lenient)`.
    pub fn lenient(self) -> Self {
        self.policy(UnsupportedPolicy::Lenient)
    }

    /// Merge mode: change only the fields named. The ticket is read first (one read per
    /// update); what the provider's update needs or would reset (EngageLab's title,
    /// description and priority) is filled from it, and [`add_tag`](Self::add_tag),
    /// [`remove_tag`](Self::remove_tag) and [`unset_custom_field`](Self::unset_custom_field)
    /// are resolved against it. Read-then-write is not atomic: see
    /// [`TicketUpdate::merged_with`].
    #[inline]
    pub fn merge(mut self) -> Self {
        self.update.merge = true;
        self
    }

    /// Reads the ticket back after the update and compares every field sent; the receipt
    /// carries the outcome ([`UpdateReceipt::verification`](crate::UpdateReceipt::verification)).
    #[inline]
    pub fn verify(mut self) -> Self {
        self.update.verify = true;
        self
    }

    /// Adds a tag to the ticket's current ones (merge mode).
    pub fn add_tag(mut self, tag: impl Into<String>) -> Self {
        self.update.add_tags.push(tag.into());
        self
    }

    /// Removes a tag from the ticket's current ones (merge mode); absent, nothing happens.
    pub fn remove_tag(mut self, tag: impl Into<String>) -> Self {
        self.update.remove_tags.push(tag.into());
        self
    }

    /// Removes the custom field `key` from the ticket, keeping the others (merge mode).
    pub fn unset_custom_field(mut self, key: impl Into<String>) -> Self {
        self.update.unset_custom_fields.push(key.into());
        self
    }
}
