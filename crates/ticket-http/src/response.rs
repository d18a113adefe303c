//! [`RawResponse`]: a provider's answer read in full, carrying the secrets its excerpts are
//! scrubbed of; and [`excerpt`], the one way an answer's body is quoted in an error.

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::Secrets;

/// A provider's answer, read in full (up to the cap).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The request id from the provider's request-id header, when present (scrubbed of the
    /// transport's [`Secrets`]).
    pub request_id: Option<String>,
    /// The secrets of the transport that read this answer: every excerpt and message built
    /// from it is scrubbed of them.
    pub(crate) secrets: Secrets,
}

impl RawResponse {
    /// An answer assembled by hand (to replay a recorded one, or to fuzz a decoder).
    pub fn new(
        status: u16,
        headers: HeaderMap,
        body: impl Into<Bytes>,
        request_id: Option<String>,
    ) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
            request_id,
            secrets: Secrets::default(),
        }
    }

    /// Scrubs every excerpt and message built from this answer of `secrets` (answers read by
    /// a [`Transport`](crate::Transport) carry its set already).
    #[must_use]
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// The secrets this answer's excerpts are scrubbed of.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header value as text, when present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The first 200 characters of `body` as text, for error messages: every secret of `secrets`
/// is replaced by [`RequestPreview::REDACTED`](crate::RequestPreview::REDACTED) before cutting (so no secret is left half-shown),
/// and control characters become spaces.
pub fn excerpt(body: &[u8], secrets: &Secrets) -> String {
    const LIMIT: usize = 200;
    // Room past the cut for any secret that starts before it (4 KiB covers every form of any
    // credential that fits a header).
    let window = &body[..body.len().min(LIMIT * 4 + 4096)];
    secrets
        .scrub(&String::from_utf8_lossy(window))
        .chars()
        .take(LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
