//! [`FeishuConfig`]: how to reach a Feishu or Lark helpdesk (token sources, helpdesk id and
//! token, [`Region`] or base URL, HTTP options, the app credentials reads need), with a `Debug`
//! that never prints a token or a secret.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;
use ticket_http::{BaseUrl, HttpOptions, TokenSource, clean_secret};

use crate::{StaticToken, TENANT_TOKEN_RENEW_BEFORE, TenantToken, UserTokenSource};

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
/// token, the region or an explicit base URL, the HTTP limits, and for reads the app's
/// credentials ([`with_app_credentials`](Self::with_app_credentials)) or a tenant-token source.
///
/// `Debug` never prints a token or a secret.
///
/// ```
/// use helpdesk_provider_feishu::{FeishuConfig, Region};
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
    pub(crate) tenant: Option<Tenant>,
}

/// Where reads get their tenant token.
#[derive(Clone)]
pub(crate) enum Tenant {
    /// From the app's credentials, renewed this long before expiry.
    App {
        app_id: String,
        app_secret: SecretString,
        renew_before: Duration,
    },
    /// From the caller's source.
    Source(Arc<dyn TokenSource>),
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
            tenant: None,
        })
    }

    /// Reads with a tenant access token made from the app's id and secret (the self-built
    /// app's, usually the one whose `client_id`/`client_secret` refresh the user token), through
    /// this configuration's base URL, HTTP options and client. Without it (or a
    /// [`with_tenant_token_source`](Self::with_tenant_token_source)) reads fail with a
    /// configuration error. Both are trimmed; errors name them, never quote them.
    pub fn with_app_credentials(
        mut self,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<Self, TicketError> {
        let app_id = app_id.into().trim().to_owned();
        if app_id.is_empty() {
            return Err(TicketError::config("the Feishu app id is empty"));
        }
        let app_secret = clean_secret(&app_secret.into(), "the Feishu app secret")?;
        self.tenant = Some(Tenant::App {
            app_id,
            app_secret: app_secret.into(),
            renew_before: TENANT_TOKEN_RENEW_BEFORE,
        });
        Ok(self)
    }

    /// Reads with tenant access tokens from `source` (a [`TenantToken`] of your own, or a
    /// fixed token for a test).
    #[must_use]
    pub fn with_tenant_token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.tenant = Some(Tenant::Source(source));
        self
    }

    /// Renews a tenant token made from the app's credentials when less than `before` is left
    /// (default [`TENANT_TOKEN_RENEW_BEFORE`], 30 minutes, when Feishu starts handing out a new
    /// one; at most half a token's lifetime). No effect without app credentials.
    #[must_use]
    pub fn with_tenant_renew_before(mut self, before: Duration) -> Self {
        if let Some(Tenant::App { renew_before, .. }) = &mut self.tenant {
            *renew_before = before;
        }
        self
    }

    /// Whether reads are configured (app credentials or a tenant-token source).
    pub fn can_read(&self) -> bool {
        self.tenant.is_some()
    }

    /// The tenant token source reads use: made from the app's credentials (sharing the user
    /// token source's secrets, so that one set scrubs everything), or the caller's.
    pub(crate) fn tenant_source(&self) -> Result<Option<Arc<dyn TokenSource>>, TicketError> {
        Ok(match &self.tenant {
            None => None,
            Some(Tenant::Source(source)) => Some(Arc::clone(source)),
            Some(Tenant::App {
                app_id,
                app_secret,
                renew_before,
            }) => {
                let mut builder = TenantToken::builder(app_id.clone(), app_secret.expose_secret())
                    .base_url(self.base_url.as_str())
                    .http_options(self.http.clone())
                    .http_client(self.client.clone())
                    .renew_before(*renew_before);
                if let Some(secrets) = self.token_source.secrets() {
                    builder = builder.secrets(secrets);
                }
                Some(Arc::new(builder.build()?))
            }
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
            .field(
                "tenant",
                &match &self.tenant {
                    None => "none",
                    Some(Tenant::App { .. }) => "app credentials (<redacted>)",
                    Some(Tenant::Source(_)) => "token source (<redacted>)",
                },
            )
            .finish()
    }
}
