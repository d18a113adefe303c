//! The one error type of the workspace: its kinds, its text, and what it says about retrying
//! and about whether the update may have landed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Field, ServerError};

/// Whether a request that failed in transport may already have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The request never left: connecting failed. Retrying cannot apply an update twice.
    No,
    /// The request may have been received and applied before the failure.
    Maybe,
}

/// A kind of [`TicketError`], for callers that branch without matching on every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`TicketError::InvalidInput`].
    InvalidInput,
    /// See [`TicketError::Unsupported`].
    Unsupported,
    /// See [`TicketError::UnsupportedOperation`].
    UnsupportedOperation,
    /// See [`TicketError::Unauthenticated`].
    Unauthenticated,
    /// See [`TicketError::PermissionDenied`].
    PermissionDenied,
    /// See [`TicketError::NotFound`].
    NotFound,
    /// See [`TicketError::RateLimited`].
    RateLimited,
    /// See [`TicketError::Provider`].
    Provider,
    /// See [`TicketError::Transport`].
    Transport,
    /// See [`TicketError::Timeout`].
    Timeout,
    /// See [`TicketError::MalformedResponse`].
    MalformedResponse,
    /// See [`TicketError::Configuration`].
    Configuration,
}

impl ErrorKind {
    /// The kind as a short, stable `snake_case` name (`"rate_limited"`, `"timeout"`): the
    /// `error.type` of spans and metrics, a value a dashboard can group by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Unsupported => "unsupported",
            Self::UnsupportedOperation => "unsupported_operation",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Provider => "provider",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::MalformedResponse => "malformed_response",
            Self::Configuration => "configuration",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a ticket update failed.
///
/// Every kind a caller may want to act on is its own variant; [`TicketError::is_retryable`]
/// says whether trying the same update again can help, and [`TicketError::server`] gives the
/// server's own words when the error came back from a server, and
/// [`TicketError::may_have_applied`] whether the update may have landed although the call
/// failed. No variant ever holds a configured secret.
///
/// Errors are `Clone` (a source is shared, not copied), so that one outcome can be handed to
/// every caller waiting on it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TicketError {
    /// The update or ticket id was refused locally, before any request was made.
    InvalidInput {
        /// The input that was refused, such as `"ticket_id"` or `"tags"`.
        field: String,
        /// Why it was refused.
        reason: String,
    },

    /// The update sets fields the provider cannot carry, under the strict policy. Refused
    /// before any request was made.
    Unsupported {
        /// The provider that was asked.
        provider: String,
        /// Every unified field of the update that the provider cannot carry.
        fields: Vec<Field>,
    },

    /// The provider cannot do what was asked at all (read a ticket, and so merge or verify
    /// an update). Refused before any request was made.
    UnsupportedOperation {
        /// The provider that was asked.
        provider: String,
        /// What it cannot do, such as `"read tickets"`.
        operation: String,
    },

    /// The server refused the credentials (missing, wrong or expired).
    Unauthenticated(Box<ServerError>),

    /// The credentials are valid but may not update this ticket.
    PermissionDenied(Box<ServerError>),

    /// The ticket (or the route) does not exist.
    NotFound(Box<ServerError>),

    /// The server asks us to slow down.
    RateLimited {
        /// The server's answer.
        details: Box<ServerError>,
        /// How long the server asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// The rate the server states it allows, in requests per second, when it said (Feishu's
        /// `x-ogw-ratelimit-limit`; EngageLab states none). A caller can pace itself to it
        /// rather than meet the next refusal. See [`TicketError::rate_limit`].
        limit: Option<u32>,
    },

    /// Any other refusal from the server.
    Provider(Box<ServerError>),

    /// The request could not be carried (connection refused, reset, TLS, body cut short).
    Transport {
        /// The provider being called.
        provider: String,
        /// Whether the request may have reached the server.
        sent: Sent,
        /// What went wrong.
        message: String,
        /// The underlying error.
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
        /// Whether repeating the request is harmless. `false` for a request that is not
        /// idempotent (an update that adds a comment) under a retry policy that does not repeat
        /// such requests: with `sent` [`Sent::Maybe`], [`TicketError::is_retryable`] is then
        /// false, since a retry could apply it twice.
        idempotent: bool,
    },

    /// No complete answer arrived in time.
    Timeout {
        /// The provider being called.
        provider: String,
        /// The limit that ran out.
        after: Duration,
        /// Whether the request may have reached the server.
        sent: Sent,
        /// Whether repeating the request is harmless (see [`TicketError::Transport`]'s field).
        idempotent: bool,
    },

    /// The server answered something this client cannot read as the documented response.
    MalformedResponse {
        /// The provider that answered.
        provider: String,
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
        /// The start of the body, short and with configured secrets removed.
        excerpt: String,
        /// The request id, when the response carried one.
        request_id: Option<String>,
    },

    /// The client is configured wrongly (a missing credential, an unknown key, a bad URL).
    Configuration(String),
}

// Written by hand, not derived: the source is shared (`Arc`), and `source()` must hand out the
// error inside it (so that a caller can downcast it), not the `Arc`.
impl fmt::Display for TicketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Self::Unsupported { provider, fields } => {
                write!(
                    f,
                    "{provider} cannot carry these fields: {}",
                    FieldList(fields)
                )
            }
            Self::UnsupportedOperation {
                provider,
                operation,
            } => write!(f, "{provider} cannot {operation}"),
            Self::Unauthenticated(d) => write!(f, "unauthenticated: {d}"),
            Self::PermissionDenied(d) => write!(f, "permission denied: {d}"),
            Self::NotFound(d) => write!(f, "not found: {d}"),
            Self::RateLimited {
                details,
                retry_after,
                ..
            } => write!(f, "rate limited: {details}{}", RetryAfter(retry_after)),
            Self::Provider(d) => write!(f, "provider error: {d}"),
            Self::Transport {
                provider,
                sent,
                message,
                ..
            } => write!(
                f,
                "transport error talking to {provider} (request {}): {message}",
                sent_text(*sent)
            ),
            Self::Timeout {
                provider,
                after,
                sent,
                ..
            } => write!(
                f,
                "timed out after {after:?} waiting for {provider} (request {})",
                sent_text(*sent)
            ),
            Self::MalformedResponse {
                provider,
                status,
                reason,
                excerpt,
                request_id,
            } => write!(
                f,
                "malformed response from {provider} (HTTP {status}): {reason}; body starts {excerpt:?}{}",
                RequestId(request_id)
            ),
            Self::Configuration(m) => write!(f, "configuration error: {m}"),
        }
    }
}

impl std::error::Error for TicketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport {
                source: Some(source),
                ..
            } => Some(&**source),
            _ => None,
        }
    }
}

fn sent_text(sent: Sent) -> &'static str {
    match sent {
        Sent::No => "not sent",
        Sent::Maybe => "may have been sent",
    }
}

struct FieldList<'a>(&'a [Field]);

impl fmt::Display for FieldList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(field.as_str())?;
        }
        Ok(())
    }
}

struct RetryAfter<'a>(&'a Option<Duration>);

impl fmt::Display for RetryAfter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => write!(f, "; retry after {wait:?}"),
            None => Ok(()),
        }
    }
}

struct RequestId<'a>(&'a Option<String>);

impl fmt::Display for RequestId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (request id {id})"),
            None => Ok(()),
        }
    }
}

impl TicketError {
    /// A local refusal of one input.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::Configuration(message.into())
    }

    /// `provider` cannot read tickets (and so cannot merge or verify updates).
    pub fn cannot_read(provider: impl Into<String>) -> Self {
        Self::UnsupportedOperation {
            provider: provider.into(),
            operation: "read tickets (needed to read, merge or verify)".to_owned(),
        }
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput { .. } => ErrorKind::InvalidInput,
            Self::Unsupported { .. } => ErrorKind::Unsupported,
            Self::UnsupportedOperation { .. } => ErrorKind::UnsupportedOperation,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Provider(_) => ErrorKind::Provider,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::MalformedResponse { .. } => ErrorKind::MalformedResponse,
            Self::Configuration(_) => ErrorKind::Configuration,
        }
    }

    /// Whether sending the same update again may succeed, and is safe.
    ///
    /// The provider's own verdict ([`ServerError::retryable`]) wins when it gave one. Else: true
    /// for rate limits, timeouts, transport failures, and provider errors or malformed answers
    /// with HTTP 408 or 5xx (a garbled 2xx is not retryable: the update may have landed). False
    /// for everything the caller must change first: input, unsupported fields, credentials,
    /// permissions, missing tickets, configuration. False, too, for a timeout or transport
    /// failure of a request that is not idempotent and may have been sent (its `idempotent`
    /// field): a retry could post a comment twice.
    pub fn is_retryable(&self) -> bool {
        if let Some(verdict) = self.server().and_then(|s| s.retryable) {
            return verdict;
        }
        match self {
            Self::RateLimited { .. } => true,
            Self::Transport {
                sent, idempotent, ..
            }
            | Self::Timeout {
                sent, idempotent, ..
            } => *sent == Sent::No || *idempotent,
            // A garbled 5xx is usually a gateway page; a garbled 2xx may mean the update landed.
            Self::MalformedResponse { status, .. } => *status >= 500,
            Self::Provider(details) => details.status == 408 || details.status >= 500,
            Self::InvalidInput { .. }
            | Self::Unsupported { .. }
            | Self::UnsupportedOperation { .. }
            | Self::Unauthenticated(_)
            | Self::PermissionDenied(_)
            | Self::NotFound(_)
            | Self::Configuration(_) => false,
        }
    }

    /// Whether the update may have been applied although the call failed: the request may have
    /// reached the server and no answer proves that it was refused.
    ///
    /// True for timeouts and transport failures with [`Sent::Maybe`], for answers that could not
    /// be read ([`TicketError::MalformedResponse`], whatever their status), and for a provider's
    /// error that came with HTTP 5xx or 2xx (a server failing while, or after, it applied).
    /// False for everything refused before or without applying: local errors, rate limits,
    /// credentials, permissions, missing tickets, other 4xx (and 3xx) answers, and requests that
    /// never left ([`Sent::No`]).
    ///
    /// This is the one place the workspace decides it: the retry policy repeats a request that
    /// is not idempotent only when this is false, and `helpdesk apply` reports an update with a
    /// comment as "unknown" (not re-sent) when it is true.
    pub fn may_have_applied(&self) -> bool {
        match self {
            Self::Transport { sent, .. } | Self::Timeout { sent, .. } => *sent == Sent::Maybe,
            Self::MalformedResponse { .. } => true,
            Self::Provider(details) => !(300..500).contains(&details.status),
            Self::InvalidInput { .. }
            | Self::Unsupported { .. }
            | Self::UnsupportedOperation { .. }
            | Self::Unauthenticated(_)
            | Self::PermissionDenied(_)
            | Self::NotFound(_)
            | Self::RateLimited { .. }
            | Self::Configuration(_) => false,
        }
    }

    /// The server's answer, for errors that came back from a server.
    pub fn server(&self) -> Option<&ServerError> {
        match self {
            Self::Unauthenticated(d)
            | Self::PermissionDenied(d)
            | Self::NotFound(d)
            | Self::Provider(d)
            | Self::RateLimited { details: d, .. } => Some(d),
            _ => None,
        }
    }

    /// The provider's request id, when the server gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::MalformedResponse { request_id, .. } => request_id.as_deref(),
            other => other.server().and_then(|d| d.request_id.as_deref()),
        }
    }

    /// Records the provider's own verdict on retrying a server's refusal: the retry
    /// classifier of a provider (`err.with_retryable(status == 409)`). No effect on errors
    /// that did not come from a server.
    #[must_use]
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        match &mut self {
            Self::Unauthenticated(d)
            | Self::PermissionDenied(d)
            | Self::NotFound(d)
            | Self::Provider(d)
            | Self::RateLimited { details: d, .. } => d.retryable = Some(retryable),
            _ => {}
        }
        self
    }

    /// How long the server asked us to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The rate the server states it allows, in requests per second, for rate limits that
    /// stated one (Feishu's `x-ogw-ratelimit-limit`, read by the provider; never 0).
    pub fn rate_limit(&self) -> Option<u32> {
        match self {
            Self::RateLimited { limit, .. } => *limit,
            _ => None,
        }
    }

    /// Records the rate a rate-limit answer states (see [`TicketError::rate_limit`]): the
    /// decoder of a provider whose server states one. `Some(0)` is ignored (no rate), and so is
    /// any error other than [`TicketError::RateLimited`].
    #[must_use]
    pub fn with_rate_limit(mut self, stated: Option<u32>) -> Self {
        if let Self::RateLimited { limit, .. } = &mut self {
            *limit = stated.filter(|n| *n > 0);
        }
        self
    }
}
