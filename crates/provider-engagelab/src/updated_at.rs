//! Reading `data.updated_at` leniently: the update has landed whatever form the time is in.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Unix times at or above this are milliseconds (10^11 seconds is the year 5138).
const MILLIS_FROM: i64 = 100_000_000_000;

/// The time in `value`, and whether the form was exact (RFC 3339 or Unix time, so the raw
/// text need not be kept). Forms read: RFC 3339; `YYYY-MM-DD HH:MM:SS` or with `T`, optional
/// fraction, no offset (read as UTC); Unix seconds or milliseconds as a number or a string of
/// digits.
pub(crate) fn read(value: &Value) -> (Option<OffsetDateTime>, bool) {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(n) => unix(n).map_or((None, false), |at| (Some(at), true)),
            None => (None, false),
        },
        Value::String(text) => read_text(text),
        _ => (None, false),
    }
}

/// [`read`] for a string (the documented form).
pub(crate) fn read_text(text: &str) -> (Option<OffsetDateTime>, bool) {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return (Some(at), true);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i64>().ok().and_then(unix) {
            Some(at) => (Some(at), true),
            None => (None, false),
        };
    }
    (without_offset(text), false)
}

/// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, with an optional fraction and no offset,
/// read as UTC: rewritten as the RFC 3339 text it stands for (`T` and `Z`), so the one
/// RFC 3339 parser checks every field (and no format-description macro is compiled in).
fn without_offset(text: &str) -> Option<OffsetDateTime> {
    let bytes = text.as_bytes();
    let rest = bytes.get(19..)?;
    let fraction_only = rest.is_empty()
        || (rest.len() > 1 && rest[0] == b'.' && rest[1..].iter().all(u8::is_ascii_digit));
    if !text.is_ascii() || !matches!(bytes[10], b'T' | b' ') || !fraction_only {
        return None;
    }
    OffsetDateTime::parse(&format!("{}T{}Z", &text[..10], &text[11..]), &Rfc3339).ok()
}

fn unix(n: i64) -> Option<OffsetDateTime> {
    if n >= MILLIS_FROM {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(n) * 1_000_000).ok()
    } else {
        OffsetDateTime::from_unix_timestamp(n).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn common_forms() {
        let at = OffsetDateTime::from_unix_timestamp(1_762_223_400).unwrap();
        for (value, exact) in [
            (json!("2025-11-04T02:30:00Z"), true),
            (json!("2025-11-04T10:30:00+08:00"), true),
            (json!("2025-11-04 02:30:00"), false),
            (json!("2025-11-04T02:30:00"), false),
            (json!(" 2025-11-04 02:30:00 "), false),
            (json!("1762223400"), true),
            (json!(1_762_223_400), true),
            (json!(1_762_223_400_000_i64), true),
            (json!("1762223400000"), true),
        ] {
            assert_eq!(read(&value), (Some(at), exact), "{value}");
        }
        for value in [
            json!("yesterday"),
            json!(""),
            json!(true),
            json!(1.5),
            json!("2025-13-04 02:30:00"),
            json!("2025-11-04 02:30"),
            json!("2025-11-04x02:30:00"),
            json!("2025-11-04 02:30:00+0800"),
            json!("2025-11-04 02:30:00."),
            json!("2025-11-04 02:30:00.5x"),
            json!("2025-11-04 2:30:00"),
            json!("2025-11-04 02:30:00 UTC"),
            json!("2025-11-04\u{e9}02:30:00"),
            json!("2025-11-\u{e9}4 02:30:00"),
        ] {
            assert_eq!(read(&value), (None, false), "{value}");
        }
        let fraction =
            OffsetDateTime::from_unix_timestamp_nanos(1_762_223_400_250_000_000).unwrap();
        for text in ["2025-11-04 02:30:00.25", "2025-11-04T02:30:00.250000"] {
            assert_eq!(read(&json!(text)), (Some(fraction), false), "{text}");
        }
    }
}
