//! Serde structs that mirror Feishu's JSON exactly, and the mapping from a `TicketUpdate`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;

use ticket_core::{Field, Plan, Status, TicketError, TicketStatus, TicketUpdate};

use crate::FeishuStatus;

/// Body of `PUT /open-apis/helpdesk/v1/tickets/:ticket_id`, keys in the order of the vendor
/// table; raw provider fields (`ticket_type`, `channel`, …) follow.
#[derive(Serialize)]
pub struct UpdateTicketBody<'a> {
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

/// Raw keys the vendor document types as integers (`int`: 32-bit, as Feishu's server reads
/// them; a larger number passes JSON but is refused there).
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
                let in_range =
                    |v: &serde_json::Value| v.as_i64().is_some_and(|n| i32::try_from(n).is_ok());
                if extra.get(*key).is_some_and(|v| !in_range(v)) {
                    return Err(TicketError::invalid(
                        format!("provider_fields.feishu.{key}"),
                        "must be an integer from -2147483648 to 2147483647 (the Feishu document \
                         types it `int`, a 32-bit integer)",
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

/// The response envelope `{code, msg, data}`, read without copying: `msg` borrowed from the
/// body (unless it has escapes), and of `data` only whether it is an object.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    pub(crate) code: Option<i64>,
    #[serde(borrow)]
    pub(crate) msg: Option<Cow<'a, str>>,
    pub(crate) data: Option<Data>,
}

/// What the decoder needs of `data`: whether it is an object (its content is skipped).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Data {
    Object,
    Other,
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::IgnoredAny;
        // Any JSON value is accepted and skipped; only its kind is kept.
        struct Kind;
        impl<'de> serde::de::Visitor<'de> for Kind {
            type Value = Data;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Data::Object)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Data::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_unit<E>(self) -> Result<Data, E> {
                Ok(Data::Other)
            }
        }
        deserializer.deserialize_any(Kind)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The envelope reads `code` and `msg` (escapes included), and of `data` only its kind,
    /// as `serde_json::Value::is_object` would tell it.
    #[test]
    fn the_envelope_reads_code_msg_and_the_kind_of_data() {
        let env: Envelope<'_> =
            serde_json::from_str(r#"{"code":0,"msg":"a\"b","data":{"x":[1,{"y":null}]}}"#).unwrap();
        assert_eq!((env.code, env.msg.as_deref()), (Some(0), Some("a\"b")));
        assert_eq!(env.data, Some(Data::Object));
        for (data, kind) in [
            ("{}", Some(Data::Object)),
            ("null", None),
            ("[]", Some(Data::Other)),
            ("[{},2]", Some(Data::Other)),
            ("\"x\"", Some(Data::Other)),
            ("1", Some(Data::Other)),
            ("-1", Some(Data::Other)),
            ("1.5", Some(Data::Other)),
            ("true", Some(Data::Other)),
        ] {
            let body = format!(r#"{{"code":0,"data":{data}}}"#);
            let env: Envelope<'_> = serde_json::from_str(&body).unwrap();
            let value: Value = serde_json::from_str(data).unwrap();
            assert_eq!(env.data, kind, "{data}");
            assert_eq!(env.data == Some(Data::Object), value.is_object(), "{data}");
        }
        assert!(serde_json::from_str::<Envelope<'_>>(r#"{"code":0,"data":{"x":}}"#).is_err());
    }
}
