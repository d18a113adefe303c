//! How a client proves who it is: [`Credential`], a header fixed for the client's life (Basic,
//! Bearer, or a named header), and [`TokenSource`], a bearer token that may change and be
//! refreshed (Feishu's user access token). Both register every form of their secrets with the
//! client's [`Secrets`], so that nothing a server echoes can show them.

use std::fmt;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{self, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;

use crate::Secrets;

/// One credential header, fixed for the life of a client: `Authorization: Basic …`,
/// `Authorization: Bearer …`, or a named header. Its value is a sensitive [`HeaderValue`]
/// (previews and `reqwest`/`hyper` debug output redact it); `Debug` shows the header name only.
///
/// A credential knows its secrets: the whole header value and each secret part, which
/// [`register`](Self::register) adds to a [`Secrets`] set in every form a server may echo.
/// Every part of a Basic pair is a secret, the user too (Freshdesk's `API_KEY:X` keeps the key
/// in the user); a part shorter than [`Secrets::MIN_WORD_SECRET`] bytes is scrubbed only where
/// it stands as a word of its own, never inside other words.
///
/// ```
/// use helpdesk_ticket_http::{Credential, Secrets};
/// let credential = Credential::basic("api-key", "api-secret", "the API key")?;
/// let secrets = Secrets::new();
/// credential.register(&secrets);
/// assert_eq!(
///     secrets.scrub("key api-key, pair YXBpLWtleTphcGktc2VjcmV0"),
///     "key <redacted>, pair <redacted>"
/// );
/// # Ok::<(), ticket_core::TicketError>(())
/// ```
#[derive(Clone)]
pub struct Credential {
    name: HeaderName,
    value: HeaderValue,
    /// The secret parts, beside the header value itself.
    parts: Vec<SecretString>,
}

impl Credential {
    /// `Authorization: Basic base64(user:password)`. Both are trimmed (see
    /// [`clean_secret`](crate::clean_secret)); neither may be empty, and `user` may not hold
    /// `:`. `what` names the credential in errors, which never quote it.
    pub fn basic(user: &str, password: &str, what: &str) -> Result<Self, TicketError> {
        let user = crate::clean_secret(user, &format!("the user of {what}"))?;
        let password = crate::clean_secret(password, &format!("the password of {what}"))?;
        if user.contains(':') {
            return Err(TicketError::config(format!(
                "the user of {what} contains `:`, which Basic auth cannot carry"
            )));
        }
        let pair = BASE64.encode(format!("{user}:{password}"));
        Ok(Self {
            name: header::AUTHORIZATION,
            value: crate::sensitive_header(format!("Basic {pair}"), what)?,
            parts: vec![pair.into(), user.into(), password.into()],
        })
    }

    /// `Authorization: Bearer <token>`; a pasted `Bearer ` scheme is dropped (see
    /// [`bearer_token`]).
    pub fn bearer(token: &str, what: &str) -> Result<Self, TicketError> {
        let token = bearer_token(token, what)?;
        Ok(Self {
            name: header::AUTHORIZATION,
            value: crate::sensitive_header(format!("Bearer {token}"), what)?,
            parts: vec![token.into()],
        })
    }

    /// A named header holding `value` as is (an `X-Api-Key`), trimmed.
    pub fn header(name: &'static str, value: &str, what: &str) -> Result<Self, TicketError> {
        let value = crate::clean_secret(value, what)?;
        Ok(Self {
            name: HeaderName::from_static(name),
            value: crate::sensitive_header(value.clone(), what)?,
            parts: vec![value.into()],
        })
    }

    /// A named header holding `base64(id:secret)`, such as Feishu's
    /// `X-Lark-Helpdesk-Authorization`. The pair and `secret` are secrets; `id` is a public
    /// identifier (it may appear in errors). Both are trimmed.
    pub fn pair_header(
        name: &'static str,
        id: &str,
        secret: &str,
        what: &str,
    ) -> Result<Self, TicketError> {
        let id = crate::clean_secret(id, &format!("the id of {what}"))?;
        let secret = crate::clean_secret(secret, what)?;
        let pair = BASE64.encode(format!("{id}:{secret}"));
        Ok(Self {
            name: HeaderName::from_static(name),
            value: crate::sensitive_header(pair.clone(), what)?,
            parts: vec![pair.into(), secret.into()],
        })
    }

    /// The header's name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The header's (sensitive) value.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }

    /// Adds the header value and every secret part, in every form, to `secrets`.
    pub fn register(&self, secrets: &Secrets) {
        if let Ok(text) = self.value.to_str() {
            secrets.add(text);
        }
        for part in &self.parts {
            secrets.add(part.expose_secret());
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("header", &self.name)
            .finish_non_exhaustive()
    }
}

/// A bearer token as it is sent: surrounding whitespace trimmed and a pasted `Bearer ` scheme
/// (any case) dropped, since it would otherwise be sent as `Bearer Bearer …`. Empty, or holding
/// whitespace or control characters after that: a [`TicketError::Configuration`] naming `what`.
pub fn bearer_token(token: &str, what: &str) -> Result<String, TicketError> {
    crate::clean_secret(&crate::strip_scheme(token.trim(), "Bearer"), what)
}

/// A bearer token that may change: asked for before each request, told when the server refused
/// the one it gave. The kit's client sends it as `Authorization: Bearer <token>` and registers
/// each new token with its [`Secrets`].
///
/// When the provider reads an answer as "this token was refused", the client calls
/// [`refresh`](Self::refresh) once with that token; if it returns `true`, the client asks for a
/// token again and sends the update once more.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// The token to send now.
    async fn access_token(&self) -> Result<SecretString, TicketError>;

    /// The server refused `rejected`. `Ok(true)` if a new token is now available, `Ok(false)`
    /// if this source cannot refresh (the update then fails as refused).
    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        let _ = rejected;
        Ok(false)
    }

    /// The set this source scrubs its own errors of, when it talks to a server itself (a
    /// refresh endpoint). The client then uses that set, so that the client's secrets and the
    /// source's tokens are scrubbed from the errors and logs of both. Default: `None` (the
    /// client has its own set).
    fn secrets(&self) -> Option<Secrets> {
        None
    }
}

/// A fixed bearer token, never refreshed. It is a secret of the client it is given to from
/// the start ([`TokenSource::secrets`]), before any request carries it: a client that only
/// reads with another token scrubs it too.
#[derive(Clone)]
pub struct StaticToken(SecretString, Secrets);

impl StaticToken {
    /// A static token, cleaned as [`bearer_token`] says.
    pub fn new(token: impl Into<String>, what: &str) -> Result<Self, TicketError> {
        let token = bearer_token(&token.into(), what)?;
        let secrets = Secrets::new();
        secrets.add(&token);
        Ok(Self(token.into(), secrets))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        Ok(self.0.clone())
    }

    fn secrets(&self) -> Option<Secrets> {
        Some(self.1.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basic_registers_every_form_and_debug_shows_none() {
        let creds =
            Credential::basic("agent@example.com/token", "s3cr3t-token", "the token").unwrap();
        let secrets = Secrets::new();
        creds.register(&secrets);
        let encoded = BASE64.encode("agent@example.com/token:s3cr3t-token");
        let text = secrets.scrub(&format!("Basic {encoded} / s3cr3t-token"));
        assert_eq!(text, "<redacted> / <redacted>");
        assert_eq!(
            format!("{creds:?}"),
            "Credential { header: \"authorization\", .. }"
        );
        assert!(creds.value().is_sensitive());
        assert!(Credential::basic("a:b", "x", "t").is_err());
        assert!(Credential::bearer("", "t").is_err());
    }

    /// Freshdesk's `API_KEY:X`: the secret is the user, and the one-letter password is not
    /// scrubbed inside other words.
    #[test]
    fn either_half_may_be_the_secret_and_a_short_one_stays_a_word() {
        let creds = Credential::basic("fd-api-key-123", "X", "the Freshdesk API key").unwrap();
        let secrets = Secrets::new();
        creds.register(&secrets);
        assert_eq!(
            secrets.scrub("key fd-api-key-123 refused; X-Request-Id: EXTRA X"),
            "key <redacted> refused; X-Request-Id: EXTRA <redacted>"
        );
    }

    #[test]
    fn bearer_tokens_are_cleaned_once() {
        assert_eq!(bearer_token(" Bearer u-1\n", "t").unwrap(), "u-1");
        assert_eq!(bearer_token("bearer  u-1", "t").unwrap(), "u-1");
        assert!(bearer_token(" \n", "t").is_err());
        assert!(bearer_token("Bearer a b", "t").is_err());
        let c = Credential::bearer("Bearer u-1", "t").unwrap();
        assert_eq!(c.value().to_str().unwrap(), "Bearer u-1");
    }
}
