//! [`TicketUpdate`], its builder, and the check that fits an update to one provider.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use crate::{
    Attachment, Capabilities, CommentVisibility, CustomField, CustomFieldId, CustomValue, Field,
    FieldSet, Priority, Status, TicketError, TicketKind, TicketStatus, UnsupportedPolicy,
};

/// Whether `name` is a valid provider name, `[a-z0-9_-]+`.
pub(crate) fn valid_provider_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A validated set of changes to one ticket, independent of any provider.
///
/// Build one with [`TicketUpdate::builder`]. Each provider maps the fields it can carry (see
/// its [`Capabilities`]); what happens to the others is decided by the update's
/// [`UnsupportedPolicy`].
///
/// ```
/// use ticket_core::{Priority, TicketUpdate};
/// let update = TicketUpdate::builder()
///     .title("Printer jammed")
///     .description("A4 paper is stuck in the output tray.")
///     .priority(Priority::High)
///     .tags(["printer", "hardware"])
///     .custom_field("device_sn", "PRN-2024-001")
///     .build()?;
/// assert_eq!(update.title(), Some("Printer jammed"));
/// # Ok::<(), ticket_core::TicketError>(())
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

    /// A builder holding every part of this update (fields, raw provider fields, policy):
    /// change what you need and [`build`](TicketUpdateBuilder::build) again, which checks
    /// everything again. `update.to_builder().build()` gives an equal update, and adding to a
    /// list (a tag, a custom field, an attachment) appends to the ones already there.
    ///
    /// ```
    /// use ticket_core::TicketUpdate;
    /// let update = TicketUpdate::builder().title("Printer jammed").tag("printer").build()?;
    /// let more = update.to_builder().tag("urgent").build()?;
    /// assert_eq!(more.tags(), Some(&["printer".to_owned(), "urgent".to_owned()][..]));
    /// assert_eq!(update.to_builder().build()?, update);
    /// # Ok::<(), ticket_core::TicketError>(())
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
            .map(|f| {
                (
                    f.id().cloned(),
                    f.key().map(str::to_owned),
                    f.value().clone(),
                )
            })
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
        add(
            self.tags.is_some() || !self.add_tags.is_empty() || !self.remove_tags.is_empty(),
            Field::Tags,
        );
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

    /// Fits this update to one provider: the check every provider runs before it builds a
    /// request, so that nothing is sent that the provider would refuse or silently lose.
    ///
    /// - Fields outside `caps.supported` are refused with [`TicketError::Unsupported`] (every
    ///   one named) under [`UnsupportedPolicy::Strict`], or listed in [`Plan::dropped`] under
    ///   [`UnsupportedPolicy::Lenient`].
    /// - Fields in `caps.required` must be set, and `caps.requires_any_field` refuses an
    ///   update with nothing to send.
    /// - A [`NativeStatus`](crate::NativeStatus) of another provider counts as an unsupported
    ///   [`Field::Status`]. When [`Field::CommentVisibility`] is dropped, the comment is dropped
    ///   with it (an internal note must never be posted publicly).
    /// - `caps.custom_field_requires` is checked on every custom field sent.
    /// - Raw provider fields must not use a key in `mapped_keys` (the wire keys the provider
    ///   fills from unified fields): a collision is refused, never a silent overwrite.
    ///
    /// Map only the fields in [`Plan::carried`].
    pub fn plan(
        &self,
        provider: &str,
        caps: &Capabilities,
        mapped_keys: &[&str],
    ) -> Result<Plan, TicketError> {
        let set = self.fields();
        let mut unsupported = set.difference(caps.supported);
        if self.status.as_ref().is_some_and(|s| !s.is_for(provider)) {
            unsupported = unsupported.with(Field::Status);
        }
        if self.policy == UnsupportedPolicy::Lenient
            && unsupported.contains(Field::CommentVisibility)
        {
            unsupported = unsupported.with(Field::Comment);
        }
        // The sets are listed only when they are not empty (the common case).
        let dropped: Vec<Field> = if unsupported.is_empty() {
            Vec::new()
        } else {
            unsupported.iter().collect()
        };
        if !dropped.is_empty() && self.policy == UnsupportedPolicy::Strict {
            return Err(TicketError::Unsupported {
                provider: provider.to_owned(),
                fields: dropped,
            });
        }
        let carried = set.difference(unsupported);

        if self.needs_read() && !caps.read {
            return Err(TicketError::cannot_read(provider));
        }
        let tag_edits = !self.add_tags.is_empty() || !self.remove_tags.is_empty();
        if !self.merge && (tag_edits || !self.unset_custom_fields.is_empty()) {
            let field = if tag_edits { "tags" } else { "custom_fields" };
            return Err(TicketError::invalid(
                field,
                "adding or removing tags and unsetting custom fields change the ticket's current values: they need merge mode (`.merge()`, `\"merge\": true`, `--merge`), which reads the ticket first",
            ));
        }
        // Merge mode fills these from the ticket as read.
        if !self.merge {
            crate::merge::refuse_missing(provider, caps, carried)?;
        }

        if carried.contains(Field::CustomFields) {
            for field in self.custom_fields.iter().flatten() {
                let needs_id = caps.custom_field_requires.contains(Field::CustomFieldIds);
                let needs_key = caps.custom_field_requires.contains(Field::CustomFieldKeys);
                let has_key = field.key().is_some() && carried.contains(Field::CustomFieldKeys);
                let has_id = field.id().is_some() && carried.contains(Field::CustomFieldIds);
                if needs_id && !has_id {
                    return Err(TicketError::invalid(
                        "custom_fields.id",
                        format!(
                            "{provider} addresses custom fields by id; custom field {} has none",
                            field.label()
                        ),
                    ));
                }
                if needs_key && !has_key {
                    return Err(TicketError::invalid(
                        "custom_fields.key",
                        format!(
                            "{provider} addresses custom fields by key; custom field {} has none",
                            field.label()
                        ),
                    ));
                }
            }
        }

        let extra = self.provider_fields(provider);
        if let Some(extra) = extra
            && let Some(key) = mapped_keys.iter().find(|k| extra.contains_key(**k))
        {
            return Err(TicketError::invalid(
                format!("provider_fields.{provider}.{key}"),
                "collides with a field mapped from the unified update; set the unified field instead",
            ));
        }

        if caps.requires_any_field && carried.is_empty() && extra.is_none_or(Map::is_empty) {
            let reason = if dropped.is_empty() {
                format!("{provider} needs at least one field to update")
            } else {
                format!(
                    "{provider} needs at least one field to update, and every field set was dropped as unsupported"
                )
            };
            return Err(TicketError::invalid("update", reason));
        }

        Ok(Plan { carried, dropped })
    }
}

/// The outcome of [`TicketUpdate::plan`]: what to send and what was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The unified fields to send.
    pub carried: FieldSet,
    /// The unified fields dropped under the lenient policy (report them in the receipt).
    pub dropped: Vec<Field>,
}

/// Builds a [`TicketUpdate`]; every check runs in [`build`](Self::build).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TicketUpdateBuilder {
    update: TicketUpdate,
    pending_custom: Vec<(Option<CustomFieldId>, Option<String>, CustomValue)>,
    pending_attachments: Vec<String>,
    provider_fields: Vec<(String, String, Value)>,
    /// The update sets the custom fields to none (only merge mode builds one: removing the
    /// last custom field of a provider that replaces them whole).
    no_custom_fields: bool,
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
    pub fn priority(mut self, priority: Priority) -> Self {
        self.update.priority = Some(priority);
        self
    }

    /// Sets the kind.
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
        self.pending_custom.push((
            field.id().cloned(),
            field.key().map(str::to_owned),
            field.value().clone(),
        ));
        self
    }

    /// Adds an attachment by its `http(s)` URL.
    pub fn attachment(mut self, file_url: impl Into<String>) -> Self {
        self.pending_attachments.push(file_url.into());
        self
    }

    /// Sets the status: a unified [`TicketStatus`], or a provider's exact value
    /// ([`NativeStatus`](crate::NativeStatus), usually from the provider crate's own enum).
    pub fn status(mut self, status: impl Into<Status>) -> Self {
        self.update.status = Some(status.into());
        self
    }

    /// Marks the ticket solved or unsolved.
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
    pub fn merge(mut self) -> Self {
        self.update.merge = true;
        self
    }

    /// Reads the ticket back after the update and compares every field sent; the receipt
    /// carries the outcome ([`UpdateReceipt::verification`](crate::UpdateReceipt::verification)).
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

    /// Validates everything and returns the update.
    ///
    /// Refuses, with [`TicketError::InvalidInput`] naming the field: a blank title,
    /// description, comment or tag; a duplicate tag; a custom field with an empty key or id,
    /// or a key or id given twice; an attachment that is not an absolute `http(s)` URL; a bad
    /// provider name or a raw key given twice; a comment visibility without a comment; a
    /// `solved` flag that contradicts the unified status (`solved: false` with status
    /// `solved`, or `solved: true` with `open`, `in_progress`, `pending` or `on_hold`).
    pub fn build(self) -> Result<TicketUpdate, TicketError> {
        let Self {
            mut update,
            pending_custom,
            pending_attachments,
            provider_fields,
            no_custom_fields,
        } = self;
        if no_custom_fields && pending_custom.is_empty() {
            update.custom_fields = Some(Vec::new());
        }

        for (field, value) in [
            ("title", &update.title),
            ("description", &update.description),
            ("comment", &update.comment),
        ] {
            if value.as_deref().is_some_and(blank) {
                return Err(TicketError::invalid(field, "must not be blank"));
            }
        }

        if update.comment_visibility.is_some() && update.comment.is_none() {
            return Err(TicketError::invalid(
                "comment.visibility",
                "is set without a comment",
            ));
        }

        if let (Some(Status::Unified(status)), Some(solved)) = (&update.status, update.solved) {
            let contradicts = match status {
                TicketStatus::Solved => !solved,
                TicketStatus::Closed => false,
                TicketStatus::Open
                | TicketStatus::InProgress
                | TicketStatus::Pending
                | TicketStatus::OnHold => solved,
            };
            if contradicts {
                return Err(TicketError::invalid(
                    "solved",
                    format!("solved: {solved} contradicts status {status}"),
                ));
            }
        }

        crate::merge::check_relative_edits(&update)?;

        if let Some(tags) = &update.tags {
            // A handful of tags is the common case: a scan of the earlier ones is cheaper
            // than a hash set; a long list gets the set. Either way the first repeated tag
            // (in order) is the one reported.
            let mut seen = (tags.len() > SCAN_LIMIT).then(|| HashSet::with_capacity(tags.len()));
            for (i, tag) in tags.iter().enumerate() {
                if blank(tag) {
                    return Err(TicketError::invalid("tags", "a tag must not be blank"));
                }
                let repeated = match &mut seen {
                    Some(seen) => !seen.insert(tag.as_str()),
                    None => tags[..i].contains(tag),
                };
                if repeated {
                    return Err(TicketError::invalid(
                        "tags",
                        format!("tag {tag:?} is given twice"),
                    ));
                }
            }
        }

        if !pending_custom.is_empty() {
            if let Some(key) = pending_custom.iter().find_map(|(_, key, _)| {
                key.as_ref()
                    .filter(|k| update.unset_custom_fields.contains(k))
            }) {
                return Err(TicketError::invalid(
                    "custom_fields",
                    format!("key {key:?} is both set and unset"),
                ));
            }
            // As for tags: scan the earlier fields when there are few, hash sets otherwise.
            let hashed = pending_custom.len() > SCAN_LIMIT;
            let mut keys = HashSet::new();
            let mut ids = HashSet::new();
            let mut fields: Vec<CustomField> = Vec::with_capacity(pending_custom.len());
            for (id, key, value) in pending_custom {
                let field = match (id, key) {
                    (id, Some(key)) => {
                        let field = CustomField::new(key, value)?;
                        match id {
                            Some(id) => field.with_id(id)?,
                            None => field,
                        }
                    }
                    (Some(id), None) => CustomField::by_id(id, value)?,
                    (None, None) => {
                        return Err(TicketError::invalid(
                            "custom_fields",
                            "a custom field needs a key or an id",
                        ));
                    }
                };
                if let Some(key) = field.key() {
                    let repeated = if hashed {
                        !keys.insert(key.to_owned())
                    } else {
                        fields.iter().any(|f| f.key() == Some(key))
                    };
                    if repeated {
                        return Err(TicketError::invalid(
                            "custom_fields",
                            format!("key {key:?} is given twice"),
                        ));
                    }
                }
                if let Some(id) = field.id() {
                    let repeated = if hashed {
                        !ids.insert(id.to_string())
                    } else {
                        fields
                            .iter()
                            .any(|f| f.id().is_some_and(|other| same_id(other, id)))
                    };
                    if repeated {
                        return Err(TicketError::invalid(
                            "custom_fields.id",
                            format!("id {id:?} is given twice"),
                        ));
                    }
                }
                fields.push(field);
            }
            update.custom_fields = Some(fields);
        }

        if !pending_attachments.is_empty() {
            update.attachments = Some(
                pending_attachments
                    .into_iter()
                    .map(Attachment::new)
                    .collect::<Result<_, _>>()?,
            );
        }

        for (provider, key, value) in provider_fields {
            if !valid_provider_name(&provider) {
                return Err(TicketError::invalid(
                    "provider_fields",
                    format!("provider name {provider:?} must match [a-z0-9_-]+"),
                ));
            }
            if key.is_empty() {
                return Err(TicketError::invalid(
                    format!("provider_fields.{provider}"),
                    "a key must not be empty",
                ));
            }
            let section = update.provider_fields.entry(provider.clone()).or_default();
            if section.contains_key(&key) {
                return Err(TicketError::invalid(
                    format!("provider_fields.{provider}.{key}"),
                    "is given twice",
                ));
            }
            section.insert(key, value);
        }

        Ok(update)
    }
}

/// Up to this many tags or custom fields, [`TicketUpdateBuilder::build`] finds repeats by
/// scanning the earlier ones (no allocation); above it, with a hash set.
const SCAN_LIMIT: usize = 16;

/// Whether two custom field ids are the same id: equal in their decimal or text form (so
/// `5` and `"5"` are one id, as the hash set of their text forms says for long lists).
fn same_id(a: &CustomFieldId, b: &CustomFieldId) -> bool {
    match (a, b) {
        (CustomFieldId::Number(x), CustomFieldId::Number(y)) => x == y,
        (CustomFieldId::Text(x), CustomFieldId::Text(y)) => x == y,
        (CustomFieldId::Number(n), CustomFieldId::Text(t))
        | (CustomFieldId::Text(t), CustomFieldId::Number(n)) => *t == n.to_string(),
    }
}

/// Whether `text` is empty or only whitespace (what `text.trim().is_empty()` says, without
/// scanning a non-blank text from both ends).
fn blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}
