//! [`BaseUrl`]: a checked API base URL (`https://`, or `http://` to loopback), and the routes
//! under it, where a ticket id always becomes exactly one percent-encoded path segment.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

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
/// use helpdesk_ticket_http::encode_segment;
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
pub struct BaseUrl {
    text: String,
    parsed: Url,
}

impl BaseUrl {
    /// Parses and checks `url`. The error is a [`TicketError::Configuration`] naming the problem.
    pub fn parse(url: &str) -> Result<Self, TicketError> {
        // The URL is quoted without any user or password it carries; one that does not parse
        // is not quoted at all (it might hold credentials in a shape the parser cannot see).
        let parsed = Url::parse(url)
            .map_err(|e| TicketError::config(format!("the base URL is not a valid URL ({e})")))?;
        let mut shown = parsed.clone();
        if shown.set_username("").is_err() || shown.set_password(None).is_err() {
            shown = Url::parse("about:blank").unwrap_or_else(|_| parsed.clone());
        }
        let bad = |why: &str| TicketError::config(format!("base URL {:?} {why}", shown.as_str()));
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
            return Err(bad("must not carry credentials (they are not shown here)"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        let text = parsed.as_str().trim_end_matches('/').to_owned();
        Ok(Self { text, parsed })
    }

    /// `Ok` unless this is an `https://` URL and ticket-http was built without a TLS feature:
    /// then a [`TicketError::Configuration`] naming the features to enable (`rustls` or
    /// `native-tls`). Without it, every request would fail as a retryable "could not
    /// connect", the same as a closed port. The kit's clients ([`JsonClient`](crate::JsonClient))
    /// check it when built; a client of your own making (`with_client`) is not checked.
    pub fn require_tls_backend(&self) -> Result<(), TicketError> {
        if crate::tls::COMPILED || self.parsed.scheme() != "https" {
            Ok(())
        } else {
            Err(crate::tls::no_backend(self.as_str()))
        }
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `self` followed by `path` (which must start with `/`), computed once per client.
    pub fn join(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/'));
        format!("{}{path}", self.text)
    }

    /// A ticket route under this base, parsed once: `path` is the route's fixed part up to the
    /// ticket id, such as `/open-apis/helpdesk/v1/tickets/`.
    pub fn route(&self, path: &str) -> Route {
        debug_assert!(path.starts_with('/') && path.ends_with('/'));
        let prefix = format!("{}{path}", self.parsed.path().trim_end_matches('/'));
        let mut parent = self.parsed.clone();
        parent.set_path(prefix.trim_end_matches('/'));
        Route {
            template: format!("{prefix}{{id}}").into(),
            parent,
            prefix,
            suffix: String::new(),
        }
    }

    /// A ticket route from a template with one `{id}` placeholder, such as
    /// `/api/v2/tickets/{id}.json` or `/tickets/{id}/update`: the id becomes exactly one
    /// percent-encoded path segment (or the start of one, before `.json`). The template must
    /// start with `/`, and contain `{id}` once, right after a `/`; the text after it may hold
    /// only RFC 3986 unreserved characters and `/`.
    ///
    /// ```
    /// use ticket_core::TicketId;
    /// use helpdesk_ticket_http::BaseUrl;
    /// let route = BaseUrl::parse("https://acme.zendesk.com")?.route_template("/api/v2/tickets/{id}.json")?;
    /// assert_eq!(route.url(&TicketId::new("35436")?).as_str(), "https://acme.zendesk.com/api/v2/tickets/35436.json");
    /// assert_eq!(route.url(&TicketId::new("a/b")?).as_str(), "https://acme.zendesk.com/api/v2/tickets/a%2Fb.json");
    /// # Ok::<(), ticket_core::TicketError>(())
    /// ```
    pub fn route_template(&self, template: &str) -> Result<Route, TicketError> {
        let bad = |why: &str| TicketError::config(format!("route template {template:?} {why}"));
        let (head, tail) = template
            .split_once("{id}")
            .ok_or_else(|| bad("has no `{id}`"))?;
        if !head.starts_with('/') || !head.ends_with('/') {
            return Err(bad("must start with `/` and have `{id}` right after a `/`"));
        }
        if tail.contains("{id}") {
            return Err(bad("has `{id}` more than once"));
        }
        if !tail
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'))
        {
            return Err(bad(
                "may hold only unreserved characters and `/` after `{id}`",
            ));
        }
        let mut route = self.route(head);
        route.suffix = tail.to_owned();
        route.template = format!("{}{{id}}{tail}", route.prefix).into();
        Ok(route)
    }
}

/// The URL of one ticket route, parsed once per client so that each request only appends the
/// encoded id (parsing a whole URL per request costs more than the rest of building it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route without its trailing slash: a plain id is pushed onto it as a segment.
    parent: Url,
    /// The route's path with its trailing slash.
    prefix: String,
    /// What follows the id (`.json`); empty for `prefix/{id}` routes.
    suffix: String,
    /// The whole path as a template (`/gateway/api/v2/tickets/{id}.json`).
    template: Arc<str>,
}

impl Route {
    /// The route's path as a template with `{id}` for the ticket id, the base URL's path
    /// included (`/open-apis/helpdesk/v1/tickets/{id}`): the `url.template` of its spans.
    ///
    /// ```
    /// use helpdesk_ticket_http::BaseUrl;
    /// let route = BaseUrl::parse("https://acme.zendesk.com/gw")?.route_template("/api/v2/tickets/{id}.json")?;
    /// assert_eq!(&**route.template(), "/gw/api/v2/tickets/{id}.json");
    /// # Ok::<(), ticket_core::TicketError>(())
    /// ```
    pub fn template(&self) -> &Arc<str> {
        &self.template
    }

    /// The full URL for ticket `id`: the route with `id` as exactly one percent-encoded
    /// segment (see [`encode_segment`]).
    pub fn url(&self, id: &TicketId) -> Url {
        let plain = id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if plain && self.suffix.is_empty() {
            // Fast path (most real ids): nothing to encode, so appending the id as a segment
            // gives the same URL as the general path below, without re-parsing the path.
            let mut url = self.parent.clone();
            let pushed = match url.path_segments_mut() {
                Ok(mut segments) => {
                    segments.push(id.as_str());
                    true
                }
                // Only for URLs that cannot be a base, which `BaseUrl` never holds.
                Err(()) => false,
            };
            if pushed {
                return url;
            }
        }
        use std::fmt::Write as _;
        let mut path = String::with_capacity(self.prefix.len() + id.as_str().len() * 3);
        path.push_str(&self.prefix);
        // Writing to a String cannot fail.
        let _ = write!(path, "{}{}", encode_segment(id), self.suffix);
        let mut url = self.parent.clone();
        // `set_path` replaces the whole path. Only unreserved characters and `%XX` escapes
        // are added, which the path parser keeps as they are; `.` and `..` ids are refused
        // by `TicketId`.
        url.set_path(&path);
        url
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.text).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_and_the_general_path_agree() {
        for base in ["https://open.feishu.cn", "http://127.0.0.1:8080/gateway/"] {
            let base = BaseUrl::parse(base).unwrap();
            let route = base.route("/open-apis/helpdesk/v1/tickets/");
            for id in [
                "6945345902185807891",
                "tk_2025-11.04~x",
                "...",
                "a/b",
                "%2F",
                "工單",
                "a b",
            ] {
                let id = TicketId::new(id).unwrap();
                let general = format!(
                    "{}{}",
                    base.join("/open-apis/helpdesk/v1/tickets/"),
                    encode_segment(&id)
                );
                assert_eq!(route.url(&id).as_str(), general, "{id}");
            }
        }
    }
}
