//! [`EngageLabConfig`]: how to reach EngageLab LiveDesk (credentials held as secrets, base URL,
//! HTTP options, where reads go), with a `Debug` that never prints a secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;
use ticket_http::{BaseUrl, HttpOptions, clean_secret};

use crate::{DEFAULT_BASE_URL, ReadPath};

/// How to reach EngageLab LiveDesk: an API key and secret (held as secrets), the base URL and
/// the HTTP limits.
///
/// `Debug` never prints the key or the secret.
///
/// ```
/// use helpdesk_provider_engagelab::EngageLabConfig;
/// let config = EngageLabConfig::new("my-key", "my-secret")?;
/// assert_eq!(config.base_url().as_str(), "https://livedesk-api.engagelab.com");
/// assert!(!format!("{config:?}").contains("my-secret"));
/// # Ok::<(), ticket_core::TicketError>(())
/// ```
#[derive(Clone)]
pub struct EngageLabConfig {
    pub(crate) api_key: SecretString,
    pub(crate) api_secret: SecretString,
    pub(crate) base_url: BaseUrl,
    pub(crate) http: HttpOptions,
    pub(crate) client: Option<ticket_http::reqwest::Client>,
    pub(crate) read_path: ReadPath,
}

impl EngageLabConfig {
    /// A configuration for the default base URL. Surrounding whitespace (a trailing newline)
    /// is trimmed from both values; neither may then be empty or hold whitespace, and the key
    /// may not contain `:` (Basic auth could not carry it). Errors name the value, never
    /// quote it.
    pub fn new(
        api_key: impl Into<String>,
        api_secret: impl Into<String>,
    ) -> Result<Self, TicketError> {
        let api_key = clean_secret(&api_key.into(), "the EngageLab API key")?;
        let api_secret = clean_secret(&api_secret.into(), "the EngageLab API secret")?;
        if api_key.contains(':') {
            return Err(TicketError::config(
                "the EngageLab API key contains `:`, which Basic auth cannot carry",
            ));
        }
        Ok(Self {
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            base_url: BaseUrl::parse(DEFAULT_BASE_URL)?,
            http: HttpOptions::default(),
            client: None,
            read_path: ReadPath::default(),
        })
    }

    /// Reads tickets on `path`'s form of the read route (default [`ReadPath::Api`], the
    /// update's own `/api/v2/…`).
    #[must_use]
    pub fn with_read_path(mut self, path: ReadPath) -> Self {
        self.read_path = path;
        self
    }

    /// The read route's form.
    pub fn read_path(&self) -> ReadPath {
        self.read_path
    }

    /// Overrides the base URL (`https://`, or `http://` to loopback only).
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

    /// The HTTP limits.
    pub fn http_options(&self) -> &HttpOptions {
        &self.http
    }

    /// The API key and secret.
    pub(crate) fn credentials(&self) -> (&str, &str) {
        (
            self.api_key.expose_secret(),
            self.api_secret.expose_secret(),
        )
    }
}

impl fmt::Debug for EngageLabConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngageLabConfig")
            .field("api_key", &"<redacted>")
            .field("api_secret", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("read_path", &self.read_path)
            .field("http", &self.http)
            .finish()
    }
}
