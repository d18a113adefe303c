use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;
use ticket_http::{BaseUrl, HttpOptions, clean_secret};

use crate::{StaticToken, UserTokenSource};

/// Which Feishu deployment to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Region {
    /// Feishu, `https://open.feishu.cn` (the default).
    #[default]
    Feishu,
    /// Lark, `https://open.larksuite.com`.
    Lark,
}

impl Region {
    /// The region's base URL.
    pub const fn base_url(self) -> &'static str {
        match self {
            Region::Feishu => "https://open.feishu.cn",
            Region::Lark => "https://open.larksuite.com",
        }
    }
}

impl std::str::FromStr for Region {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "feishu" => Ok(Region::Feishu),
            "lark" => Ok(Region::Lark),
            _ => Err(TicketError::config(format!(
                "unknown Feishu region {s:?}; expected feishu or lark"
            ))),
        }
    }
}

/// How to reach a Feishu (or Lark) helpdesk: a user-access-token source, the helpdesk id and
/// token, the region or an explicit base URL, and the HTTP limits.
///
/// `Debug` never prints a token.
///
/// ```
/// use provider_feishu::{FeishuConfig, Region};
/// let config = FeishuConfig::with_static_token("u-token", "7012345", "helpdesk-token")?
///     .with_region(Region::Lark);
/// assert_eq!(config.base_url().as_str(), "https://open.larksuite.com");
/// assert!(!format!("{config:?}").contains("helpdesk-token"));
/// # Ok::<(), ticket_core::TicketError>(())
/// ```
#[derive(Clone)]
pub struct FeishuConfig {
    pub(crate) token_source: Arc<dyn UserTokenSource>,
    pub(crate) helpdesk_id: String,
    pub(crate) helpdesk_token: SecretString,
    pub(crate) base_url: BaseUrl,
    pub(crate) http: HttpOptions,
    pub(crate) client: Option<ticket_http::reqwest::Client>,
}

impl FeishuConfig {
    /// A configuration for the Feishu region. Both values are trimmed of surrounding
    /// whitespace; `helpdesk_id` must then be non-empty and free of `:` (it is joined to the
    /// token with `:`); `helpdesk_token` must be non-empty, without whitespace inside.
    pub fn new(
        token_source: Arc<dyn UserTokenSource>,
        helpdesk_id: impl Into<String>,
        helpdesk_token: impl Into<String>,
    ) -> Result<Self, TicketError> {
        let helpdesk_id = helpdesk_id.into().trim().to_owned();
        if helpdesk_id.is_empty() || helpdesk_id.contains(':') {
            return Err(TicketError::config(
                "the Feishu helpdesk id must be non-empty and must not contain `:`",
            ));
        }
        let helpdesk_token = clean_secret(&helpdesk_token.into(), "the Feishu helpdesk token")?;
        Ok(Self {
            token_source,
            helpdesk_id,
            helpdesk_token: helpdesk_token.into(),
            base_url: BaseUrl::parse(Region::Feishu.base_url())?,
            http: HttpOptions::default(),
            client: None,
        })
    }

    /// [`new`](Self::new) with a [`StaticToken`].
    pub fn with_static_token(
        user_access_token: impl Into<String>,
        helpdesk_id: impl Into<String>,
        helpdesk_token: impl Into<String>,
    ) -> Result<Self, TicketError> {
        Self::new(
            Arc::new(StaticToken::new(
                user_access_token,
                "the Feishu user access token",
            )?),
            helpdesk_id,
            helpdesk_token,
        )
    }

    /// Uses the region's base URL.
    #[must_use]
    pub fn with_region(mut self, region: Region) -> Self {
        // Region URLs are constants known to be valid.
        self.base_url = BaseUrl::parse(region.base_url()).unwrap_or(self.base_url);
        self
    }

    /// Uses an explicit base URL (`https://`, or `http://` to loopback only).
    pub fn with_base_url(mut self, base_url: &str) -> Result<Self, TicketError> {
        self.base_url = BaseUrl::parse(base_url)?;
        Ok(self)
    }

    /// Sets timeouts and the response size cap.
    #[must_use]
    pub fn with_http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Sends through your own `reqwest::Client` (its proxies, roots and middleware stay yours).
    /// The project then no longer guarantees that redirects are refused or that the
    /// timeouts of the HTTP options apply; see
    /// [`Transport::with_client`](ticket_http::Transport::with_client).
    #[must_use]
    pub fn with_http_client(mut self, client: ticket_http::reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// The helpdesk id.
    pub fn helpdesk_id(&self) -> &str {
        &self.helpdesk_id
    }

    /// The HTTP limits.
    pub fn http_options(&self) -> &HttpOptions {
        &self.http
    }

    pub(crate) fn helpdesk_token(&self) -> &str {
        self.helpdesk_token.expose_secret()
    }
}

impl fmt::Debug for FeishuConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeishuConfig")
            .field("token_source", &"<redacted>")
            .field("helpdesk_id", &self.helpdesk_id)
            .field("helpdesk_token", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("http", &self.http)
            .finish()
    }
}
