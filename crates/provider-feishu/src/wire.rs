//! Serde structs that mirror Feishu's JSON exactly, and the mapping from a `TicketUpdate`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ticket_core::{TicketError, TicketStatus, TicketUpdate};

/// Body of `PUT /open-apis/helpdesk/v1/tickets/:ticket_id`, keys in the order of the vendor
/// table; raw provider fields (`ticket_type`, `channel`, …) follow.
#[derive(Serialize)]
pub(crate) struct UpdateTicketBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag_names: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customized_fields: Option<Vec<CustomizedField<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    solved: Option<u8>,
    #[serde(flatten)]
    extra: Option<&'a Map<String, Value>>,
}

/// `customized_field_display_item`, keys in the order of the vendor example.
#[derive(Serialize)]
struct CustomizedField<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    value: &'a str,
    key_name: &'a str,
}

/// The wire keys filled from unified fields; raw provider fields may not use them.
pub(crate) const MAPPED_KEYS: &[&str] = &[
    "status",
    "tag_names",
    "comment",
    "customized_fields",
    "solved",
];

/// Raw keys the vendor document types as integers.
const INTEGER_KEYS: &[&str] = &["ticket_type", "channel"];

/// Feishu's status number.
pub(crate) const fn status_code(status: TicketStatus) -> u8 {
    match status {
        TicketStatus::AwaitingResponse => 1,
        TicketStatus::InProgress => 2,
        TicketStatus::Queued => 3,
        TicketStatus::Pending => 4,
        TicketStatus::AwaitingUser => 5,
        TicketStatus::ClosedByBot => 50,
        TicketStatus::ClosedManually => 51,
    }
}

impl<'a> UpdateTicketBody<'a> {
    /// Maps every field Feishu carries; the others (title, description, priority, kind,
    /// attachments) have no wire form here and were refused or reported as dropped by
    /// [`TicketUpdate::plan`].
    pub(crate) fn new(update: &'a TicketUpdate) -> Result<Self, TicketError> {
        let extra = update.provider_fields(crate::PROVIDER);
        if let Some(extra) = extra {
            for key in INTEGER_KEYS {
                if extra.get(*key).is_some_and(|v| !v.is_i64() && !v.is_u64()) {
                    return Err(TicketError::invalid(
                        format!("provider_fields.feishu.{key}"),
                        "must be an integer (the Feishu document types it `int`)",
                    ));
                }
            }
        }
        Ok(Self {
            status: update.status().map(status_code),
            tag_names: update.tags(),
            comment: update.comment(),
            customized_fields: update.custom_fields().map(|fields| {
                fields
                    .iter()
                    .map(|f| CustomizedField {
                        id: f.id(),
                        value: f.value(),
                        key_name: f.key(),
                    })
                    .collect()
            }),
            solved: update.solved().map(|solved| if solved { 2 } else { 1 }),
            extra,
        })
    }
}

/// The response envelope `{code, msg, data}`.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    pub(crate) code: Option<i64>,
    pub(crate) msg: Option<String>,
    pub(crate) data: Option<Value>,
}
