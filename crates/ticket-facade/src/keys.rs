//! The configuration keys as data: each with its name, how its value is read, whether it is a
//! secret, and a one-line doc. [`HTTP_KEYS`] are accepted by every provider; each provider
//! registers its own ([`Registry::register`](crate::Registry::register)).
//!
//! `connect` checks a configuration against these tables before a provider's factory runs
//! (an unknown key is reported naming the known ones, a value that cannot be read names its
//! key), `helpdesk config check` prints values by them (secrets redacted), and the tables in
//! the crate docs and the README are tested against them.

use std::fmt;

/// How a key's value is read (checked at `connect`, before the provider's factory runs), and
/// what the docs call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// Any text: a name, an id, a token.
    Text,
    /// A URL, read by whatever uses it (a base URL, a proxy, a Redis server).
    Url,
    /// A file path.
    Path,
    /// `true` or `false`.
    Bool,
    /// A whole number of milliseconds.
    Millis,
    /// A whole number: a count, a size in bytes.
    Count,
    /// One of these words, in any case, surrounding spaces ignored.
    OneOf(&'static [&'static str]),
    /// A rate: `N/s` or `N/min` (or `N`, a second), `N` a positive whole number.
    Rate,
}

impl ValueKind {
    /// Whether `text` can be read as this kind; the error says why not, never quoting the
    /// value (it may be a secret).
    pub fn check(&self, text: &str) -> Result<(), String> {
        let text = text.trim();
        match self {
            ValueKind::Text | ValueKind::Url | ValueKind::Path => Ok(()),
            ValueKind::Bool => text.parse::<bool>().map(drop).map_err(|e| e.to_string()),
            ValueKind::Millis | ValueKind::Count => {
                text.parse::<u64>().map(drop).map_err(|e| e.to_string())
            }
            ValueKind::Rate => text.parse::<ticket_http::Rate>().map(drop),
            ValueKind::OneOf(words) => {
                if words.iter().any(|w| w.eq_ignore_ascii_case(text)) {
                    Ok(())
                } else {
                    Err(format!("expected {}", or_list(words, false)))
                }
            }
        }
    }
}

impl fmt::Display for ValueKind {
    /// The name the docs use: `milliseconds`, `` `feishu` or `lark` ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueKind::Text => f.write_str("text"),
            ValueKind::Url => f.write_str("URL"),
            ValueKind::Path => f.write_str("path"),
            ValueKind::Bool => f.write_str("`true` or `false`"),
            ValueKind::Millis => f.write_str("milliseconds"),
            ValueKind::Count => f.write_str("whole number"),
            ValueKind::OneOf(words) => f.write_str(&or_list(words, true)),
            ValueKind::Rate => f.write_str("rate (`N/s`, `N/min`)"),
        }
    }
}

/// `a, b or c`, each word in backticks when `quoted`.
fn or_list(words: &[&str], quoted: bool) -> String {
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            if quoted {
                format!("`{w}`")
            } else {
                (*w).to_owned()
            }
        })
        .collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => words.concat(),
    }
}

/// One configuration key: its name (as in a TOML table; `TICKET_<PROVIDER>_<NAME>` upper
/// case in the environment), how its value is read, whether the value is a secret (never
/// printed), and a one-line doc.
///
/// ```
/// use helpdesk::{ConfigKey, ValueKind};
/// const KEYS: &[ConfigKey] = &[
///     ConfigKey::new("domain", ValueKind::Text, "your `<domain>.freshdesk.com`"),
///     ConfigKey::new("api_key", ValueKind::Text, "required: the API key").secret(),
/// ];
/// assert!(KEYS[1].secret && !KEYS[0].secret);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigKey {
    /// The key, `[a-z0-9_]+`.
    pub name: &'static str,
    /// How its value is read.
    pub value: ValueKind,
    /// Whether its value is a secret: tools that show a configuration redact it.
    pub secret: bool,
    /// What it does, in one line (Markdown).
    pub doc: &'static str,
    /// Whether its value names the app whose rate limit the server counts: the shared rate
    /// budget's keys name the app by the values of these keys (hashed when one is a secret),
    /// unless `rate_budget_name` is set.
    pub names_app: bool,
}

impl ConfigKey {
    /// A key whose value is not secret.
    pub const fn new(name: &'static str, value: ValueKind, doc: &'static str) -> Self {
        Self {
            name,
            value,
            secret: false,
            doc,
            names_app: false,
        }
    }

    /// The same key, its value a secret.
    #[must_use]
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// The same key, its value naming the app whose rate limit the server counts (see
    /// [`names_app`](Self::names_app)).
    #[must_use]
    pub const fn names_app(mut self) -> Self {
        self.names_app = true;
        self
    }
}

/// The keys every provider accepts: HTTP limits, the retry policy and the network, read by
/// [`Settings::http_options`](crate::Settings::http_options) (defaults:
/// [`HttpOptions::default`](crate::HttpOptions::default) and
/// [`RetryPolicy::default`](crate::RetryPolicy::default)).
pub const HTTP_KEYS: &[ConfigKey] = &[
    ConfigKey::new(
        "connect_timeout_ms",
        ValueKind::Millis,
        "limit on connecting (TCP and TLS), default 5000",
    ),
    ConfigKey::new(
        "request_timeout_ms",
        ValueKind::Millis,
        "limit on one attempt, default 15000 (below the retry budget)",
    ),
    ConfigKey::new(
        "max_response_bytes",
        ValueKind::Count,
        "larger responses are refused unread, default 1048576 (1 MiB)",
    ),
    ConfigKey::new(
        "max_retries",
        ValueKind::Count,
        "retries after the first attempt, default 3 (`0` turns retrying off)",
    ),
    ConfigKey::new(
        "retry_initial_backoff_ms",
        ValueKind::Millis,
        "the first backoff, doubling each retry, default 200",
    ),
    ConfigKey::new(
        "retry_max_backoff_ms",
        ValueKind::Millis,
        "the largest backoff, default 5000",
    ),
    ConfigKey::new(
        "retry_budget_ms",
        ValueKind::Millis,
        "no retry starts later than this after the first attempt, default 30000",
    ),
    ConfigKey::new(
        "retry_jitter",
        ValueKind::Bool,
        "a random extra wait of up to one backoff, default `true`",
    ),
    ConfigKey::new(
        "retry_non_idempotent",
        ValueKind::Bool,
        "retry an update that is not idempotent (a Feishu comment) after an error it may have followed, default `false`",
    ),
    ConfigKey::new(
        "proxy",
        ValueKind::Url,
        "`http://` or `https://` proxy (`user:password@` allowed) for every non-loopback request, default from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`",
    )
    .secret(),
    ConfigKey::new(
        "no_proxy",
        ValueKind::Text,
        "hosts never proxied (`example.com`, `.corp`, `10.0.0.0/8`, `*`), default from `NO_PROXY`",
    ),
    ConfigKey::new(
        "ca_file",
        ValueKind::Path,
        "a PEM file of extra root certificates, trusted beside the platform's",
    ),
    ConfigKey::new(
        "pool_max_idle_per_host",
        ValueKind::Count,
        "idle keep-alive connections kept per host, default 16",
    ),
    ConfigKey::new(
        "pool_idle_timeout_ms",
        ValueKind::Millis,
        "how long an idle connection is kept, default 30000",
    ),
    ConfigKey::new(
        "rate_limit",
        ValueKind::Rate,
        "the rate budget of updates, for every client of this configuration (and, with `rate_budget = redis`, every replica); turns the budget on; default none",
    ),
    ConfigKey::new(
        "read_rate_limit",
        ValueKind::Rate,
        "the rate budget of reads; default the provider's documented read rate (Feishu 10/s) when the budget is on",
    ),
    ConfigKey::new(
        "rate_budget",
        ValueKind::OneOf(&["off", "local", "redis"]),
        "`local` (this process; the default when a rate is set), `redis` (shared by every replica, feature `redis`) or `off` (the default without a rate)",
    ),
    ConfigKey::new(
        "redis_url",
        ValueKind::Url,
        "the Redis server of `rate_budget = redis` and of Feishu's `token_store = redis`: `redis://[:password@]host[:port][/db]`",
    )
    .secret(),
    ConfigKey::new(
        "rate_budget_prefix",
        ValueKind::Text,
        "with `redis`: the budget's keys are `<prefix>:{<provider>:<app>}:update` (and `:get`, `:replicas`), default `ticket:rate`",
    ),
    ConfigKey::new(
        "rate_budget_name",
        ValueKind::Text,
        "with `redis`: the app's name in the budget's keys, default the provider's (Feishu `helpdesk_id`, EngageLab a hash of `api_key`)",
    ),
    ConfigKey::new(
        "rate_budget_replicas",
        ValueKind::Count,
        "with `redis`: the fewest replicas the fallback assumes while Redis cannot be reached (each keeps to the rate divided by the replicas last seen, at least this), default 1",
    ),
    ConfigKey::new(
        "rate_budget_timeout_ms",
        ValueKind::Millis,
        "with `redis`: the longest a request waits for Redis before it draws from its local share, default 500",
    ),
];

/// Why `keys` cannot be a provider's table: a name that is not `[a-z0-9_]+`, given twice, or
/// one of [`HTTP_KEYS`].
pub(crate) fn invalid_table(keys: &[ConfigKey]) -> Option<String> {
    for (i, key) in keys.iter().enumerate() {
        let valid = !key.name.is_empty()
            && key
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Some(format!("key name {:?} must match [a-z0-9_]+", key.name));
        }
        if keys[..i].iter().any(|k| k.name == key.name) {
            return Some(format!("key `{}` is declared twice", key.name));
        }
        if HTTP_KEYS.iter().any(|k| k.name == key.name) {
            return Some(format!(
                "key `{}` is one every provider accepts (HTTP_KEYS); do not declare it again",
                key.name
            ));
        }
    }
    None
}
