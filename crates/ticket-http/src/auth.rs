//! Credentials as ready header values, with every form of their secrets listed for scrubbing.
//!
//! A provider builds one [`Credentials`] per client: the header goes on every request (marked
//! sensitive, so previews and `reqwest`/`hyper` debug output redact it), and
//! [`Credentials::secrets`] lists the raw secret, its base64 forms and the full header value,
//! to register with the transport's [`Secrets`](crate::Secrets), the one scrubbing point every
//! error, excerpt, request id and log line passes through (the kit's `JsonClient` does it).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;

use crate::{clean_secret, sensitive_header, strip_scheme};

/// One credential header (`Authorization: Basic …`, `Authorization: Bearer …` or a custom
/// one) and the secret texts to scrub from anything quoted back. `Debug` shows the header
/// name only.
#[derive(Clone)]
pub struct Credentials {
    name: HeaderName,
    value: HeaderValue,
    scrub: Vec<SecretString>,
}

impl Credentials {
    /// `Authorization: Basic base64(user:password)`. `user` must not contain `:` and neither
    /// may be empty; `what` names the credentials in errors (`"the Zendesk API token"`).
    /// Scrubbed: the password, `user:password`, its base64 form, and the base64 of the
    /// password alone.
    pub fn basic(user: &str, password: &SecretString, what: &str) -> Result<Self, TicketError> {
        if user.is_empty() || user.contains(':') {
            return Err(TicketError::config(format!(
                "the user of {what} must be non-empty and must not contain `:`"
            )));
        }
        // Trimmed like every other secret; inner whitespace is refused (`clean_secret`).
        let password = &clean_secret(password.expose_secret(), what)?;
        let pair = format!("{user}:{password}");
        let encoded = BASE64.encode(&pair);
        let value = sensitive_header(format!("Basic {encoded}"), what)?;
        Ok(Self {
            name: header::AUTHORIZATION,
            value,
            scrub: vec![
                password.to_owned().into(),
                pair.into(),
                encoded.into(),
                BASE64.encode(password).into(),
            ],
        })
    }

    /// `Authorization: Bearer <token>`. Scrubbed: the token.
    pub fn bearer(token: &SecretString, what: &str) -> Result<Self, TicketError> {
        // Trimmed, and a pasted `Bearer ` scheme dropped (it would be sent twice).
        let token = &strip_scheme(&clean_secret(token.expose_secret(), what)?, "Bearer");
        Ok(Self {
            name: header::AUTHORIZATION,
            value: sensitive_header(format!("Bearer {token}"), what)?,
            scrub: vec![token.to_owned().into()],
        })
    }

    /// A custom header holding `secret` as is (for example an `X-Api-Key`). Scrubbed: the
    /// secret and its base64 form.
    pub fn header(
        name: &'static str,
        secret: &SecretString,
        what: &str,
    ) -> Result<Self, TicketError> {
        let raw = &clean_secret(secret.expose_secret(), what)?;
        Ok(Self {
            name: HeaderName::from_static(name),
            value: sensitive_header(raw.to_owned(), what)?,
            scrub: vec![raw.to_owned().into(), BASE64.encode(raw).into()],
        })
    }

    /// Inserts the header into `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(self.name.clone(), self.value.clone());
    }

    /// Every secret text to scrub from quoted answers, longest first (so that no longer form
    /// is left half-replaced by a shorter one).
    pub fn secrets(&self) -> Vec<&str> {
        let mut list: Vec<&str> = self.scrub.iter().map(|s| s.expose_secret()).collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        list
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("header", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basic_lists_every_form_and_debug_shows_none() {
        let creds = Credentials::basic(
            "agent@example.com/token",
            &SecretString::from("s3cr3t-token"),
            "the token",
        )
        .unwrap();
        let secrets = creds.secrets();
        let encoded = BASE64.encode("agent@example.com/token:s3cr3t-token");
        assert!(secrets.contains(&"s3cr3t-token"));
        assert!(secrets.contains(&encoded.as_str()));
        let text = crate::excerpt(
            format!("Basic {encoded} / s3cr3t-token").as_bytes(),
            &secrets,
        );
        assert!(
            !text.contains("s3cr3t") && !text.contains(&encoded),
            "{text}"
        );
        assert_eq!(
            format!("{creds:?}"),
            "Credentials { header: \"authorization\", .. }"
        );
        let mut headers = HeaderMap::new();
        creds.apply(&mut headers);
        assert!(headers[header::AUTHORIZATION].is_sensitive());
        assert!(Credentials::basic("a:b", &SecretString::from("x"), "t").is_err());
        assert!(Credentials::bearer(&SecretString::from(""), "t").is_err());
    }
}
