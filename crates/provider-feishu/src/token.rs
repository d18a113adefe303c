//! Where the user access token comes from.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;
use ticket_core::TicketError;
use ticket_http::{Secrets, clean_secret, strip_scheme};

/// A source of Feishu `user_access_token`s.
///
/// The client asks for a token before each request. When Feishu refuses a token as expired or
/// invalid, the client calls [`refresh`](Self::refresh) once with the refused token; if that
/// returns `true`, it asks for a token again and retries the update once.
#[async_trait]
pub trait UserTokenSource: Send + Sync {
    /// The token to send now.
    async fn access_token(&self) -> Result<SecretString, TicketError>;

    /// Feishu refused `rejected`. Return `Ok(true)` if a new token is now available, `Ok(false)`
    /// if this source cannot refresh (the update then fails as unauthenticated).
    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        let _ = rejected;
        Ok(false)
    }

    /// The set this source scrubs its own errors of, if it talks to a server. The client
    /// shares it, so that the client's secrets and the source's tokens are scrubbed from the
    /// errors and logs of both. Default: `None` (the client starts its own set).
    fn secrets(&self) -> Option<Secrets> {
        None
    }
}

/// A fixed token: it is never refreshed.
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// A static token. Surrounding whitespace and a leading `Bearer ` are removed (a token
    /// pasted with its scheme would otherwise be sent as `Bearer Bearer …`); what is left must
    /// not be empty or hold whitespace.
    pub fn new(token: impl Into<String>) -> Result<Self, TicketError> {
        let token = clean_secret(
            &strip_scheme(token.into().trim(), "Bearer"),
            "the Feishu user access token",
        )?;
        Ok(Self(token.into()))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait]
impl UserTokenSource for StaticToken {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        Ok(self.0.clone())
    }
}
