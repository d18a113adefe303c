//! [`TicketUpdateBuilder::build`]: every check an update passes before it exists.

use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;

use serde_json::{Map, Value};

use super::builder::PendingCustom;
use crate::types::{blank, check_provider_name};
use crate::{
    Attachment, CustomField, Status, TicketError, TicketStatus, TicketUpdate, TicketUpdateBuilder,
};

impl TicketUpdateBuilder {
    /// Validates everything and returns the update.
    ///
    /// Refuses, with [`TicketError::InvalidInput`] naming the field: a blank title,
    /// description, comment or tag; a duplicate tag; a custom field with an empty key or id,
    /// or a key or id given twice; an attachment that is not an absolute `http(s)` URL; a bad
    /// provider name or a raw key given twice; a comment visibility without a comment; a
    /// `solved` flag that contradicts the unified status (`solved: false` with status
    /// `solved`, or `solved: true` with `open`, `in_progress`, `pending` or `on_hold`); a
    /// relative edit of merge mode that is blank, given twice, contradicts another, or comes
    /// beside absolute tags.
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
        check_relative_edits(&update)?;
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

/// The checks of the relative edits: not beside absolute tags, no blank, repeated or
/// contradicting item. That they need merge mode is checked by the plan (so that a caller
/// may add merge mode to an update built without it, as `helpdesk apply --merge` does).
fn check_relative_edits(update: &TicketUpdate) -> Result<(), TicketError> {
    if update.edits_tags() && update.tags.is_some() {
        return Err(TicketError::invalid(
            "tags",
            "set the tags, or add and remove some, not both",
        ));
    }
    for (field, list) in [
        ("tags", &update.add_tags),
        ("tags", &update.remove_tags),
        ("custom_fields", &update.unset_custom_fields),
    ] {
        match list_fault(list) {
            Some(ListFault::Blank) => return Err(TicketError::invalid(field, "must not be blank")),
            Some(ListFault::Repeated(item)) => {
                return Err(TicketError::invalid(
                    field,
                    format!("{item:?} is given twice"),
                ));
            }
            None => {}
        }
    }
    if let Some(tag) = update
        .add_tags
        .iter()
        .find(|t| update.remove_tags.contains(t))
    {
        return Err(TicketError::invalid(
            "tags",
            format!("tag {tag:?} is both added and removed"),
        ));
    }
    Ok(())
}

/// No blank tag, and none given twice.
fn check_tags(update: &TicketUpdate) -> Result<(), TicketError> {
    match update.tags.as_deref().and_then(list_fault) {
        Some(ListFault::Blank) => Err(TicketError::invalid("tags", "a tag must not be blank")),
        Some(ListFault::Repeated(tag)) => Err(TicketError::invalid(
            "tags",
            format!("tag {tag:?} is given twice"),
        )),
        None => Ok(()),
    }
}

/// What is wrong with a list of names (tags, or keys to unset).
enum ListFault<'a> {
    /// An item is blank.
    Blank,
    /// This item is given twice.
    Repeated(&'a str),
}

/// The first fault of `list`, in order: a blank item, or an item given before.
fn list_fault(list: &[String]) -> Option<ListFault<'_>> {
    let mut repeats = Repeats::new(list.len());
    for (i, item) in list.iter().enumerate() {
        if blank(item) {
            return Some(ListFault::Blank);
        }
        if repeats.repeated(|| item.as_str(), || list[..i].contains(item)) {
            return Some(ListFault::Repeated(item));
        }
    }
    None
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
    let mut keys = Repeats::new(pending.len());
    let mut ids = Repeats::new(pending.len());
    let mut fields: Vec<CustomField> = Vec::with_capacity(pending.len());
    for (id, key, value) in pending {
        let field = CustomField::from_parts(id, key, value)?;
        if let Some(key) = field.key()
            && keys.repeated(
                || key.to_owned(),
                || fields.iter().any(|f| f.key() == Some(key)),
            )
        {
            return Err(TicketError::invalid(
                "custom_fields",
                format!("key {key:?} is given twice"),
            ));
        }
        // An id's text form is its key in the set, so `5` and `"5"` are one id there too.
        if let Some(id) = field.id()
            && ids.repeated(
                || id.to_string(),
                || {
                    fields
                        .iter()
                        .any(|f| f.id().is_some_and(|other| other.is_same(id)))
                },
            )
        {
            return Err(TicketError::invalid(
                "custom_fields.id",
                format!("id {id:?} is given twice"),
            ));
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Files the raw provider fields given to the builder by provider: valid provider names, no
/// empty key, no key given twice.
fn add_provider_fields(
    sections: &mut BTreeMap<String, Map<String, Value>>,
    fields: Vec<(String, String, Value)>,
) -> Result<(), TicketError> {
    for (provider, key, value) in fields {
        check_provider_name("provider_fields", &provider)?;
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

/// Finds items given twice in a list read in order. A handful of items is the common case: a
/// scan of the earlier ones is cheaper than a hash set; a long list gets the set. Either way
/// the first repeat, in order, is the one found.
struct Repeats<K> {
    /// The keys seen so far, once the list is longer than [`SCAN_LIMIT`].
    seen: Option<HashSet<K>>,
}

impl<K: Eq + Hash> Repeats<K> {
    fn new(len: usize) -> Self {
        Self {
            seen: (len > SCAN_LIMIT).then(|| HashSet::with_capacity(len)),
        }
    }

    /// Whether the next item was given before: `earlier` scans the items before it in a short
    /// list; in a long one its `key` goes into the set.
    fn repeated(&mut self, key: impl FnOnce() -> K, earlier: impl FnOnce() -> bool) -> bool {
        match &mut self.seen {
            Some(seen) => !seen.insert(key()),
            None => earlier(),
        }
    }
}

/// Up to this many items, [`Repeats`] scans the earlier ones (no allocation); above it, it
/// keeps a hash set.
const SCAN_LIMIT: usize = 16;
