//! Serde structs that mirror EngageLab's JSON exactly, and the mapping from a `TicketUpdate`.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use ticket_core::{CustomField, TicketError, TicketUpdate};

/// Body of `PUT /api/v2/accounts/tickets/:ticket_id`, keys in the order of the vendor table.
#[derive(Serialize)]
pub(crate) struct UpdateTicketBody<'a> {
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
/// `{"error": {code, message}}`.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    pub(crate) code: Option<i64>,
    pub(crate) data: Option<SuccessData>,
    pub(crate) error: Option<ErrorBody>,
}

#[derive(Deserialize)]
pub(crate) struct SuccessData {
    /// A string in the document; a number is read too.
    pub(crate) ticket_id: Option<Value>,
    /// RFC 3339 in the document; other forms are read leniently (see `updated_at`).
    pub(crate) updated_at: Option<Value>,
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
