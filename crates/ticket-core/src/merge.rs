//! Merge mode: an update resolved against the ticket as read, so that it changes only the
//! fields it names.

use crate::{
    Attachment, Capabilities, CustomField, CustomValue, Field, FieldSet, TicketError,
    TicketSnapshot, TicketUpdate,
};

/// An update in merge mode resolved against the ticket as read: what to send, and which
/// fields were filled from the read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Merged {
    /// The update to send: absolute, neither merging nor verifying.
    pub update: TicketUpdate,
    /// The fields filled from the read because the provider's update needs them or would
    /// reset them (EngageLab: title, description, priority), in declaration order.
    pub filled: Vec<Field>,
}

impl TicketUpdate {
    /// Resolves this update against `current`, the ticket as read, for a provider with
    /// `caps`:
    ///
    /// - every field the provider requires or resets when omitted
    ///   ([`Capabilities::must_carry`]) that the update leaves out is filled with its
    ///   current value (listed in [`Merged::filled`]);
    /// - added and removed tags become the ticket's tags with those changes (added ones at
    ///   the end, in the order given);
    /// - for a provider that replaces custom fields whole ([`Capabilities::replaces_whole`]),
    ///   the custom fields set and unset become the ticket's custom fields with those
    ///   changes; for one that sets them one by one, the fields set are sent as they are, and
    ///   unsetting one is refused (such an update has no way to remove a field).
    ///
    /// The result is checked again as [`TicketUpdateBuilder::build`](crate::TicketUpdateBuilder::build)
    /// checks. A field the read does not show cannot be filled: that is an
    /// [`TicketError::InvalidInput`] naming it.
    ///
    /// Reading and then writing is not atomic: a change someone else makes between the read
    /// and the write, to a field this fills, is overwritten with the value read. A
    /// verification ([`TicketUpdate::verifies`]) reports the changes it can see.
    ///
    /// ```
    /// use helpdesk_ticket_core::{Capabilities, Field, FieldSet, Priority, TicketId, TicketSnapshot, TicketUpdate};
    /// let caps = Capabilities::new(FieldSet::of(&[Field::Title, Field::Priority, Field::Tags]))
    ///     .requiring(FieldSet::of(&[Field::Title]))
    ///     .resetting_when_omitted(FieldSet::of(&[Field::Priority]))
    ///     .replacing_whole(FieldSet::of(&[Field::Tags]))
    ///     .reading(None);
    /// let mut current = TicketSnapshot::new("demo", TicketId::new("1")?);
    /// current.title = Some("Printer jam".into());
    /// current.priority = Some(Priority::Urgent);
    /// current.tags = Some(vec!["printer".into()]);
    /// let update = TicketUpdate::builder().merge().add_tag("vip").build()?;
    /// let merged = update.merged_with(&current, &caps)?;
    /// assert_eq!(merged.update.title(), Some("Printer jam"));
    /// assert_eq!(merged.update.priority(), Some(Priority::Urgent));
    /// assert_eq!(merged.update.tags(), Some(&["printer".to_owned(), "vip".to_owned()][..]));
    /// assert_eq!(merged.filled, vec![Field::Title, Field::Priority]);
    /// # Ok::<(), helpdesk_ticket_core::TicketError>(())
    /// ```
    pub fn merged_with(
        &self,
        current: &TicketSnapshot,
        caps: &Capabilities,
    ) -> Result<Merged, TicketError> {
        let mut update = self.without_reads();
        update.add_tags.clear();
        update.remove_tags.clear();
        update.unset_custom_fields.clear();
        let mut filled = Vec::new();
        let set = self.fields();
        for field in caps.must_carry().intersection(caps.supported).iter() {
            if !set.contains(field) {
                fill(&mut update, current, field)?;
                filled.push(field);
            }
        }
        if self.edits_tags() {
            let mut tags: Vec<String> = shown(current.tags.clone(), Field::Tags)?
                .into_iter()
                .filter(|t| !self.remove_tags.contains(t))
                .collect();
            for tag in &self.add_tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            update.tags = Some(tags);
        }
        let touched = self.custom_fields.is_some() || !self.unset_custom_fields.is_empty();
        if touched && caps.replaces_whole.contains(Field::CustomFields) {
            update.custom_fields = Some(whole_custom_fields(self, current)?);
        } else if !self.unset_custom_fields.is_empty() {
            return Err(TicketError::invalid(
                "custom_fields",
                format!(
                    "{} sets custom fields one by one and has no way to remove one; set it to another value instead",
                    current.provider
                ),
            ));
        }
        // Everything checked again, as a built update is (an empty list of custom fields, the
        // last one removed, stays one).
        let update = update.to_builder().build()?;
        Ok(Merged { update, filled })
    }
}

/// The value of a collection the read must show.
fn shown<T>(value: Option<T>, field: Field) -> Result<T, TicketError> {
    value.ok_or_else(|| {
        TicketError::invalid(
            field.as_str(),
            "merge mode needs its current value, and the ticket as read does not show it",
        )
    })
}

/// Fills `field` of `update` with its value in `current`.
fn fill(
    update: &mut TicketUpdate,
    current: &TicketSnapshot,
    field: Field,
) -> Result<(), TicketError> {
    match field {
        Field::Title => update.title = Some(shown(current.title.clone(), field)?),
        Field::Description => update.description = Some(shown(current.description.clone(), field)?),
        Field::Priority => update.priority = Some(shown(current.priority, field)?),
        Field::Kind => update.kind = Some(shown(current.kind, field)?),
        Field::Tags => update.tags = Some(shown(current.tags.clone(), field)?),
        Field::Attachments => {
            let urls = shown(current.attachments.clone(), field)?;
            update.attachments = Some(
                urls.into_iter()
                    .map(Attachment::new)
                    .collect::<Result<_, _>>()?,
            );
        }
        Field::Solved => update.solved = Some(shown(current.solved, field)?),
        // Fields no provider requires or resets (custom fields are merged above; a status,
        // a comment or a visibility cannot be required by the plan's rules).
        other => {
            return Err(TicketError::invalid(
                other.as_str(),
                "merge mode cannot fill this field from a read",
            ));
        }
    }
    Ok(())
}

/// The ticket's custom fields with the update's set and unset ones applied, for a provider
/// that replaces them whole: every field kept must have a key and a scalar value.
fn whole_custom_fields(
    update: &TicketUpdate,
    current: &TicketSnapshot,
) -> Result<Vec<CustomField>, TicketError> {
    let named = update.custom_fields.as_deref().unwrap_or_default();
    let mut fields = Vec::new();
    for item in shown(current.custom_fields.as_ref(), Field::CustomFields)? {
        if named.iter().any(|f| item.names(f)) {
            continue;
        }
        if item
            .key
            .as_ref()
            .is_some_and(|k| update.unset_custom_fields.contains(k))
        {
            continue;
        }
        let Some(key) = item.key.clone() else {
            return Err(TicketError::invalid(
                "custom_fields",
                format!(
                    "the ticket's custom field {} has no key, so merge mode cannot send it back",
                    item.label()
                ),
            ));
        };
        let value = CustomValue::try_from(item.value.clone()).map_err(|_| {
            TicketError::invalid(
                "custom_fields",
                format!(
                    "the ticket's custom field {key:?} holds a list or an object, which an update cannot send back"
                ),
            )
        })?;
        fields.push(CustomField::from_parts(item.id.clone(), Some(key), value)?);
    }
    fields.extend(named.iter().cloned());
    Ok(fields)
}

/// Refuses an update that leaves out a field the provider requires or would reset, naming
/// the field and both remedies (set it, or merge).
pub(crate) fn refuse_missing(
    provider: &str,
    caps: &Capabilities,
    carried: FieldSet,
) -> Result<(), TicketError> {
    let merge = if caps.read {
        ", or use merge mode (`.merge()`, `\"merge\": true`, `--merge`), which reads the ticket first and keeps its current value"
    } else {
        ""
    };
    let names = |set: FieldSet| set.iter().map(Field::as_str).collect::<Vec<_>>().join(", ");
    let missing = caps.required.difference(carried);
    if !missing.is_empty() {
        let (them, it) = if missing.iter().count() > 1 {
            ("them", "set them")
        } else {
            ("it", "set it")
        };
        return Err(TicketError::invalid(
            names(missing),
            format!("{provider} refuses an update without {them}: {it}{merge}"),
        ));
    }
    let reset = caps
        .reset_when_omitted
        .intersection(caps.supported)
        .difference(carried);
    if !reset.is_empty() {
        return Err(TicketError::invalid(
            names(reset),
            format!(
                "{provider} resets it to a default when an update leaves it out, which would silently change the ticket: set it{merge}"
            ),
        ));
    }
    Ok(())
}
