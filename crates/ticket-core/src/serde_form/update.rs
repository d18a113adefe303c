//! The JSON form of [`TicketUpdate`]: read through the builder (so it is checked exactly as
//! [`TicketUpdateBuilder::build`] checks), unknown keys refused; written with only the fields set.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::values::status_from;
use crate::{
    CommentVisibility, CustomFieldId, CustomValue, Priority, TicketError, TicketKind, TicketUpdate,
    TicketUpdateBuilder, UnsupportedPolicy,
};

/// One custom field as written in JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomFieldForm {
    key: Option<String>,
    id: Option<CustomFieldId>,
    value: CustomValue,
}

/// A comment as written in JSON: its text, or `{"body": …, "visibility": …}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum CommentForm {
    Text(String),
    Full(CommentObject),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentObject {
    body: String,
    visibility: Option<CommentVisibility>,
}

/// The JSON form of an update, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateForm {
    title: Option<String>,
    description: Option<String>,
    priority: Option<Priority>,
    kind: Option<TicketKind>,
    tags: Option<Vec<String>>,
    custom_fields: Option<Vec<CustomFieldForm>>,
    attachments: Option<Vec<String>>,
    status: Option<Value>,
    solved: Option<bool>,
    comment: Option<Value>,
    #[serde(default)]
    provider_fields: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    lenient: bool,
    #[serde(default)]
    merge: bool,
    #[serde(default)]
    verify: bool,
    add_tags: Option<Vec<String>>,
    remove_tags: Option<Vec<String>>,
    unset_custom_fields: Option<Vec<String>>,
}

impl UpdateForm {
    /// The update this form describes, built (and so checked) by the builder.
    fn into_update(self) -> Result<TicketUpdate, TicketError> {
        let mut b: TicketUpdateBuilder = TicketUpdate::builder();
        if let Some(v) = self.title {
            b = b.title(v);
        }
        if let Some(v) = self.description {
            b = b.description(v);
        }
        if let Some(v) = self.priority {
            b = b.priority(v);
        }
        if let Some(v) = self.kind {
            b = b.kind(v);
        }
        if let Some(v) = self.tags {
            b = b.tags(v);
        }
        if let Some(fields) = self.custom_fields {
            b = with_custom_fields(b, fields)?;
        }
        if let Some(list) = self.attachments {
            b = with_attachments(b, list)?;
        }
        if let Some(v) = self.status {
            b = b.status(status_from(v)?);
        }
        if let Some(v) = self.solved {
            b = b.solved(v);
        }
        if let Some(v) = self.comment {
            b = with_comment(b, v)?;
        }
        b = with_provider_fields(b, self.provider_fields)?;
        if self.lenient {
            b = b.lenient();
        }
        if self.merge {
            b = b.merge();
        }
        if self.verify {
            b = b.verify();
        }
        b = with_relative_edits(
            b,
            [
                ("add_tags", self.add_tags),
                ("remove_tags", self.remove_tags),
                ("unset_custom_fields", self.unset_custom_fields),
            ],
        )?;
        b.build()
    }
}

/// `custom_fields`: a list that is not empty, each item with a key, an id or both.
fn with_custom_fields(
    mut b: TicketUpdateBuilder,
    fields: Vec<CustomFieldForm>,
) -> Result<TicketUpdateBuilder, TicketError> {
    if fields.is_empty() {
        return Err(empty("custom_fields", "an empty list sets nothing"));
    }
    for f in fields {
        b = match (f.id, f.key) {
            (Some(id), Some(key)) => b.custom_field_with_id(id, key, f.value),
            (None, Some(key)) => b.custom_field(key, f.value),
            (Some(id), None) => b.custom_field_by_id(id, f.value),
            (None, None) => return Err(crate::types::unaddressed()),
        };
    }
    Ok(b)
}

/// `attachments`: a list of URLs that is not empty.
fn with_attachments(
    mut b: TicketUpdateBuilder,
    list: Vec<String>,
) -> Result<TicketUpdateBuilder, TicketError> {
    if list.is_empty() {
        return Err(empty("attachments", "an empty list sets nothing"));
    }
    for url in list {
        b = b.attachment(url);
    }
    Ok(b)
}

/// `comment`: its text, or `{"body": …, "visibility": …}`.
fn with_comment(b: TicketUpdateBuilder, v: Value) -> Result<TicketUpdateBuilder, TicketError> {
    let form = CommentForm::deserialize(v).map_err(|e| {
        TicketError::invalid(
            "comment",
            format!("expected text or {{\"body\": …, \"visibility\": …}} ({e})"),
        )
    })?;
    Ok(match form {
        CommentForm::Text(text) => b.comment(text),
        CommentForm::Full(c) => {
            let b = b.comment(c.body);
            match c.visibility {
                Some(v) => b.comment_visibility(v),
                None => b,
            }
        }
    })
}

/// `provider_fields`: an object of providers, each an object of raw fields that is not empty.
fn with_provider_fields(
    mut b: TicketUpdateBuilder,
    sections: BTreeMap<String, Map<String, Value>>,
) -> Result<TicketUpdateBuilder, TicketError> {
    for (provider, fields) in sections {
        if fields.is_empty() {
            return Err(empty(
                &format!("provider_fields.{provider}"),
                "an empty object sets nothing",
            ));
        }
        for (key, value) in fields {
            b = b.provider_field(provider.clone(), key, value);
        }
    }
    Ok(b)
}

/// `add_tags`, `remove_tags`, `unset_custom_fields`: each a list that is not empty.
fn with_relative_edits(
    mut b: TicketUpdateBuilder,
    lists: [(&str, Option<Vec<String>>); 3],
) -> Result<TicketUpdateBuilder, TicketError> {
    for (key, list) in lists {
        let Some(list) = list else { continue };
        if list.is_empty() {
            return Err(empty(key, "an empty list changes nothing"));
        }
        for item in list {
            b = match key {
                "add_tags" => b.add_tag(item),
                "remove_tags" => b.remove_tag(item),
                _ => b.unset_custom_field(item),
            };
        }
    }
    Ok(b)
}

/// The refusal of an empty list or object: it would look like a change and make none.
fn empty(key: &str, what: &str) -> TicketError {
    TicketError::invalid(key, format!("{what}; leave the key out"))
}

impl<'de> Deserialize<'de> for TicketUpdate {
    /// Reads the JSON form (see the crate docs): unknown keys are refused, and the result is
    /// validated exactly as [`TicketUpdateBuilder::build`] does. `null` means "not set".
    ///
    /// The update is read as a map (`deserialize_map`), not as a struct, so that unknown keys
    /// are refused even when it is `#[serde(flatten)]`ed into a larger line such as
    /// `{"ticket_id": …, …}`: a flattened struct would only be shown the keys it knows. The
    /// keys are read straight from the input, with no intermediate `serde_json::Value`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(FormVisitor)?
            .into_update()
            .map_err(de::Error::custom)
    }
}

/// Reads an [`UpdateForm`] from any map, with the derived (unknown-key refusing) field logic.
struct FormVisitor;

impl<'de> de::Visitor<'de> for FormVisitor {
    type Value = UpdateForm;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ticket update object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<UpdateForm, A::Error> {
        UpdateForm::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

impl Serialize for TicketUpdate {
    /// Writes the JSON form: only the fields set; `lenient` only when true. Reading it back
    /// gives an equal update.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(v) = self.title() {
            map.serialize_entry("title", v)?;
        }
        if let Some(v) = self.description() {
            map.serialize_entry("description", v)?;
        }
        if let Some(v) = self.priority() {
            map.serialize_entry("priority", &v)?;
        }
        if let Some(v) = self.kind() {
            map.serialize_entry("kind", &v)?;
        }
        if let Some(v) = self.tags() {
            map.serialize_entry("tags", v)?;
        }
        if let Some(v) = self.custom_fields() {
            map.serialize_entry("custom_fields", v)?;
        }
        if let Some(v) = self.attachments() {
            let urls: Vec<&str> = v.iter().map(|a| a.file_url()).collect();
            map.serialize_entry("attachments", &urls)?;
        }
        if let Some(v) = self.status() {
            map.serialize_entry("status", v)?;
        }
        if let Some(v) = self.solved() {
            map.serialize_entry("solved", &v)?;
        }
        if let Some(body) = self.comment() {
            match self.comment_visibility() {
                None => map.serialize_entry("comment", body)?,
                Some(visibility) => {
                    let mut comment = Map::new();
                    comment.insert("body".into(), body.into());
                    comment.insert("visibility".into(), visibility.as_str().into());
                    map.serialize_entry("comment", &comment)?;
                }
            }
        }
        let sections: BTreeMap<&str, &Map<String, Value>> = self
            .provider_field_names()
            .filter_map(|p| self.provider_fields(p).map(|f| (p, f)))
            .collect();
        if !sections.is_empty() {
            map.serialize_entry("provider_fields", &sections)?;
        }
        if self.policy() == UnsupportedPolicy::Lenient {
            map.serialize_entry("lenient", &true)?;
        }
        if self.merges() {
            map.serialize_entry("merge", &true)?;
        }
        if self.verifies() {
            map.serialize_entry("verify", &true)?;
        }
        for (key, list) in [
            ("add_tags", self.tags_added()),
            ("remove_tags", self.tags_removed()),
            ("unset_custom_fields", self.custom_fields_unset()),
        ] {
            if !list.is_empty() {
                map.serialize_entry(key, list)?;
            }
        }
        map.end()
    }
}
