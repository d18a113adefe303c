//! Serde structs that mirror Feishu's JSON exactly, and the mapping from a `TicketUpdate`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;

use ticket_core::{Field, Plan, Status, TicketError, TicketStatus, TicketUpdate};

use crate::FeishuStatus;

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
    id: Option<String>,
    value: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_name: Option<&'a str>,
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

/// Feishu's status number and `solved` value for a unified status: `solved` has no status
/// number, and is sent as `solved: 2`.
pub(crate) const fn unified_status(status: TicketStatus) -> (Option<FeishuStatus>, Option<u8>) {
    match status {
        TicketStatus::Open => (Some(FeishuStatus::AwaitingResponse), None),
        TicketStatus::InProgress => (Some(FeishuStatus::InProgress), None),
        TicketStatus::Pending => (Some(FeishuStatus::AwaitingUser), None),
        TicketStatus::OnHold => (Some(FeishuStatus::Pending), None),
        TicketStatus::Solved => (None, Some(2)),
        TicketStatus::Closed => (Some(FeishuStatus::ClosedManually), None),
    }
}

impl<'a> UpdateTicketBody<'a> {
    /// Maps every field Feishu carries; the others (title, description, priority, kind,
    /// attachments) have no wire form here and were refused or reported as dropped by
    /// [`TicketUpdate::plan`].
    pub(crate) fn new(update: &'a TicketUpdate, plan: &Plan) -> Result<Self, TicketError> {
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
        let carried = |field| plan.carried.contains(field);
        let (status, solved_by_status) = match update.status().filter(|_| carried(Field::Status)) {
            None => (None, None),
            Some(Status::Unified(status)) => unified_status(*status),
            Some(Status::Native(native)) => (Some(native.value().parse::<FeishuStatus>()?), None),
        };
        let customized_fields = match update.custom_fields() {
            None => None,
            Some(fields) => Some(
                fields
                    .iter()
                    .map(|f| {
                        let value = f.value().to_text().ok_or_else(|| {
                            TicketError::invalid(
                                "custom_fields.value",
                                format!(
                                    "Feishu types custom values as strings; custom field {} is null",
                                    f.label()
                                ),
                            )
                        })?;
                        Ok(CustomizedField {
                            id: f.id().filter(|_| carried(Field::CustomFieldIds)).map(|id| id.to_string()),
                            value,
                            key_name: f.key().filter(|_| carried(Field::CustomFieldKeys)),
                        })
                    })
                    .collect::<Result<Vec<_>, TicketError>>()?,
            ),
        };
        Ok(Self {
            status: status.map(FeishuStatus::code),
            tag_names: update.tags(),
            comment: update.comment().filter(|_| carried(Field::Comment)),
            customized_fields,
            solved: update
                .solved()
                .map(|solved| if solved { 2 } else { 1 })
                .or(solved_by_status),
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
