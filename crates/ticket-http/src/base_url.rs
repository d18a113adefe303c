use std::fmt;
use std::net::IpAddr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ticket_core::{TicketError, TicketId};
use url::{Host, Url};

/// Every byte but RFC 3986 "unreserved" ones is encoded, so a segment can never carry `/`,
/// `?`, `#` or `%` through to the path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a ticket id as exactly one URL path segment.
///
/// ```
/// use ticket_core::TicketId;
/// use ticket_http::encode_segment;
/// let id = TicketId::new("../a/b?c#d%2F")?;
/// assert_eq!(encode_segment(&id).to_string(), "..%2Fa%2Fb%3Fc%23d%252F");
/// # Ok::<(), ticket_core::TicketError>(())
/// ```
pub fn encode_segment(id: &TicketId) -> impl fmt::Display + '_ {
    utf8_percent_encode(id.as_str(), SEGMENT)
}

/// A validated API base URL such as `https://open.feishu.cn`.
///
/// `https://` is required, except that `http://` is allowed when the host is loopback
/// (`localhost`, `127.0.0.0/8`, `::1`). Credentials, query strings and fragments are refused;
/// a path prefix (for a gateway) is kept, without its trailing slash.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Parses and checks `url`. The error is a [`TicketError::Configuration`] naming the problem.
    pub fn parse(url: &str) -> Result<Self, TicketError> {
        let bad = |why: &str| TicketError::config(format!("base URL {url:?} {why}"));
        let parsed = Url::parse(url).map_err(|e| bad(&format!("is not a valid URL ({e})")))?;
        let loopback = match parsed.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => return Err(bad("has no host")),
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(bad(
                    "uses plain http:// to a non-loopback host; use https:// (http:// is allowed only for localhost, 127.0.0.0/8 and ::1)",
                ));
            }
            other => return Err(bad(&format!("has unsupported scheme {other:?}"))),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("must not carry credentials"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        let text = parsed.as_str().trim_end_matches('/').to_owned();
        Ok(Self(text))
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self` followed by `path` (which must start with `/`), computed once per client.
    pub fn join(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/'));
        format!("{}{path}", self.0)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.0).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
