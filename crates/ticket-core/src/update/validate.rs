//! [`TicketUpdateBuilder::build`]: every check an update passes before it exists.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::builder::PendingCustom;
use super::valid_provider_name;
use crate::{
    Attachment, CustomField, CustomFieldId, CustomValue, Status, TicketError, TicketStatus,
    TicketUpdate, TicketUpdateBuilder,
};

impl TicketUpdateBuilder {
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
        check_texts(&update)?;
        check_solved(&update)?;
        crate::merge::check_relative_edits(&update)?;
        check_tags(&update)?;
        if !pending_custom.is_empty() {
            update.custom_fields =
                Some(custom_fields(pending_custom, &update.unset_custom_fields)?);
        }
        if !pending_attachments.is_empty() {
            update.attachments = Some(
                pending_attachments
                    .into_iter()
                    .map(Attachment::new)
                    .collect::<Result<_, _>>()?,
            );
        }
        add_provider_fields(&mut update.provider_fields, provider_fields)?;
        Ok(update)
    }
}

/// No blank title, description or comment, and no comment visibility without a comment.
fn check_texts(update: &TicketUpdate) -> Result<(), TicketError> {
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
    Ok(())
}

/// A `solved` flag that agrees with the unified status, if both are set.
fn check_solved(update: &TicketUpdate) -> Result<(), TicketError> {
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
    Ok(())
}

/// No blank tag, and none given twice.
fn check_tags(update: &TicketUpdate) -> Result<(), TicketError> {
    let Some(tags) = &update.tags else {
        return Ok(());
    };
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
    Ok(())
}

/// The custom fields given to the builder, each checked: none both set and unset, no key or
/// id given twice.
fn custom_fields(
    pending: Vec<PendingCustom>,
    unset: &[String],
) -> Result<Vec<CustomField>, TicketError> {
    if let Some(key) = pending
        .iter()
        .find_map(|(_, key, _)| key.as_ref().filter(|k| unset.contains(k)))
    {
        return Err(TicketError::invalid(
            "custom_fields",
            format!("key {key:?} is both set and unset"),
        ));
    }
    // As for tags: scan the earlier fields when there are few, hash sets otherwise.
    let hashed = pending.len() > SCAN_LIMIT;
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    let mut fields: Vec<CustomField> = Vec::with_capacity(pending.len());
    for (id, key, value) in pending {
        let field = custom_field(id, key, value)?;
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
    Ok(fields)
}

/// One custom field from the parts given to the builder, its key and id checked.
fn custom_field(
    id: Option<CustomFieldId>,
    key: Option<String>,
    value: CustomValue,
) -> Result<CustomField, TicketError> {
    Ok(match (id, key) {
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
    })
}

/// Files the raw provider fields given to the builder by provider: valid provider names, no
/// empty key, no key given twice.
fn add_provider_fields(
    sections: &mut BTreeMap<String, Map<String, Value>>,
    fields: Vec<(String, String, Value)>,
) -> Result<(), TicketError> {
    for (provider, key, value) in fields {
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
        let section = sections.entry(provider.clone()).or_default();
        if section.contains_key(&key) {
            return Err(TicketError::invalid(
                format!("provider_fields.{provider}.{key}"),
                "is given twice",
            ));
        }
        section.insert(key, value);
    }
    Ok(())
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
