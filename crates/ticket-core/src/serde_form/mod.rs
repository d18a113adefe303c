//! The JSON form of [`TicketUpdate`] and [`UpdateReceipt`] (feature `serde`).
//!
//! Deserializing a [`TicketUpdate`] runs exactly the checks of [`TicketUpdateBuilder::build`]
//! (the form is fed through the builder), and unknown keys are refused, so a typo in a file of
//! updates is an error rather than a field silently not set.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{
    CommentVisibility, CustomField, CustomFieldId, CustomValue, Field, NativeStatus, Priority,
    Status, TicketError, TicketId, TicketKind, TicketStatus, TicketUpdate, TicketUpdateBuilder,
    UnsupportedPolicy, UpdateReceipt,
};

/// Serializes as `as_str()`/`Display` text and deserializes through `FromStr`, so that the
/// JSON form accepts exactly what the parsers accept (`"normal"` is a priority).
macro_rules! text_serde {
    ($($ty:ty),+) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                <$ty>::from_str(&text).map_err(de::Error::custom)
            }
        }
    )+};
}

text_serde!(TicketId, Priority, TicketKind, TicketStatus, Field);

impl fmt::Display for CommentVisibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

text_serde!(CommentVisibility);

impl Serialize for CustomFieldId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CustomFieldId::Number(n) => serializer.serialize_u64(*n),
            CustomFieldId::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for CustomFieldId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(CustomFieldId::Text(text)),
            Value::Number(n) => n.as_u64().map(CustomFieldId::Number).ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid custom_fields.id: {n} is not a whole number from 0 up"
                ))
            }),
            other => Err(de::Error::custom(format!(
                "invalid custom_fields.id: expected a number or a string, found {}",
                kind_of(&other)
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for CustomValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CustomValue::try_from(Value::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl Serialize for Status {
    /// A unified status as its name (`"in_progress"`); a native one as `{"feishu": "queued"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Status::Unified(status) => status.serialize(serializer),
            Status::Native(native) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(native.provider(), native.value())?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        status_from(Value::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

fn status_from(value: Value) -> Result<Status, TicketError> {
    match value {
        Value::String(text) => Ok(Status::Unified(text.parse()?)),
        Value::Object(map) if map.len() == 1 => {
            let (provider, value) = map.into_iter().next().unwrap_or_default();
            match value {
                Value::String(value) => Ok(Status::Native(NativeStatus::new(provider, value)?)),
                Value::Number(n) => Ok(Status::Native(NativeStatus::new(provider, n.to_string())?)),
                other => Err(TicketError::invalid(
                    "status",
                    format!(
                        "a native status is a string or a number, found {}",
                        kind_of(&other)
                    ),
                )),
            }
        }
        other => Err(TicketError::invalid(
            "status",
            format!(
                "expected a unified status name or {{\"<provider>\": \"<value>\"}}, found {}",
                kind_of(&other)
            ),
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Serialize for CustomField {
    /// `{"key": …, "id": …, "value": …}`; `key` and `id` only when set.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(key) = self.key() {
            map.serialize_entry("key", key)?;
        }
        if let Some(id) = self.id() {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("value", self.value())?;
        map.end()
    }
}

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
            if fields.is_empty() {
                return Err(TicketError::invalid(
                    "custom_fields",
                    "an empty list sets nothing; leave the key out",
                ));
            }
            for f in fields {
                b = match (f.id, f.key) {
                    (Some(id), Some(key)) => b.custom_field_with_id(id, key, f.value),
                    (None, Some(key)) => b.custom_field(key, f.value),
                    (Some(id), None) => b.custom_field_by_id(id, f.value),
                    (None, None) => {
                        return Err(TicketError::invalid(
                            "custom_fields",
                            "a custom field needs a key or an id",
                        ));
                    }
                };
            }
        }
        if let Some(list) = self.attachments {
            if list.is_empty() {
                return Err(TicketError::invalid(
                    "attachments",
                    "an empty list sets nothing; leave the key out",
                ));
            }
            for url in list {
                b = b.attachment(url);
            }
        }
        if let Some(v) = self.status {
            b = b.status(status_from(v)?);
        }
        if let Some(v) = self.solved {
            b = b.solved(v);
        }
        if let Some(v) = self.comment {
            let form = CommentForm::deserialize(v).map_err(|e| {
                TicketError::invalid(
                    "comment",
                    format!("expected text or {{\"body\": …, \"visibility\": …}} ({e})"),
                )
            })?;
            b = match form {
                CommentForm::Text(text) => b.comment(text),
                CommentForm::Full(c) => {
                    let b = b.comment(c.body);
                    match c.visibility {
                        Some(v) => b.comment_visibility(v),
                        None => b,
                    }
                }
            };
        }
        for (provider, fields) in self.provider_fields {
            if fields.is_empty() {
                return Err(TicketError::invalid(
                    format!("provider_fields.{provider}"),
                    "an empty object sets nothing; leave the key out",
                ));
            }
            for (key, value) in fields {
                b = b.provider_field(provider.clone(), key, value);
            }
        }
        if self.lenient {
            b = b.lenient();
        }
        if self.merge {
            b = b.merge();
        }
        if self.verify {
            b = b.verify();
        }
        for (key, list) in [
            ("add_tags", self.add_tags),
            ("remove_tags", self.remove_tags),
            ("unset_custom_fields", self.unset_custom_fields),
        ] {
            let Some(list) = list else { continue };
            if list.is_empty() {
                return Err(TicketError::invalid(
                    key,
                    "an empty list changes nothing; leave the key out",
                ));
            }
            for item in list {
                b = match key {
                    "add_tags" => b.add_tag(item),
                    "remove_tags" => b.remove_tag(item),
                    _ => b.unset_custom_field(item),
                };
            }
        }
        b.build()
    }
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

/// The JSON form of a receipt.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptForm {
    provider: String,
    ticket_id: TicketId,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    dropped: Vec<Field>,
    attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merge: Option<crate::serde_read::MergeForm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verification: Option<crate::Verification>,
}

impl Serialize for UpdateReceipt {
    /// `{"provider", "ticket_id", "updated_at" (RFC 3339 or null), "request_id" (or null),
    /// "dropped" (field names), "attempts"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let updated_at = self
            .updated_at
            .map(|t| t.format(&Rfc3339))
            .transpose()
            .map_err(serde::ser::Error::custom)?;
        ReceiptForm {
            provider: self.provider.clone(),
            ticket_id: self.ticket_id.clone(),
            updated_at,
            request_id: self.request_id.clone(),
            dropped: self.dropped.clone(),
            attempts: self.attempts,
            merge: self
                .merge
                .as_deref()
                .map(crate::serde_read::MergeForm::from_report)
                .transpose()
                .map_err(serde::ser::Error::custom)?,
            verification: self.verification.as_deref().cloned(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for UpdateReceipt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = ReceiptForm::deserialize(deserializer)?;
        let updated_at = form
            .updated_at
            .map(|t| {
                OffsetDateTime::parse(&t, &Rfc3339).map_err(|e| {
                    de::Error::custom(format!("updated_at {t:?} is not RFC 3339 ({e})"))
                })
            })
            .transpose()?;
        let merge = form
            .merge
            .map(crate::serde_read::MergeForm::into_report)
            .transpose()
            .map_err(de::Error::custom)?;
        Ok(UpdateReceipt::new(form.provider, form.ticket_id)
            .with_updated_at(updated_at)
            .with_request_id(form.request_id)
            .with_dropped(form.dropped)
            .with_attempts(form.attempts)
            .with_merge(merge)
            .with_verification(form.verification))
    }
}
