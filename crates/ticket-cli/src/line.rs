//! One JSON Lines update: `{"ticket_id": "…", "title": "…", …}` → (`TicketId`, `TicketUpdate`).
//!
//! The update is `ticket-core`'s documented JSON form of `TicketUpdate` (its `serde` feature:
//! the unified field names, unknown keys refused, validated as the builder validates) with one
//! more key, `ticket_id`.

use std::borrow::Cow;
use std::fmt;

use helpdesk::{TicketId, TicketUpdate};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

/// Parses one line into a ticket id and a validated update. The error is a one-line reason.
///
/// The line is read once, straight into the update: `ticket_id` is taken out as the keys go
/// by and every other key is handed to the update's own JSON form, which refuses unknown ones.
/// The update is boxed as soon as it is read: it goes on through several results, a batch
/// and a queue, each of which would otherwise copy all of it (a few hundred bytes).
pub(crate) fn parse_line(line: &str) -> Result<(TicketId, Box<TicketUpdate>), String> {
    let mut de = serde_json::Deserializer::from_str(line);
    let (id, update) = de
        .deserialize_map(LineVisitor)
        .and_then(|pair| de.end().map(|()| pair))
        .map_err(|e| e.to_string())?;
    let id = id.ok_or_else(|| "missing field `ticket_id`".to_owned())?;
    let id = TicketId::new(id).map_err(|e| e.to_string())?;
    Ok((id, update))
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = (Option<String>, Box<TicketUpdate>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with `ticket_id` and the update's fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut keys = WithoutTicketId {
            inner: map,
            ticket_id: None,
        };
        let update = TicketUpdate::deserialize(de::value::MapAccessDeserializer::new(&mut keys))?;
        Ok((keys.ticket_id, Box::new(update)))
    }
}

/// The line's keys minus `ticket_id`, whose value it keeps.
struct WithoutTicketId<A> {
    inner: A,
    ticket_id: Option<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for &mut WithoutTicketId<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(Key(key)) = self.inner.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            if key != "ticket_id" {
                return seed
                    .deserialize(de::value::StrDeserializer::<A::Error>::new(&key))
                    .map(Some);
            }
            if self.ticket_id.is_some() {
                return Err(de::Error::duplicate_field("ticket_id"));
            }
            let id = self
                .inner
                .next_value::<serde_json::Value>()
                .and_then(|v| match v {
                    serde_json::Value::String(id) => Ok(id),
                    _ => Err(de::Error::custom("ticket_id: must be a string")),
                })?;
            self.ticket_id = Some(id);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// A key, borrowed from the line when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// What `apply`'s `--merge` and `--verify` add to every line (a line may ask for them itself
/// too, with `"merge": true` and `"verify": true`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub(crate) merge: bool,
    pub(crate) verify: bool,
}

impl Flags {
    /// `update` with the flags added (checked again, as a built update is).
    pub(crate) fn apply(self, update: Box<TicketUpdate>) -> Result<Box<TicketUpdate>, String> {
        if !self.merge && !self.verify {
            return Ok(update);
        }
        let mut b = update.to_builder();
        if self.merge {
            b = b.merge();
        }
        if self.verify {
            b = b.verify();
        }
        b.build().map(Box::new).map_err(|e| e.to_string())
    }
}

/// [`parse_line`], with `flags` added.
pub(crate) fn parse_line_with(
    line: &str,
    flags: Flags,
) -> Result<(TicketId, Box<TicketUpdate>), String> {
    let (id, update) = parse_line(line)?;
    Ok((id, flags.apply(update)?))
}

/// FNV-1a, 64 bits, of a line's exact bytes (without its end of line): identifies the line
/// the check pass read, so the send pass sends nothing else, and the line a journal record
/// describes, so a resumed run notices a file that changed under it. Not a security hash.
pub(crate) fn line_hash(line: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in line {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A [`line_hash`] as the journal writes it: 16 hex digits.
pub(crate) fn hash_hex(hash: u64) -> String {
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use helpdesk::{Priority, UnsupportedPolicy};

    #[test]
    fn parses_every_field() {
        let (id, u) = parse_line(
            r#"{"ticket_id":"t1","title":"T","description":"D","priority":"high","kind":"task",
            "tags":["a","b"],"custom_fields":[{"key":"k","value":"v"},{"key":"k2","value":"v2","id":"9"}],
            "attachments":["https://x.invalid/a.png"],"status":"in_progress","solved":false,
            "comment":"c","provider_fields":{"feishu":{"channel":3}},"lenient":true}"#,
        )
        .unwrap();
        assert_eq!(id.as_str(), "t1");
        assert_eq!(u.title(), Some("T"));
        assert_eq!(u.priority(), Some(Priority::High));
        assert_eq!(u.tags().unwrap(), ["a", "b"]);
        assert_eq!(u.custom_fields().unwrap()[1].id().unwrap().to_string(), "9");
        assert_eq!(
            u.status().unwrap(),
            &helpdesk::Status::Unified(helpdesk::TicketStatus::InProgress)
        );
        assert_eq!(u.solved(), Some(false));
        assert_eq!(u.comment(), Some("c"));
        assert_eq!(u.provider_fields("feishu").unwrap()["channel"], 3);
        assert_eq!(u.policy(), UnsupportedPolicy::Lenient);
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        for (line, reason) in [
            (r#"{"title":"T"}"#, "missing field `ticket_id`"),
            (r#"{"ticket_id":"t","titel":"T"}"#, "unknown field `titel`"),
            (r#"{"ticket_id":"t","priority":"asap"}"#, "priority"),
            (r#"{"ticket_id":"t","tags":["a","a"]}"#, "given twice"),
            (r#"{"ticket_id":"","title":"T"}"#, "ticket_id"),
            ("not json", "expected"),
            (
                r#"{"ticket_id":7,"title":"T"}"#,
                "ticket_id: must be a string",
            ),
            (
                r#"{"ticket_id":"t","ticket_id":"u"}"#,
                "duplicate field `ticket_id`",
            ),
            (r#"["t"]"#, "expected an object"),
            (r#"{"ticket_id":"t"} {}"#, "trailing characters"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(reason), "{line}: {err}");
        }
    }

    #[test]
    fn ticket_id_may_come_anywhere_and_keys_may_be_escaped() {
        let (id, u) =
            parse_line(r#"{"tit\u006ce":"T","tags":["a"],"ticket_id":"t\u0031"}"#).unwrap();
        assert_eq!(id.as_str(), "t1");
        assert_eq!(u.title(), Some("T"));
        assert_eq!(u.tags().unwrap(), ["a"]);
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(hash_hex(line_hash(b"")), "cbf29ce484222325");
        assert_eq!(hash_hex(line_hash(b"a")), "af63dc4c8601ec8c");
    }
}
