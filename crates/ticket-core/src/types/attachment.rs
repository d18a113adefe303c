//! [`Attachment`]: a file attached by its `http(s)` URL.

use crate::TicketError;

/// A file attached to a ticket, given by an `http(s)` URL the helpdesk can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    file_url: String,
}

impl Attachment {
    /// An attachment at `file_url`, which must be an absolute `http://` or `https://` URL with
    /// a host and no whitespace or control characters.
    pub fn new(file_url: impl Into<String>) -> Result<Self, TicketError> {
        let file_url = file_url.into();
        let lower = file_url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let valid = match rest {
            Some(rest) => {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && !file_url
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(TicketError::invalid(
                "attachments",
                format!("{file_url:?} is not an absolute http(s) URL"),
            ));
        }
        Ok(Self { file_url })
    }

    /// The file's URL.
    pub fn file_url(&self) -> &str {
        &self.file_url
    }
}
