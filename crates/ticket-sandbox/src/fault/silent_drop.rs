//! What the silent-drop fault withholds: one field of an update, or one tag or custom field key.

use std::fmt;

use serde_json::{Map, Value};

use crate::ratelimit::Provider;
use crate::{engagelab, feishu};

/// The one thing a [`crate::Fault::SilentDrop`] keeps an update from storing.
///
/// Written as the update body names it: a top-level field (`priority`, `status`, `tags`, …), or
/// `<list>.<item>` for one tag or one custom field (`tags.vip`, `custom_fields.device_sn` for
/// EngageLab; `tag_names.vip`, `customized_fields.<id or key_name>` for Feishu). The first `.`
/// separates, so a key may itself contain dots.
///
/// ```
/// use helpdesk_ticket_sandbox::{DropTarget, Provider};
///
/// let target = DropTarget::new(Provider::EngageLab, "custom_fields.device.sn").unwrap();
/// assert_eq!(target.key(), Some("device.sn"));
/// assert!(DropTarget::new(Provider::Feishu, "priority").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropTarget {
    provider: Provider,
    field: String,
    key: Option<String>,
}

impl DropTarget {
    /// Parses `spec` against the update fields of `provider`.
    ///
    /// # Errors
    /// When the field is not one the provider's update body has, a key is given for a field
    /// that is not a list of tags or custom fields, or the key is empty.
    pub fn new(provider: Provider, spec: &str) -> Result<Self, String> {
        let (field, key) = match spec.split_once('.') {
            Some((field, key)) => (field, Some(key)),
            None => (spec, None),
        };
        let (fields, keyed): (&[&str], [&str; 2]) = match provider {
            Provider::EngageLab => (&engagelab::UPDATE_FIELDS, ["tags", "custom_fields"]),
            Provider::Feishu => (&feishu::UPDATE_FIELDS, ["tag_names", "customized_fields"]),
        };
        if !fields.contains(&field) {
            return Err(format!(
                "{provider} updates have no field {field:?} (expected one of {})",
                fields.join(", ")
            ));
        }
        if let Some(key) = key {
            if !keyed.contains(&field) {
                return Err(format!(
                    "only {} take a .<item> suffix, not {field:?}",
                    keyed.join(" and ")
                ));
            }
            if key.is_empty() {
                return Err(format!("{field}.: the item after the dot is empty"));
            }
        }
        Ok(Self {
            provider,
            field: field.to_owned(),
            key: key.map(str::to_owned),
        })
    }

    /// The provider whose updates it applies to.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The top-level field of the update body.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The tag or custom field key within the field, if only one item is withheld.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The spec it was parsed from.
    pub fn spec(&self) -> String {
        match &self.key {
            Some(key) => format!("{}.{key}", self.field),
            None => self.field.clone(),
        }
    }

    /// Whether an update body carries what this target withholds. Tags match by text; custom
    /// field items by their `id` or `key_name`; EngageLab custom fields by key.
    pub(crate) fn carried_by(&self, body: &Map<String, Value>) -> bool {
        let Some(value) = body.get(&self.field) else {
            return false;
        };
        let Some(key) = &self.key else {
            return true;
        };
        match value {
            Value::Array(items) => items.iter().any(|item| match item {
                Value::String(tag) => tag == key,
                Value::Object(field) => ["id", "key_name"]
                    .iter()
                    .any(|name| field.get(*name).and_then(Value::as_str) == Some(key)),
                _ => false,
            }),
            Value::Object(fields) => fields.contains_key(key),
            _ => false,
        }
    }
}

impl fmt::Display for DropTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.provider, self.spec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_against_each_providers_fields() {
        for (provider, spec) in [
            (Provider::EngageLab, "priority"),
            (Provider::EngageLab, "tags.vip"),
            (Provider::EngageLab, "custom_fields.a.b"),
            (Provider::Feishu, "status"),
            (Provider::Feishu, "comment"),
            (Provider::Feishu, "customized_fields.6834320707288072194"),
        ] {
            assert_eq!(DropTarget::new(provider, spec).unwrap().spec(), spec);
        }
        for (provider, spec, expected) in [
            (Provider::EngageLab, "status", "no field \"status\""),
            (Provider::Feishu, "tags", "no field \"tags\""),
            (Provider::Feishu, "status.1", "suffix"),
            (Provider::EngageLab, "tags.", "empty"),
        ] {
            let err = DropTarget::new(provider, spec).unwrap_err();
            assert!(err.contains(expected), "{spec}: {err}");
        }
    }

    #[test]
    fn tells_whether_a_body_carries_it() {
        let body = json!({
            "tags": ["a", "vip"], "custom_fields": {"sn": 1},
            "customized_fields": [{"id": "9", "value": "x"}, {"key_name": "k", "value": "y"}]
        });
        let body = body.as_object().unwrap();
        let carried = |provider, spec| DropTarget::new(provider, spec).unwrap().carried_by(body);
        assert!(carried(Provider::EngageLab, "tags"));
        assert!(carried(Provider::EngageLab, "tags.vip"));
        assert!(!carried(Provider::EngageLab, "tags.b"));
        assert!(carried(Provider::EngageLab, "custom_fields.sn"));
        assert!(!carried(Provider::EngageLab, "priority"));
        assert!(carried(Provider::Feishu, "customized_fields.9"));
        assert!(carried(Provider::Feishu, "customized_fields.k"));
        assert!(!carried(Provider::Feishu, "customized_fields.y"));
    }
}
