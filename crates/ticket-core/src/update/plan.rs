//! [`TicketUpdate::plan`]: fitting an update to one provider, and its outcome, [`Plan`].

use serde_json::{Map, Value};

use crate::{Capabilities, Field, FieldSet, TicketError, TicketUpdate, UnsupportedPolicy};

impl TicketUpdate {
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
        let unsupported = unsupported(self, set, provider, caps);
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
        check_reads(self, provider, caps)?;
        // Merge mode fills these from the ticket as read.
        if !self.merge {
            crate::merge::refuse_missing(provider, caps, carried)?;
        }
        check_custom_field_addresses(self, provider, caps, carried)?;
        let extra = raw_fields(self, provider, mapped_keys)?;
        if caps.requires_any_field && carried.is_empty() && extra.is_none_or(Map::is_empty) {
            return Err(nothing_to_send(provider, &dropped));
        }
        Ok(Plan { carried, dropped })
    }
}

/// The fields of `set` the provider cannot carry: those outside `caps.supported`, a native
/// status of another provider, and (under the lenient policy) a comment whose visibility is
/// dropped.
fn unsupported(
    update: &TicketUpdate,
    set: FieldSet,
    provider: &str,
    caps: &Capabilities,
) -> FieldSet {
    let mut unsupported = set.difference(caps.supported);
    if update.status.as_ref().is_some_and(|s| !s.is_for(provider)) {
        unsupported = unsupported.with(Field::Status);
    }
    if update.policy == UnsupportedPolicy::Lenient && unsupported.contains(Field::CommentVisibility)
    {
        unsupported = unsupported.with(Field::Comment);
    }
    unsupported
}

/// An update that needs a read goes to a provider that can read, and relative edits come
/// with merge mode.
fn check_reads(
    update: &TicketUpdate,
    provider: &str,
    caps: &Capabilities,
) -> Result<(), TicketError> {
    if update.needs_read() && !caps.read {
        return Err(TicketError::cannot_read(provider));
    }
    let tag_edits = update.edits_tags();
    if !update.merge && (tag_edits || !update.unset_custom_fields.is_empty()) {
        let field = if tag_edits { "tags" } else { "custom_fields" };
        return Err(TicketError::invalid(
            field,
            "adding or removing tags and unsetting custom fields change the ticket's current values: they need merge mode (`.merge()`, `\"merge\": true`, `--merge`), which reads the ticket first",
        ));
    }
    Ok(())
}

/// Every custom field sent carries the id or key the provider addresses custom fields by
/// (`caps.custom_field_requires`).
fn check_custom_field_addresses(
    update: &TicketUpdate,
    provider: &str,
    caps: &Capabilities,
    carried: FieldSet,
) -> Result<(), TicketError> {
    if !carried.contains(Field::CustomFields) {
        return Ok(());
    }
    for field in update.custom_fields.iter().flatten() {
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
    Ok(())
}

/// The raw fields for `provider`, refused if one uses a wire key the provider fills from a
/// unified field (`mapped_keys`).
fn raw_fields<'a>(
    update: &'a TicketUpdate,
    provider: &str,
    mapped_keys: &[&str],
) -> Result<Option<&'a Map<String, Value>>, TicketError> {
    let extra = update.provider_fields(provider);
    if let Some(extra) = extra
        && let Some(key) = mapped_keys.iter().find(|k| extra.contains_key(**k))
    {
        return Err(TicketError::invalid(
            format!("provider_fields.{provider}.{key}"),
            "collides with a field mapped from the unified update; set the unified field instead",
        ));
    }
    Ok(extra)
}

/// The refusal of an update that leaves the provider nothing to send.
fn nothing_to_send(provider: &str, dropped: &[Field]) -> TicketError {
    let reason = if dropped.is_empty() {
        format!("{provider} needs at least one field to update")
    } else {
        format!(
            "{provider} needs at least one field to update, and every field set was dropped as unsupported"
        )
    };
    TicketError::invalid("update", reason)
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
