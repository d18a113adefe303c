//! What a token set is, and what a stored one may hold: plausible tokens and wall-clock times.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};

/// The longest token a store accepts; Feishu's are far shorter.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// One Feishu token set: the refresh token and, when known, the access token it last produced.
///
/// Times are wall-clock milliseconds since the Unix epoch, since the set is shared between
/// processes. `Debug` never prints a token.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenSet {
    /// The current refresh token (single use: Feishu rotates it on every refresh).
    pub refresh_token: SecretString,
    /// The access token, if one was issued (or configured) with this refresh token.
    pub access_token: Option<SecretString>,
    /// When the access token expires (`None`: unknown, use it until Feishu refuses it).
    pub expires_at_ms: Option<u64>,
    /// When to refresh it proactively, a safety margin before `expires_at_ms`.
    pub refresh_after_ms: Option<u64>,
    /// When the refresh token itself expires, as Feishu said (`refresh_token_expires_in`).
    pub refresh_expires_at_ms: Option<u64>,
}

impl TokenSet {
    /// A set with only a refresh token (the first refresh gets an access token).
    pub fn new(refresh_token: impl Into<String>) -> Self {
        Self {
            refresh_token: SecretString::from(refresh_token.into()),
            access_token: None,
            expires_at_ms: None,
            refresh_after_ms: None,
            refresh_expires_at_ms: None,
        }
    }

    /// Adds an access token, its expiry and when to refresh it (Unix milliseconds).
    #[must_use]
    pub fn with_access_token(
        mut self,
        access_token: impl Into<String>,
        expires_at_ms: Option<u64>,
        refresh_after_ms: Option<u64>,
    ) -> Self {
        self.access_token = Some(SecretString::from(access_token.into()));
        self.expires_at_ms = expires_at_ms;
        self.refresh_after_ms = refresh_after_ms;
        self
    }

    /// Whether the access token is present and not yet due for a refresh at `now_ms`.
    pub fn access_is_fresh(&self, now_ms: u64) -> bool {
        self.access_token.is_some() && self.refresh_after_ms.is_none_or(|at| now_ms < at)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("refresh_token", &"<redacted>")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at_ms", &self.expires_at_ms)
            .field("refresh_after_ms", &self.refresh_after_ms)
            .field("refresh_expires_at_ms", &self.refresh_expires_at_ms)
            .finish()
    }
}

/// Whether `a` and `b` are the same token: every comparison of tokens (a store's
/// compare-and-swap, a refused token, a spent one) goes through here.
pub(crate) fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

/// Why `token` cannot be a token a store holds, if it cannot: too long, or holding whitespace,
/// control or non-ASCII characters (every Feishu token is printable ASCII).
pub(crate) fn implausible_token(token: &str) -> Option<&'static str> {
    if token.len() > MAX_TOKEN_BYTES {
        Some("is longer than any Feishu token")
    } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Some("holds whitespace, control or non-ASCII characters")
    } else {
        None
    }
}

/// Whether `text` plausibly is one bare refresh token (the file format of earlier versions):
/// characters of URL-safe, base64 and JWT tokens only, so that an HTML page or other garbage is
/// never sent to Feishu as a token.
pub(crate) fn plausible_bare_token(text: &str) -> bool {
    !text.is_empty()
        && implausible_token(text).is_none()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=:".contains(&b))
}

/// The raw fields of a stored set, checked into a [`TokenSet`]: `Ok(None)` when the refresh
/// token is empty (nothing stored), `Err(why)` when a token is implausible. `why` never quotes
/// the contents.
pub(crate) fn checked_set(
    refresh_token: String,
    access_token: Option<String>,
    expires_at_ms: Option<u64>,
    refresh_after_ms: Option<u64>,
    refresh_expires_at_ms: Option<u64>,
) -> Result<Option<TokenSet>, String> {
    if refresh_token.is_empty() {
        return Ok(None);
    }
    if let Some(why) = implausible_token(&refresh_token) {
        return Err(format!("its refresh_token {why}"));
    }
    let access_token = access_token.filter(|t| !t.is_empty());
    if let Some(why) = access_token.as_deref().and_then(implausible_token) {
        return Err(format!("its access_token {why}"));
    }
    Ok(Some(TokenSet {
        refresh_token: refresh_token.into(),
        access_token: access_token.map(SecretString::from),
        expires_at_ms,
        refresh_after_ms,
        refresh_expires_at_ms,
    }))
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_millis_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `now_ms + d`, saturating.
pub(crate) fn add_millis(now_ms: u64, d: Duration) -> u64 {
    now_ms.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_tokens_are_read() {
        for token in ["ur-1", "eyJhbGciOi.eyJzdWIi.c2ln-_", "ur-a+b/c=="] {
            assert!(implausible_token(token).is_none(), "{token}");
            assert!(plausible_bare_token(token), "{token}");
        }
        // In JSON, any printable ASCII token is kept (Feishu's own answers are stored there).
        assert!(implausible_token("ur-<odd>").is_none());
        for token in [
            "ur a",
            "ur-\tb",
            "ur-\u{7f}",
            "ur-é",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert!(implausible_token(token).is_some(), "{token:?}");
            assert!(!plausible_bare_token(token), "{token:?}");
        }
        // A bare token (the legacy file format) must look like one: no markup, no quotes.
        for text in ["", "<html>", "<b>ur-1</b>", "\"ur-1\"", "ur-1;", "[ur-1]"] {
            assert!(!plausible_bare_token(text), "{text:?}");
        }
    }
}
