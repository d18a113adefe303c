//! [`PreparedRequest`]: a request built once, to be sent or rendered as a redacted
//! [`RequestPreview`]; and two helpers for building one ([`sensitive_header`],
//! [`body_capacity`]).

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use ticket_core::{RequestPreview, TicketError};

/// A request built once and then either sent ([`Transport::send`](crate::Transport::send)) or
/// previewed ([`Transport::preview`](crate::Transport::preview)).
///
/// Mark every secret header value with [`HeaderValue::set_sensitive`]: the preview redacts
/// those, and `reqwest`/`hyper` keep them out of their own debug output.
#[derive(Clone)]
pub struct PreparedRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) idempotent: bool,
    /// The route template of the URL (`/api/v2/tickets/{id}`), for spans (`url.template`).
    pub(crate) url_template: Option<Arc<str>>,
}

impl PreparedRequest {
    /// A request of `method` to `url` with `headers` and `body`. Build `url` with a
    /// [`Route`](crate::Route) so the ticket id is one encoded segment.
    pub fn new(method: Method, url: Url, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        Self {
            method,
            url,
            headers,
            body: body.into(),
            idempotent: true,
            url_template: None,
        }
    }

    /// Names the route template the URL was built from, such as `/api/v2/tickets/{id}`
    /// ([`Route::template`](crate::Route::template)): the attempt spans carry it as
    /// `url.template`, a low-cardinality name a tracing backend groups by. Nothing on the wire
    /// changes.
    #[must_use]
    pub fn with_url_template(mut self, template: impl Into<Arc<str>>) -> Self {
        self.url_template = Some(template.into());
        self
    }

    /// The route template given by [`with_url_template`](Self::with_url_template), if any.
    pub fn url_template(&self) -> Option<&str> {
        self.url_template.as_deref()
    }

    /// Marks the request as not idempotent (sending it twice applies it twice, such as a
    /// Feishu comment): [`Transport::execute`](crate::Transport::execute) then retries it only
    /// when it certainly did not apply (see [`RetryPolicy`](crate::RetryPolicy)).
    #[must_use]
    pub fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Whether sending the request twice has the effect of sending it once (the default).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The full URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The headers set by the provider (the transport adds `host`, `content-length` and the
    /// client's default headers the provider does not set).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The request as sent, headers in the order they go on the wire: its own, then the
    /// client's `defaults` it does not set (reqwest appends them), then `host` (hyper-util
    /// appends it) and `content-length` (hyper writes it last, and only for a body: a request
    /// without one, a read, goes without); sensitive values redacted.
    pub(crate) fn render(&self, defaults: &HeaderMap) -> RequestPreview {
        let mut headers = Vec::with_capacity(self.headers.len() + defaults.len() + 2);
        for (name, value) in &self.headers {
            headers.push((name.as_str().to_owned(), render(value)));
        }
        for (name, value) in defaults {
            if !self.headers.contains_key(name) {
                headers.push((name.as_str().to_owned(), render(value)));
            }
        }
        if let Some(host) = host_header(&self.url) {
            headers.push(("host".to_owned(), host));
        }
        if !self.body.is_empty() {
            headers.push(("content-length".to_owned(), self.body.len().to_string()));
        }
        RequestPreview::new(
            self.method.as_str(),
            self.url.as_str(),
            headers,
            String::from_utf8_lossy(&self.body).into_owned(),
        )
    }
}

impl std::fmt::Debug for PreparedRequest {
    /// The redacted rendering of the preview (without the client's defaults): never a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let preview = self.render(&HeaderMap::new());
        f.debug_struct("PreparedRequest")
            .field("method", &preview.method)
            .field("url", &preview.url)
            .field("headers", &preview.headers)
            .field("body", &preview.body)
            .finish()
    }
}

/// A header value that holds a secret: checked as header text (a [`TicketError::Configuration`]
/// naming `what` otherwise) and marked sensitive, so previews and `reqwest`/`hyper` debug
/// output never show it.
pub fn sensitive_header(value: String, what: &str) -> Result<HeaderValue, TicketError> {
    let mut value = HeaderValue::try_from(value)
        .map_err(|_| TicketError::config(format!("{what} is not valid header text")))?;
    value.set_sensitive(true);
    Ok(value)
}

fn render(value: &HeaderValue) -> String {
    if value.is_sensitive() {
        RequestPreview::REDACTED.to_owned()
    } else {
        String::from_utf8_lossy(value.as_bytes()).into_owned()
    }
}

/// The `host` header hyper derives from the URL: the host, and the port when it is not the
/// scheme's default.
fn host_header(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// A capacity for the JSON body of `update` that holds a typical body without growing: its
/// texts, tags and custom fields (keys, ids, text values) plus room for keys, quotes and
/// punctuation. An estimate, not a limit: a body with many escapes still grows as needed.
pub fn body_capacity(update: &ticket_core::TicketUpdate) -> usize {
    let texts = [update.title(), update.description(), update.comment()]
        .iter()
        .flatten()
        .map(|t| t.len() + 24)
        .sum::<usize>();
    let tags = update.tags().map_or(0, |tags| {
        tags.iter().map(|t| t.len() + 3).sum::<usize>() + 12
    });
    let custom = update.custom_fields().map_or(0, |fields| {
        fields
            .iter()
            .map(|f| {
                let id = if f.id().is_some() { 40 } else { 0 };
                let text = f.value().as_str().map_or(24, str::len);
                f.key().map_or(0, str::len) + id + text + 32
            })
            .sum::<usize>()
            + 20
    });
    let attachments = update.attachments().map_or(0, |list| {
        list.iter().map(|a| a.file_url().len() + 20).sum::<usize>() + 20
    });
    96 + texts + tags + custom + attachments
}
