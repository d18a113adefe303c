//! The one place where secrets are scrubbed from everything a server or a configuration can
//! put into an error, a receipt or a log line.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ticket_core::{RequestPreview, TicketError};

/// How many tokens received at run time (access and refresh tokens) are remembered.
const RECENT: usize = 16;

/// Every secret of one client, in every form a server may echo back, and the function that
/// removes them from text: [`scrub`](Self::scrub) and [`scrub_error`](Self::scrub_error).
///
/// A [`Transport`](crate::Transport) carries one set and passes through it every error it
/// returns (transport failures, capped bodies, what a decoder makes of an answer), every request
/// id it captures and every error it logs; [`RawResponse`](crate::RawResponse)s it reads carry
/// it too, so excerpts are scrubbed before they are cut. Register secrets through this set
/// and providers need no list of secrets at any call site:
///
/// - [`add`](Self::add): a configured secret (an API key, a helpdesk token);
///   [`Credential::register`](crate::Credential::register) adds everything a credential holds.
/// - [`add_received`](Self::add_received): a token that arrived at run time (the last 16 are
///   kept, so a process that refreshes for weeks does not grow without bound).
///
/// Forms scrubbed for each secret: the value as given and trimmed, standard and URL-safe
/// base64, percent-encoding, and the JSON and Rust-debug escaped forms; `Basic …` and
/// `Bearer …` values contain these, so they are covered too. Each is replaced by
/// [`RequestPreview::REDACTED`]. A form shorter than [`MIN_WORD_SECRET`](Self::MIN_WORD_SECRET)
/// bytes (a one-letter password) is replaced only where it stands as a word of its own, never
/// inside other words or tokens.
///
/// Cloning is cheap and shares the set: a token source and the client that uses it can
/// register into the same one.
///
/// ```
/// use helpdesk_ticket_http::Secrets;
/// let secrets = Secrets::new();
/// secrets.add("api-secret");
/// secrets.add("X");
/// assert_eq!(
///     secrets.scrub("secret api-secret, base64 YXBpLXNlY3JldA, X-Id: X"),
///     "secret <redacted>, base64 <redacted>, X-Id: <redacted>"
/// );
/// ```
#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Forms of the configured secrets, longest first.
    fixed: Vec<String>,
    /// Forms of recently received tokens, one entry per token.
    recent: VecDeque<Vec<String>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Secrets")
            .field(
                "forms",
                &(inner.fixed.len() + inner.recent.iter().map(Vec::len).sum::<usize>()),
            )
            .finish()
    }
}

impl Secrets {
    /// Forms shorter than this many bytes are scrubbed only as whole words (see [`Secrets`]).
    pub const MIN_WORD_SECRET: usize = 8;

    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a configured secret in all its forms. Empty values are ignored.
    pub fn add(&self, secret: &str) {
        let forms = forms(secret);
        if forms.is_empty() {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for form in forms {
            if !inner.fixed.contains(&form) {
                inner.fixed.push(form);
            }
        }
        inner.fixed.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    /// Registers a token received at run time (an access or refresh token). The last 16 are
    /// remembered; registering one already known does nothing.
    pub fn add_received(&self, token: &str) {
        // The common case on the request path: the token is already known. Checked under the
        // read lock before any form is computed (computing them costs ~14,000 instructions).
        let known = |inner: &Inner| {
            inner.fixed.iter().any(|f| f == token)
                || inner
                    .recent
                    .iter()
                    .any(|r| r.first().is_some_and(|f| f == token))
        };
        if token.is_empty() || known(&self.inner.read().unwrap_or_else(PoisonError::into_inner)) {
            return;
        }
        let forms = forms(token);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if known(&inner) {
            return;
        }
        if inner.recent.len() == RECENT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(forms);
    }

    /// Whether no secret is registered.
    pub fn is_empty(&self) -> bool {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.fixed.is_empty() && inner.recent.is_empty()
    }

    /// Whether `text` holds any registered secret in any form.
    pub fn found_in(&self, text: &str) -> bool {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner
            .fixed
            .iter()
            .chain(inner.recent.iter().flatten())
            .any(|form| find(text, form).is_some())
    }

    /// `text` with every form of every registered secret replaced by
    /// [`RequestPreview::REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut forms: Vec<&str> = inner
            .fixed
            .iter()
            .chain(inner.recent.iter().flatten())
            .map(String::as_str)
            .filter(|form| find(text, form).is_some())
            .collect();
        if forms.is_empty() {
            return text.to_owned();
        }
        // Longest first, so that no longer form is left half-replaced by a shorter one.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let mut text = text.to_owned();
        for form in forms {
            text = replace(&text, form);
        }
        text
    }

    /// `err` with every text it holds scrubbed: messages, reasons, excerpts, request ids, and
    /// its source (replaced by its scrubbed text when that held a secret).
    pub fn scrub_error(&self, err: TicketError) -> TicketError {
        if self.is_empty() {
            return err;
        }
        let s = |text: &mut String| *text = self.scrub(text);
        let opt = |text: &mut Option<String>| {
            if let Some(text) = text {
                *text = self.scrub(text);
            }
        };
        match err {
            TicketError::InvalidInput { field, reason } => TicketError::InvalidInput {
                field: self.scrub(&field),
                reason: self.scrub(&reason),
            },
            TicketError::Unauthenticated(mut d) => {
                s(&mut d.message);
                opt(&mut d.request_id);
                TicketError::Unauthenticated(d)
            }
            TicketError::PermissionDenied(mut d) => {
                s(&mut d.message);
                opt(&mut d.request_id);
                TicketError::PermissionDenied(d)
            }
            TicketError::NotFound(mut d) => {
                s(&mut d.message);
                opt(&mut d.request_id);
                TicketError::NotFound(d)
            }
            TicketError::Provider(mut d) => {
                s(&mut d.message);
                opt(&mut d.request_id);
                TicketError::Provider(d)
            }
            TicketError::RateLimited {
                mut details,
                retry_after,
                limit,
            } => {
                s(&mut details.message);
                opt(&mut details.request_id);
                TicketError::RateLimited {
                    details,
                    retry_after,
                    limit,
                }
            }
            TicketError::Transport {
                provider,
                sent,
                message,
                source,
                idempotent,
            } => TicketError::Transport {
                provider,
                sent,
                message: self.scrub(&message),
                source: source.map(|source| self.scrub_source(source)),
                idempotent,
            },
            TicketError::MalformedResponse {
                provider,
                status,
                reason,
                excerpt,
                request_id,
            } => TicketError::MalformedResponse {
                provider,
                status,
                reason: self.scrub(&reason),
                excerpt: self.scrub(&excerpt),
                request_id: request_id.map(|id| self.scrub(&id)),
            },
            TicketError::Configuration(message) => TicketError::Configuration(self.scrub(&message)),
            other => other,
        }
    }

    fn scrub_source(
        &self,
        source: Arc<dyn std::error::Error + Send + Sync>,
    ) -> Arc<dyn std::error::Error + Send + Sync> {
        let mut chain = format!("{source} {source:?}");
        let mut next = source.source();
        while let Some(inner) = next {
            chain.push_str(&format!(" {inner} {inner:?}"));
            next = inner.source();
        }
        if self.found_in(&chain) {
            Arc::new(Scrubbed(self.scrub(&source.to_string())))
        } else {
            source
        }
    }
}

/// An error source whose text held a secret, kept as its scrubbed text.
#[derive(Debug)]
struct Scrubbed(String);

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Scrubbed {}

/// Whether `c` may be part of a token, so that a short secret next to it is inside a word.
fn in_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=' | '%')
}

/// Where `form` occurs in `text`: anywhere for a long form; for a short one, only where it
/// stands as a word of its own.
fn find(text: &str, form: &str) -> Option<(usize, usize)> {
    if form.len() >= Secrets::MIN_WORD_SECRET {
        return text.find(form).map(|at| (at, at + form.len()));
    }
    text.match_indices(form)
        .map(|(at, _)| (at, at + form.len()))
        .find(|&(start, end)| {
            !text[..start].chars().next_back().is_some_and(in_word)
                && !text[end..].chars().next().is_some_and(in_word)
        })
}

/// `text` with every occurrence of `form` that [`find`] accepts replaced.
fn replace(text: &str, form: &str) -> String {
    if form.len() >= Secrets::MIN_WORD_SECRET {
        return text.replace(form, RequestPreview::REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // After a match the next character is not part of a word (that is what made it a match),
    // so looking again in the rest alone loses no boundary.
    while let Some((start, end)) = find(rest, form) {
        out.push_str(&rest[..start]);
        out.push_str(RequestPreview::REDACTED);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every form of `secret` worth scrubbing, non-empty and distinct.
fn forms(secret: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |form: String| {
        if !form.is_empty() && !out.contains(&form) {
            out.push(form);
        }
    };
    for base in [secret, secret.trim()] {
        if base.is_empty() {
            continue;
        }
        push(base.to_owned());
        push(STANDARD.encode(base).trim_end_matches('=').to_owned());
        push(URL_SAFE_NO_PAD.encode(base));
        push(
            percent_encoding::utf8_percent_encode(base, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        let debug = format!("{base:?}");
        push(debug[1..debug.len() - 1].to_owned());
        if let Ok(json) = serde_json::to_string(base) {
            push(json[1..json.len() - 1].to_owned());
        }
    }
    out
}

/// A secret as configured, ready to use: surrounding whitespace (a trailing newline from a
/// file or a shell) is removed; an empty value, or one with whitespace or control characters
/// inside, is a [`TicketError::Configuration`] naming `what`, never quoting the value.
pub fn clean_secret(value: &str, what: &str) -> Result<String, TicketError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(TicketError::config(format!("{what} is empty")));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TicketError::config(format!(
            "{what} contains whitespace or control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// `value` without a leading `scheme` and the spaces after it (case-insensitive):
/// `"Bearer u-1"` → `"u-1"`.
pub fn strip_scheme(value: &str, scheme: &str) -> String {
    let bytes = value.as_bytes();
    let n = scheme.len();
    if bytes.len() > n
        && value.is_char_boundary(n)
        && value[..n].eq_ignore_ascii_case(scheme)
        && bytes[n] == b' '
    {
        value[n..].trim_start().to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_form_is_scrubbed() {
        let secrets = Secrets::new();
        secrets.add("s3cr\"et/+x");
        for form in forms("s3cr\"et/+x") {
            let text = format!("a {form} b");
            assert_eq!(secrets.scrub(&text), "a <redacted> b", "{form}");
        }
    }

    #[test]
    fn received_tokens_are_bounded() {
        let secrets = Secrets::new();
        for i in 0..40 {
            secrets.add_received(&format!("token-{i:02}"));
        }
        assert!(secrets.found_in("token-39"));
        assert!(!secrets.found_in("token-00"));
    }

    #[test]
    fn schemes_and_whitespace() {
        assert_eq!(strip_scheme("Bearer u-1", "Bearer"), "u-1");
        assert_eq!(strip_scheme("bearer  u-1", "Bearer"), "u-1");
        assert_eq!(strip_scheme("u-1", "Bearer"), "u-1");
        assert_eq!(clean_secret(" k\n", "x").unwrap(), "k");
        let err = clean_secret("a b", "the key").unwrap_err().to_string();
        assert!(err.contains("the key") && !err.contains("a b"), "{err}");
        assert!(clean_secret("\n", "x").is_err());
    }
}
