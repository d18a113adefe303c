//! Small helpers: percent-decoding, timestamps, response building.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use hyper::{Response, StatusCode, header};
use serde::Serialize;

/// Percent-decodes one raw path segment. `None` when a `%` escape is malformed or the result is
/// not UTF-8. `+` is left alone (it only means a space in form bodies).
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a ticket id as one path segment (everything but unreserved characters).
pub(crate) fn percent_encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn unix_millis_now() -> i64 {
    i64::try_from(unix_now().as_millis()).unwrap_or(i64::MAX)
}

/// Now as RFC 3339 in UTC with an explicit offset and second precision:
/// `2025-11-04T10:30:00+00:00`.
pub(crate) fn rfc3339_now() -> String {
    rfc3339_from_unix(i64::try_from(unix_now().as_secs()).unwrap_or(i64::MAX))
}

/// Formats Unix seconds as RFC 3339 UTC with `+00:00`.
pub(crate) fn rfc3339_from_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
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
