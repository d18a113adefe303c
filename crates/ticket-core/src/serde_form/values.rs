//! The JSON forms of the small value types: ids, names, statuses, custom fields.

use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    CommentVisibility, CustomField, CustomFieldId, CustomValue, Field, NativeStatus, Priority,
    Status, TicketError, TicketId, TicketKind, TicketStatus,
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

pub(super) fn status_from(value: Value) -> Result<Status, TicketError> {
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
