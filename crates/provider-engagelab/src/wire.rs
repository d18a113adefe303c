//! Serde structs that mirror EngageLab's JSON exactly, and the mapping from a `TicketUpdate`.

use std::borrow::Cow;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use ticket_core::{CustomField, TicketError, TicketUpdate};

/// Body of `PUT /api/v2/accounts/tickets/:ticket_id`, keys in the order of the vendor table:
/// what [`EngageLab`](crate::EngageLab) sends (it only serializes).
#[derive(Serialize)]
pub struct UpdateTicketBody<'a> {
    title: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<AttachmentWire<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_fields: Option<CustomFieldsWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a [String]>,
    #[serde(flatten)]
    extra: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
struct AttachmentWire<'a> {
    file_url: &'a str,
}

/// `custom_fields` is an object `{key: value}`, in the order the caller gave.
struct CustomFieldsWire<'a>(&'a [CustomField]);

impl Serialize for CustomFieldsWire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        // `TicketUpdate::plan` checked that every field has a key (EngageLab requires one).
        for field in self.0 {
            if let Some(key) = field.key() {
                map.serialize_entry(key, field.value())?;
            }
        }
        map.end()
    }
}

/// The wire keys filled from unified fields; raw provider fields may not use them.
pub(crate) const MAPPED_KEYS: &[&str] = &[
    "title",
    "description",
    "attachments",
    "priority",
    "ticket_type",
    "custom_fields",
    "tags",
];

impl<'a> UpdateTicketBody<'a> {
    /// Maps every field EngageLab carries; the others (status, solved, comment, custom field
    /// ids) have no wire form here and were refused or reported as dropped by
    /// [`TicketUpdate::plan`], which also checked that title and description are present.
    pub(crate) fn new(update: &'a TicketUpdate) -> Result<Self, TicketError> {
        let required = |value: Option<&'a str>, field: &str| {
            value
                .ok_or_else(|| TicketError::invalid(field, "EngageLab requires it on every update"))
        };
        Ok(Self {
            title: required(update.title(), "title")?,
            description: required(update.description(), "description")?,
            attachments: update.attachments().map(|list| {
                list.iter()
                    .map(|a| AttachmentWire {
                        file_url: a.file_url(),
                    })
                    .collect()
            }),
            priority: update.priority().map(|p| p.as_str()),
            ticket_type: update.kind().map(|k| k.as_str()),
            custom_fields: update.custom_fields().map(CustomFieldsWire),
            tags: update.tags(),
            extra: update.provider_fields(crate::PROVIDER),
        })
    }
}

/// The response envelope, success or error: `{code, message, data}` or
/// `{"error": {code, message}}`. Only what the receipt needs is read: other keys (`message`
/// of a success) are skipped unread.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    pub(crate) code: Option<i64>,
    #[serde(borrow)]
    pub(crate) data: Option<SuccessData<'a>>,
    pub(crate) error: Option<ErrorBody>,
}

#[derive(Deserialize)]
pub(crate) struct SuccessData<'a> {
    /// A string in the document; a number is read too.
    #[serde(borrow)]
    pub(crate) ticket_id: Option<Loose<'a>>,
    /// RFC 3339 in the document; other forms are read leniently (see `updated_at`).
    #[serde(borrow)]
    pub(crate) updated_at: Option<Loose<'a>>,
}

/// A JSON value of any type, read without a `serde_json::Value` for the documented form: a
/// string (borrowed from the body unless it has escapes), or any other value as a `Value`
/// (numbers allocate nothing; objects and arrays are not expected here).
#[derive(Debug, PartialEq)]
pub(crate) enum Loose<'a> {
    Text(Cow<'a, str>),
    Other(Value),
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor(std::marker::PhantomData))
    }
}

struct LooseVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LooseVisitor<'a> {
    type Value = Loose<'a>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Loose::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Loose::Other)
    }
}

#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) code: Option<i64>,
    pub(crate) message: Option<String>,
}

/// The error envelope only, for non-2xx answers whose `data` may be anything.
#[derive(Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub(crate) code: Option<i64>,
    pub(crate) message: Option<String>,
    pub(crate) error: Option<ErrorBody>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `Loose` reads every JSON type as a `Value` would, strings as text (borrowed when
    /// they have no escapes).
    #[test]
    fn loose_reads_every_json_type() {
        let text = |json: &str| match serde_json::from_str::<Loose<'_>>(json).unwrap() {
            Loose::Text(t) => Some((t.into_owned(), false)),
            Loose::Other(_) => None,
        };
        assert_eq!(text(r#""a b""#), Some(("a b".to_owned(), false)));
        assert_eq!(text(r#""a\"b""#), Some(("a\"b".to_owned(), false)));
        let borrowed = r#""tk_1""#;
        assert!(matches!(
            serde_json::from_str::<Loose<'_>>(borrowed).unwrap(),
            Loose::Text(Cow::Borrowed("tk_1"))
        ));
        for json in [
            "1762223400",
            "-5",
            "18446744073709551615",
            "1.5",
            "true",
            "null",
            "[1,\"a\",{\"b\":null}]",
            "{\"z\":1,\"a\":[true]}",
        ] {
            let expected: Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                serde_json::from_str::<Loose<'_>>(json).unwrap(),
                Loose::Other(expected),
                "{json}"
            );
        }
        let seven = json!(7);
        assert_eq!(Loose::deserialize(&seven).unwrap(), Loose::Other(json!(7)));
    }
}
