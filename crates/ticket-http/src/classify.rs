use std::time::Duration;

use ticket_core::{ServerError, TicketError};

use crate::RawResponse;
use crate::transport::excerpt_with;

/// How a provider's own code classifies an error, before the HTTP status is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeClass {
    /// The credentials were refused.
    Unauthenticated,
    /// The credentials may not do this.
    PermissionDenied,
    /// The ticket does not exist.
    NotFound,
    /// Slow down.
    RateLimited,
    /// Any other refusal.
    Provider,
}

impl RawResponse {
    /// The value of a header holding a whole number of seconds (`Retry-After: 3`,
    /// `x-ogw-ratelimit-reset: 3`). HTTP-date forms and garbage give `None`.
    pub fn header_seconds(&self, name: &str) -> Option<Duration> {
        self.header(name)?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// The provider's own message (`said`), secret-free and cut short; when it gave none or an
    /// empty one, [`fallback_message`](Self::fallback_message).
    pub fn message(&self, said: Option<&str>, secrets: &[&str]) -> String {
        match said {
            Some(text) if !text.is_empty() => excerpt_with(text.as_bytes(), secrets, &self.secrets),
            _ => self.fallback_message(secrets),
        }
    }

    /// A message for an answer whose body gave none: a note for redirects (never followed),
    /// else a secret-free excerpt of the body, else the status reason.
    pub fn fallback_message(&self, secrets: &[&str]) -> String {
        if (300..400).contains(&self.status) {
            let location = self.header("location").unwrap_or("(none)");
            return format!(
                "redirect not followed (location: {})",
                excerpt_with(location.as_bytes(), secrets, &self.secrets)
            );
        }
        let text = excerpt_with(&self.body, secrets, &self.secrets);
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

    /// Turns this answer into the matching [`TicketError`]: `class` (from the provider's
    /// own code) wins; otherwise 401 is unauthenticated, 403 permission denied, 404 not
    /// found, 429 rate limited, anything else a provider error. `retry_after` is kept for
    /// rate limits.
    pub fn to_error(
        &self,
        provider: &str,
        class: Option<CodeClass>,
        code: Option<i64>,
        message: String,
        retry_after: Option<Duration>,
    ) -> TicketError {
        let class = class.unwrap_or(match self.status {
            401 => CodeClass::Unauthenticated,
            403 => CodeClass::PermissionDenied,
            404 => CodeClass::NotFound,
            429 => CodeClass::RateLimited,
            _ => CodeClass::Provider,
        });
        let details = Box::new(
            ServerError::new(provider, self.status, self.secrets.scrub(&message))
                .with_code(code)
                .with_request_id(self.request_id.clone()),
        );
        match class {
            CodeClass::Unauthenticated => TicketError::Unauthenticated(details),
            CodeClass::PermissionDenied => TicketError::PermissionDenied(details),
            CodeClass::NotFound => TicketError::NotFound(details),
            CodeClass::RateLimited => TicketError::RateLimited {
                details,
                retry_after,
            },
            CodeClass::Provider => TicketError::Provider(details),
        }
    }

    /// A [`TicketError::MalformedResponse`] for this answer.
    pub fn malformed(
        &self,
        provider: &str,
        reason: impl Into<String>,
        secrets: &[&str],
    ) -> TicketError {
        TicketError::MalformedResponse {
            provider: provider.to_owned(),
            status: self.status,
            reason: self.secrets.scrub(&reason.into()),
            excerpt: excerpt_with(&self.body, secrets, &self.secrets),
            request_id: self.request_id.clone(),
        }
    }
}
