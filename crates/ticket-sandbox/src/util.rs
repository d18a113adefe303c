//! Small helpers: percent-decoding, timestamps, response building.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use time::{OffsetDateTime, UtcOffset};

use axum::body::Body;
use hyper::{Response, StatusCode, header};
use serde::Serialize;

/// Every byte but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) is escaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-decodes one raw path segment. `None` when a `%` escape is malformed or the result is
/// not UTF-8. `+` is left alone (it only means a space in form bodies).
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    // `percent-encoding` passes a malformed escape through as text; the vendors refuse it, so
    // check every `%` is followed by two hex digits first.
    let bytes = raw.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Percent-encodes a ticket id as one path segment (everything but unreserved characters).
pub(crate) fn percent_encode_segment(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn unix_millis_now() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Now as RFC 3339 in UTC with an explicit offset and second precision:
/// `2025-11-04T10:30:00+00:00`.
pub(crate) fn rfc3339_now() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// Formats Unix seconds as RFC 3339 UTC with `+00:00` (the epoch when out of range).
#[cfg(test)]
pub(crate) fn rfc3339_from_unix(secs: i64) -> String {
    rfc3339(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

/// `time`'s well-known RFC 3339 format writes UTC as `Z`; EngageLab writes `+00:00`.
fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A JSON response with `application/json; charset=utf-8`.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// A `text/html` response, used for the non-JSON fault.
pub(crate) fn html_response(status: StatusCode, html: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::from(html));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// Whether a `Content-Type` value is JSON, optionally with a UTF-8 charset parameter.
pub(crate) fn is_json_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| {
        let param = param.trim();
        if param.is_empty() {
            return true;
        }
        match param.split_once('=') {
            Some((k, v)) => {
                k.trim().eq_ignore_ascii_case("charset")
                    && matches!(
                        v.trim().trim_matches('"').to_ascii_lowercase().as_str(),
                        "utf-8" | "utf8"
                    )
            }
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a%2fb+c").as_deref(), Some("a/b+c"));
        assert_eq!(percent_decode("%E5%B7%A5").as_deref(), Some("工"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn encodes_segments() {
        assert_eq!(percent_encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(
            percent_decode(&percent_encode_segment("x?#%/工")).as_deref(),
            Some("x?#%/工")
        );
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            rfc3339_from_unix(1_762_223_400),
            "2025-11-04T02:30:00+00:00"
        );
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00+00:00");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(is_json_content_type("Application/JSON;Charset=UTF-8"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/json; charset=latin1"));
        assert!(!is_json_content_type("application/jsonx"));
    }
}
