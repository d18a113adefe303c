//! The JSON form of [`UpdateReceipt`].

use super::read::MergeForm;
use super::{parse_rfc3339, rfc3339};
use crate::{Field, TicketId, UpdateReceipt};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

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
    merge: Option<MergeForm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verification: Option<crate::Verification>,
}

impl Serialize for UpdateReceipt {
    /// `{"provider", "ticket_id", "updated_at" (RFC 3339 or null), "request_id" (or null),
    /// "dropped" (field names), "attempts"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let updated_at = rfc3339(self.updated_at).map_err(serde::ser::Error::custom)?;
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
                .map(MergeForm::from_report)
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
        let updated_at = parse_rfc3339("updated_at", form.updated_at).map_err(de::Error::custom)?;
        let merge = form
            .merge
            .map(MergeForm::into_report)
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
