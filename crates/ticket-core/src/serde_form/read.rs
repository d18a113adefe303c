//! The JSON form of what reading gives (feature `serde`): a [`TicketSnapshot`] (written only),
//! and a receipt's [`MergeReport`].

use super::{parse_rfc3339, rfc3339};
use crate::{Field, MergeReport, NativeStatus, SnapshotField, TicketSnapshot};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

impl Serialize for TicketSnapshot {
    /// `{"provider", "ticket_id", "title", "description", "priority", "kind", "tags",
    /// "custom_fields", "attachments", "status", "native_status", "solved", "latest_comment",
    /// "updated_at" (RFC 3339), "raw"}`: every key present, `null` where the read does not show
    /// the field; `native_status` as `"provider:value"`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let updated_at = rfc3339(self.updated_at)
            .map_err(serde::ser::Error::custom)?
            .or_else(|| self.updated_at_raw.clone());
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("provider", &self.provider)?;
        map.serialize_entry("ticket_id", &self.ticket_id)?;
        map.serialize_entry("title", &self.title)?;
        map.serialize_entry("description", &self.description)?;
        map.serialize_entry("priority", &self.priority)?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("tags", &self.tags)?;
        map.serialize_entry("custom_fields", &self.custom_fields)?;
        map.serialize_entry("attachments", &self.attachments)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry(
            "native_status",
            &self.native_status.as_ref().map(NativeStatus::qualified),
        )?;
        map.serialize_entry("solved", &self.solved)?;
        map.serialize_entry("latest_comment", &self.latest_comment)?;
        map.serialize_entry("updated_at", &updated_at)?;
        map.serialize_entry("raw", &self.raw)?;
        map.end()
    }
}

impl Serialize for SnapshotField {
    /// `{"id", "key", "display_name", "value", "option"}`, each only when known (`value`
    /// always).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        if let Some(key) = &self.key {
            map.serialize_entry("key", key)?;
        }
        if let Some(name) = &self.display_name {
            map.serialize_entry("display_name", name)?;
        }
        map.serialize_entry("value", &self.value)?;
        if let Some(option) = &self.option {
            map.serialize_entry("option", option)?;
        }
        map.end()
    }
}

/// A receipt's `merge`: `{"filled": ["title", …], "read_updated_at": RFC 3339 or null}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeForm {
    filled: Vec<Field>,
    #[serde(default)]
    read_updated_at: Option<String>,
}

impl MergeForm {
    pub(crate) fn from_report(report: &MergeReport) -> Result<Self, time::error::Format> {
        Ok(Self {
            filled: report.filled.clone(),
            read_updated_at: rfc3339(report.read_updated_at)?,
        })
    }

    pub(crate) fn into_report(self) -> Result<MergeReport, String> {
        let read_updated_at = parse_rfc3339("read_updated_at", self.read_updated_at)?;
        Ok(MergeReport {
            filled: self.filled,
            read_updated_at,
        })
    }
}
