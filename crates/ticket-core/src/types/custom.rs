//! Custom fields: a [`CustomField`] addressed by key, by [`CustomFieldId`] or both, holding a
//! [`CustomValue`].

use std::fmt;

use crate::TicketError;

/// The id of a custom field: a number (Zendesk) or a string (Feishu). Each provider accepts
/// the forms its API can carry: Zendesk refuses an id that is not a whole number, Feishu
/// sends a number as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomFieldId {
    /// A numeric id.
    Number(u64),
    /// A textual id (never blank).
    Text(String),
}

impl CustomFieldId {
    /// The id as a number: a numeric id, or a text id of ASCII digits only.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            CustomFieldId::Number(n) => Some(*n),
            CustomFieldId::Text(t) if t.bytes().all(|b| b.is_ascii_digit()) => t.parse().ok(),
            CustomFieldId::Text(_) => None,
        }
    }

    /// Whether `other` is the same id: equal in their decimal or text form, so `5` and `"5"`
    /// are one id (what comparing their `to_string()`s says, without allocating for two
    /// numbers or two texts).
    pub(crate) fn is_same(&self, other: &CustomFieldId) -> bool {
        match (self, other) {
            (CustomFieldId::Number(x), CustomFieldId::Number(y)) => x == y,
            (CustomFieldId::Text(x), CustomFieldId::Text(y)) => x == y,
            (CustomFieldId::Number(n), CustomFieldId::Text(t))
            | (CustomFieldId::Text(t), CustomFieldId::Number(n)) => *t == n.to_string(),
        }
    }
}

impl fmt::Display for CustomFieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomFieldId::Number(n) => write!(f, "{n}"),
            CustomFieldId::Text(t) => f.write_str(t),
        }
    }
}

impl From<u64> for CustomFieldId {
    fn from(id: u64) -> Self {
        CustomFieldId::Number(id)
    }
}

impl From<u32> for CustomFieldId {
    fn from(id: u32) -> Self {
        CustomFieldId::Number(id.into())
    }
}

impl From<&str> for CustomFieldId {
    fn from(id: &str) -> Self {
        CustomFieldId::Text(id.to_owned())
    }
}

impl From<String> for CustomFieldId {
    fn from(id: String) -> Self {
        CustomFieldId::Text(id)
    }
}

/// The value of a custom field: one JSON scalar. Providers whose API types values as text
/// (Feishu) send numbers and booleans as their JSON text and refuse `null`.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    /// JSON `null` (clears the field where the provider allows it).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// Text.
    Text(String),
}

impl CustomValue {
    /// The text, when the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CustomValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The value as text for APIs that type custom values as strings: text as is, numbers
    /// and booleans as their JSON text; `None` for `null`.
    pub fn to_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            CustomValue::Null => None,
            CustomValue::Bool(b) => Some(b.to_string().into()),
            CustomValue::Number(n) => Some(n.to_string().into()),
            CustomValue::Text(t) => Some(t.as_str().into()),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CustomValue::Null => serde_json::Value::Null,
            CustomValue::Bool(b) => serde_json::Value::Bool(*b),
            CustomValue::Number(n) => serde_json::Value::Number(n.clone()),
            CustomValue::Text(t) => serde_json::Value::String(t.clone()),
        }
    }
}

impl serde::Serialize for CustomValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CustomValue::Null => serializer.serialize_unit(),
            CustomValue::Bool(b) => serializer.serialize_bool(*b),
            CustomValue::Number(n) => n.serialize(serializer),
            CustomValue::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl TryFrom<serde_json::Value> for CustomValue {
    type Error = TicketError;
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        use serde_json::Value;
        Ok(match value {
            Value::Null => CustomValue::Null,
            Value::Bool(b) => CustomValue::Bool(b),
            Value::Number(n) => CustomValue::Number(n),
            Value::String(s) => CustomValue::Text(s),
            Value::Array(_) | Value::Object(_) => {
                return Err(TicketError::invalid(
                    "custom_fields.value",
                    "a custom field value must be a JSON scalar (string, number, boolean or null)",
                ));
            }
        })
    }
}

impl From<&str> for CustomValue {
    fn from(v: &str) -> Self {
        CustomValue::Text(v.to_owned())
    }
}

impl From<String> for CustomValue {
    fn from(v: String) -> Self {
        CustomValue::Text(v)
    }
}

impl From<&String> for CustomValue {
    fn from(v: &String) -> Self {
        CustomValue::Text(v.clone())
    }
}

impl From<bool> for CustomValue {
    fn from(v: bool) -> Self {
        CustomValue::Bool(v)
    }
}

impl From<i64> for CustomValue {
    fn from(v: i64) -> Self {
        CustomValue::Number(v.into())
    }
}

impl From<i32> for CustomValue {
    fn from(v: i32) -> Self {
        CustomValue::Number(v.into())
    }
}

impl From<u64> for CustomValue {
    fn from(v: u64) -> Self {
        CustomValue::Number(v.into())
    }
}

impl From<serde_json::Number> for CustomValue {
    fn from(v: serde_json::Number) -> Self {
        CustomValue::Number(v)
    }
}

/// One custom field: a value addressed by a key, an id, or both (at least one).
///
/// EngageLab addresses custom fields by key, Zendesk by numeric id, Feishu by either (its
/// items have every key optional). A provider that cannot carry the ids or keys of an update
/// refuses them (or drops and reports them); one that needs them refuses a field without.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    key: Option<String>,
    value: CustomValue,
    id: Option<CustomFieldId>,
}

impl CustomField {
    /// A custom field addressed by key. The key must not be blank.
    pub fn new(key: impl Into<String>, value: impl Into<CustomValue>) -> Result<Self, TicketError> {
        Self {
            key: None,
            value: value.into(),
            id: None,
        }
        .with_key(key)
    }

    /// A custom field addressed by id only. A text id must not be blank.
    pub fn by_id(
        id: impl Into<CustomFieldId>,
        value: impl Into<CustomValue>,
    ) -> Result<Self, TicketError> {
        Self {
            key: None,
            value: value.into(),
            id: None,
        }
        .with_id(id)
    }

    /// Sets the key (must not be blank).
    pub fn with_key(mut self, key: impl Into<String>) -> Result<Self, TicketError> {
        let key = key.into();
        if super::blank(&key) {
            return Err(TicketError::invalid(
                "custom_fields",
                "a custom field key must not be empty",
            ));
        }
        self.key = Some(key);
        Ok(self)
    }

    /// Sets the provider's id of this custom field. A text id must not be blank.
    pub fn with_id(mut self, id: impl Into<CustomFieldId>) -> Result<Self, TicketError> {
        let id = id.into();
        if let CustomFieldId::Text(text) = &id
            && super::blank(text)
        {
            return Err(TicketError::invalid(
                "custom_fields.id",
                format!("the id of custom field {} must not be empty", self.label()),
            ));
        }
        self.id = Some(id);
        Ok(self)
    }

    /// A custom field from its parts, as a builder or a read collects them: a key, an id or
    /// both (each checked as [`with_key`](Self::with_key) and [`with_id`](Self::with_id) check).
    pub(crate) fn from_parts(
        id: Option<CustomFieldId>,
        key: Option<String>,
        value: CustomValue,
    ) -> Result<Self, TicketError> {
        Ok(match (id, key) {
            (id, Some(key)) => {
                let field = CustomField::new(key, value)?;
                match id {
                    Some(id) => field.with_id(id)?,
                    None => field,
                }
            }
            (Some(id), None) => CustomField::by_id(id, value)?,
            (None, None) => return Err(unaddressed()),
        })
    }

    /// The parts [`from_parts`](Self::from_parts) takes.
    pub(crate) fn into_parts(self) -> (Option<CustomFieldId>, Option<String>, CustomValue) {
        (self.id, self.key, self.value)
    }

    /// The key, when set.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The value.
    pub fn value(&self) -> &CustomValue {
        &self.value
    }

    /// The provider's id, when set.
    pub fn id(&self) -> Option<&CustomFieldId> {
        self.id.as_ref()
    }

    /// How errors name this field: its key, else its id.
    pub fn label(&self) -> String {
        match (&self.key, &self.id) {
            (Some(key), _) => format!("{key:?}"),
            (None, Some(id)) => format!("with id {id}"),
            (None, None) => "(unnamed)".to_owned(),
        }
    }
}

/// The refusal of a custom field with neither a key nor an id.
pub(crate) fn unaddressed() -> TicketError {
    TicketError::invalid("custom_fields", "a custom field needs a key or an id")
}
