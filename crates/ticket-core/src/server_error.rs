//! The facts a server gave when it refused an update, kept verbatim: status, code, message,
//! request id.

use std::fmt;

/// Everything a server told us about a refusal: kept verbatim so that a caller (or a support
/// ticket) can quote the provider's own words.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerError {
    /// The provider that answered, such as `"feishu"`.
    pub provider: String,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The provider's own error code, when the body carried one (a number or a string).
    pub code: Option<ErrorCode>,
    /// The provider's message (or a short excerpt of the body), secret-free.
    pub message: String,
    /// The provider's request id (for example Feishu's `X-Tt-Logid`), when given.
    pub request_id: Option<String>,
    /// The provider's own verdict on retrying, which overrides the default rule of
    /// [`TicketError::is_retryable`](crate::TicketError::is_retryable) (for example "409 is
    /// retryable here"). `None`: the default rule applies.
    pub retryable: Option<bool>,
}

/// A provider's error code: many APIs use numbers (Feishu `99991400`), others strings
/// (`"RecordInvalid"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A numeric code.
    Number(i64),
    /// A textual code.
    Text(String),
}

impl ErrorCode {
    /// The numeric code, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ErrorCode::Number(n) => Some(*n),
            ErrorCode::Text(_) => None,
        }
    }

    /// The textual code, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ErrorCode::Text(t) => Some(t),
            ErrorCode::Number(_) => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Number(n) => write!(f, "{n}"),
            ErrorCode::Text(t) => f.write_str(t),
        }
    }
}

impl From<i64> for ErrorCode {
    fn from(code: i64) -> Self {
        ErrorCode::Number(code)
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::Text(code)
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::Text(code.to_owned())
    }
}

impl PartialEq<i64> for ErrorCode {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl ServerError {
    /// Facts of one server answer.
    pub fn new(provider: impl Into<String>, status: u16, message: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            status,
            code: None,
            message: message.into(),
            request_id: None,
            retryable: None,
        }
    }

    /// Sets the provider's error code (`Some(42901)`, `Some("RecordInvalid")`).
    #[must_use]
    pub fn with_code<C: Into<ErrorCode>>(mut self, code: Option<C>) -> Self {
        self.code = code.map(Into::into);
        self
    }

    /// Sets the provider's own verdict on retrying (see [`ServerError::retryable`]).
    #[must_use]
    pub fn with_retryable(mut self, retryable: Option<bool>) -> Self {
        self.retryable = retryable;
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }
}

impl fmt::Debug for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerError")
            .field("provider", &self.provider)
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("request_id", &self.request_id)
            .field("retryable", &self.retryable)
            .finish()
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}", self.provider, self.status)?;
        if let Some(code) = &self.code {
            write!(f, ", code {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}
