//! What an answer says beyond its status: the server's waits and stated rates read from its
//! headers, and the [`TicketError`] of a failed answer (kind, code, message, request id).

use std::time::Duration;

use ticket_core::{ErrorCode, ErrorKind, ServerError, TicketError};

use crate::RawResponse;
use crate::response::excerpt;

/// The longest wait a server's `Retry-After` or `x-ogw-ratelimit-reset` can ask for: one day.
/// Larger figures are clamped to it (they are far beyond any retry budget anyway).
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A whole number of seconds, clamped to [`MAX_SERVER_WAIT`]; `None` unless all ASCII digits.
fn parse_seconds(value: &str) -> Option<Duration> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: a parse failure can only be an overflow of u64, which is past the cap too.
    let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs.min(MAX_SERVER_WAIT.as_secs())))
}

/// The highest rate a server's stated limit (`x-ogw-ratelimit-limit`) is believed at, in
/// requests per second; a larger figure is ignored as absurd.
pub const MAX_STATED_RATE: u32 = 100_000;

/// A stated rate: all ASCII digits, from 1 to [`MAX_STATED_RATE`]; anything else `None`.
fn parse_rate(value: &str) -> Option<u32> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_STATED_RATE).contains(n))
}

impl RawResponse {
    /// The value of a header stating the server's rate limit in requests per second
    /// (Feishu's `x-ogw-ratelimit-limit: 50`), for [`TicketError::with_rate_limit`]: a whole
    /// number from 1 to [`MAX_STATED_RATE`]. Zero, larger figures, signs, fractions and
    /// garbage give `None`: a caller must not pace itself to an absurd figure.
    pub fn header_rate(&self, name: &str) -> Option<u32> {
        parse_rate(self.header(name)?)
    }

    /// The value of a header holding a whole number of seconds (`Retry-After: 3`,
    /// `x-ogw-ratelimit-reset: 3`), at most [`MAX_SERVER_WAIT`]: a larger number, even one
    /// past `u64`, gives that cap, so no server figure can overflow the caller's `Instant`
    /// arithmetic. HTTP-date forms and garbage give `None`.
    pub fn header_seconds(&self, name: &str) -> Option<Duration> {
        parse_seconds(self.header(name)?)
    }

    /// The provider's own message (`said`), secret-free and cut short; when it gave none or an
    /// empty one, [`fallback_message`](Self::fallback_message).
    pub fn message(&self, said: Option<&str>) -> String {
        match said {
            Some(text) if !text.is_empty() => excerpt(text.as_bytes(), &self.secrets),
            _ => self.fallback_message(),
        }
    }

    /// A message for an answer whose body gave none: a note for redirects (never followed),
    /// else a secret-free excerpt of the body, else the status reason.
    pub fn fallback_message(&self) -> String {
        if (300..400).contains(&self.status) {
            let location = self.header("location").unwrap_or("(none)");
            return format!(
                "redirect not followed (location: {})",
                excerpt(location.as_bytes(), &self.secrets)
            );
        }
        let text = excerpt(&self.body, &self.secrets);
        if text.trim().is_empty() {
            reqwest::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("empty body")
                .to_owned()
        } else {
            text
        }
    }

    /// Turns this answer into the matching [`TicketError`]: `kind` (what the provider's own
    /// code means) wins; otherwise 401 is unauthenticated, 403 permission denied, 404 not
    /// found, 429 rate limited, anything else a provider error. A `kind` that a server's answer
    /// cannot have (input, transport, configuration …) gives a provider error. `retry_after` is
    /// kept for rate limits. `code` is the provider's own code, numeric or textual.
    pub fn to_error(
        &self,
        provider: &str,
        kind: Option<ErrorKind>,
        code: Option<ErrorCode>,
        message: String,
        retry_after: Option<Duration>,
    ) -> TicketError {
        let kind = kind.unwrap_or(match self.status {
            401 => ErrorKind::Unauthenticated,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            _ => ErrorKind::Provider,
        });
        let details = Box::new(
            ServerError::new(provider, self.status, self.secrets.scrub(&message))
                .with_code(code)
                .with_request_id(self.request_id.clone()),
        );
        match kind {
            ErrorKind::Unauthenticated => TicketError::Unauthenticated(details),
            ErrorKind::PermissionDenied => TicketError::PermissionDenied(details),
            ErrorKind::NotFound => TicketError::NotFound(details),
            ErrorKind::RateLimited => TicketError::RateLimited {
                details,
                retry_after,
                limit: None,
            },
            _ => TicketError::Provider(details),
        }
    }

    /// A [`TicketError::MalformedResponse`] for this answer.
    pub fn malformed(&self, provider: &str, reason: impl Into<String>) -> TicketError {
        TicketError::MalformedResponse {
            provider: provider.to_owned(),
            status: self.status,
            reason: self.secrets.scrub(&reason.into()),
            excerpt: excerpt(&self.body, &self.secrets),
            request_id: self.request_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn answer(name: &'static str, value: &str) -> RawResponse {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        RawResponse::new(429, headers, Vec::new(), None)
    }

    #[test]
    fn seconds_past_u64_and_garbage() {
        let huge = "99999999999999999999999999";
        assert_eq!(
            answer("retry-after", huge).header_seconds("retry-after"),
            Some(MAX_SERVER_WAIT)
        );
        for garbage in ["", " ", "-1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "+3"] {
            assert_eq!(
                answer("retry-after", garbage).header_seconds("retry-after"),
                None,
                "{garbage:?}"
            );
        }
        assert_eq!(
            answer("retry-after", " 7 ").header_seconds("retry-after"),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn stated_rates_in_range_or_none() {
        let rate =
            |v: &str| answer("x-ogw-ratelimit-limit", v).header_rate("x-ogw-ratelimit-limit");
        assert_eq!(rate("50"), Some(50));
        assert_eq!(rate(" 1 "), Some(1));
        assert_eq!(rate("100000"), Some(MAX_STATED_RATE));
        for absurd in [
            "0",
            "100001",
            "4294967296",
            "99999999999999999999",
            "",
            " ",
            "-5",
            "+5",
            "1.5",
            "50/s",
            "fifty",
        ] {
            assert_eq!(rate(absurd), None, "{absurd:?}");
        }
        assert_eq!(
            answer("retry-after", "3").header_rate("x-ogw-ratelimit-limit"),
            None
        );
    }

    proptest! {
        /// Every u64 in either header gives the figure itself or the cap, never a panic, and
        /// the wait can be added to a deadline.
        #[test]
        fn every_u64_is_clamped(secs in any::<u64>(), feishu in any::<bool>()) {
            let name = if feishu { "x-ogw-ratelimit-reset" } else { "retry-after" };
            let wait = answer(name, &secs.to_string()).header_seconds(name).unwrap();
            prop_assert_eq!(wait, Duration::from_secs(secs.min(MAX_SERVER_WAIT.as_secs())));
            prop_assert!(std::time::Instant::now().checked_add(wait).is_some());
        }
    }
}
