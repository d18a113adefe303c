//! A provider's settings as its factory reads them: typed getters that mark each key used,
//! the HTTP options and rate budget every provider shares, and the checks that no key set is
//! unknown, undeclared or unread.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use ticket_core::TicketError;
use ticket_http::{HttpOptions, Rate, RateBudget, RetryPolicy};

use crate::Config;
use crate::keys::{ConfigKey, HTTP_KEYS};

/// One provider's settings, handed to its factory. Before the factory runs, every key set
/// has been checked against the provider's table and [`HTTP_KEYS`] (unknown keys and values
/// that cannot be read are errors naming them). Every key the factory reads is marked used;
/// after it returns, a key set but not read is an error (it would have no effect), and so is
/// a key read that the provider did not declare. Values are never printed.
pub struct Settings {
    provider: String,
    keys: &'static [ConfigKey],
    values: BTreeMap<String, String>,
    read: BTreeSet<String>,
    undeclared: BTreeSet<String>,
    config: Config,
    /// The rate budget, once built (`None` inside: off).
    budget: Option<Option<Arc<RateBudget>>>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("provider", &self.provider)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The settings of provider `provider` (its declared `keys`), holding the `values` set
    /// in its section of `config`.
    pub(crate) fn new(
        provider: &str,
        keys: &'static [ConfigKey],
        values: BTreeMap<String, String>,
        config: &Config,
    ) -> Self {
        Self {
            provider: provider.to_owned(),
            keys,
            values,
            read: BTreeSet::new(),
            undeclared: BTreeSet::new(),
            config: config.clone(),
            budget: None,
        }
    }

    /// The rate budget the factory built (through [`Settings::http_options`]), if any.
    pub(crate) fn take_budget(&mut self) -> Option<Arc<RateBudget>> {
        self.budget.take().flatten()
    }

    /// The provider these settings are for.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The value of `key`, or `None`. `key` must be in the provider's table or
    /// [`HTTP_KEYS`]: reading any other is reported by `connect` as a bug of the provider.
    pub fn optional(&mut self, key: &str) -> Option<String> {
        if declared(self.keys, key).is_none() {
            self.undeclared.insert(key.to_owned());
        }
        self.read.insert(key.to_owned());
        self.values.get(key).cloned()
    }

    /// The value of `key`; if missing or empty, a configuration error naming what to set
    /// (`set TICKET_FEISHU_HELPDESK_ID`).
    pub fn required(&mut self, key: &str) -> Result<String, TicketError> {
        match self.optional(key) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(TicketError::config(format!(
                "missing {} for provider `{}`: set {}",
                key,
                self.provider,
                self.describe(key)
            ))),
        }
    }

    /// The secret value of `key` (a token, a password), held as a [`SecretString`] that never
    /// prints; if missing or empty, the same error as [`required`](Self::required).
    pub fn required_secret(&mut self, key: &str) -> Result<SecretString, TicketError> {
        self.required(key).map(SecretString::from)
    }

    /// The secret value of `key`, or `None`.
    pub fn optional_secret(&mut self, key: &str) -> Option<SecretString> {
        self.optional(key).map(SecretString::from)
    }

    /// The value of `key` parsed as `T`, or `None`; a parse failure names the key.
    pub fn parse<T>(&mut self, key: &str) -> Result<Option<T>, TicketError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.optional(key)
            .map(|text| {
                text.trim().parse::<T>().map_err(|e| {
                    TicketError::config(format!("{} is invalid: {e}", self.describe(key)))
                })
            })
            .transpose()
    }

    /// A duration given in whole milliseconds.
    pub fn millis(&mut self, key: &str) -> Result<Option<Duration>, TicketError> {
        Ok(self.parse::<u64>(key)?.map(Duration::from_millis))
    }

    /// How the user writes `key` in the configuration's source.
    pub fn describe(&self, key: &str) -> String {
        self.config.describe(&self.provider, key)
    }

    /// The HTTP limits, retry policy and network every provider accepts: the keys of
    /// [`HTTP_KEYS`] (defaults: [`HttpOptions::default`] and [`RetryPolicy::default`]; a test
    /// sets every one and checks where it lands), and the attempt hook of
    /// [`Config::with_attempt_hook`]. Values that cannot
    /// work (a zero timeout or cap, a retry budget shorter than one attempt, …) are a
    /// configuration error naming the key ([`HttpOptions::invalid_setting`]).
    pub fn http_options(&mut self) -> Result<HttpOptions, TicketError> {
        let mut options = HttpOptions::default();
        // The budget first, then the caller's hook: the caller's runs after every wait, just
        // before the request leaves (a journal's write-ahead).
        if let Some(budget) = self.rate_budget()? {
            options.attempt_hook = Some(budget);
        }
        if let Some(hook) = self.config.attempt_hook.clone() {
            options = options.add_attempt_hook(hook);
        }
        let mut retry = RetryPolicy::default();
        if let Some(n) = self.parse::<u32>("max_retries")? {
            retry = retry.max_retries(n);
        }
        if let Some(d) = self.millis("retry_initial_backoff_ms")? {
            retry = retry.initial_backoff(d);
        }
        if let Some(d) = self.millis("retry_max_backoff_ms")? {
            retry = retry.max_backoff(d);
        }
        if let Some(d) = self.millis("retry_budget_ms")? {
            retry = retry.budget(d);
        }
        if let Some(on) = self.parse::<bool>("retry_jitter")? {
            retry = retry.jitter(on);
        }
        if let Some(on) = self.parse::<bool>("retry_non_idempotent")? {
            retry = retry.retry_non_idempotent(on);
        }
        options = options.retry(retry);
        if let Some(t) = self.millis("connect_timeout_ms")? {
            options = options.connect_timeout(t);
        }
        if let Some(t) = self.millis("request_timeout_ms")? {
            options = options.request_timeout(t);
        }
        if let Some(n) = self.parse::<usize>("max_response_bytes")? {
            options = options.max_response_bytes(n);
        }
        if let Some(url) = self.optional("proxy") {
            options = options.proxy(url);
        }
        if let Some(hosts) = self.optional("no_proxy") {
            options = options.no_proxy(hosts);
        }
        if let Some(path) = self.optional("ca_file") {
            options = options.ca_file(path);
        }
        if let Some(n) = self.parse::<usize>("pool_max_idle_per_host")? {
            options = options.pool_max_idle_per_host(n);
        }
        if let Some(t) = self.millis("pool_idle_timeout_ms")? {
            options = options.pool_idle_timeout(t);
        }
        // Refused now, naming the key as the user wrote it, rather than failing later.
        if let Some((key, why)) = options.invalid_setting() {
            return Err(TicketError::config(format!("{} {why}", self.describe(key))));
        }
        Ok(options)
    }

    /// The rate budget of these settings, built once (so every client the factory builds
    /// shares it), or `None` when it is off: the keys `rate_limit` (updates),
    /// `read_rate_limit` (reads), `rate_budget` (`local`, the default when a rate is set;
    /// `redis`; `off`, the default without), and with `redis`: `redis_url`,
    /// `rate_budget_prefix`, `rate_budget_name`, `rate_budget_replicas`,
    /// `rate_budget_timeout_ms`. [`http_options`](Self::http_options) sets it as the client's
    /// attempt hook.
    pub fn rate_budget(&mut self) -> Result<Option<Arc<RateBudget>>, TicketError> {
        if let Some(built) = &self.budget {
            return Ok(built.clone());
        }
        let built = self.build_budget()?.map(Arc::new);
        self.budget = Some(built.clone());
        Ok(built)
    }

    fn build_budget(&mut self) -> Result<Option<RateBudget>, TicketError> {
        let update = self.parse::<Rate>("rate_limit")?;
        let read = self.parse::<Rate>("read_rate_limit")?;
        let kind = self
            .optional("rate_budget")
            .map(|k| k.trim().to_ascii_lowercase());
        let provider = self.provider.clone();
        match kind.as_deref() {
            None if update.is_none() && read.is_none() => Ok(None),
            None | Some("local") => Ok(Some(RateBudget::local(provider, update, read))),
            Some("off") if update.is_some() || read.is_some() => Err(TicketError::config(format!(
                "{} = off, but a rate is set ({} or {}): remove it, or choose `local` or `redis`",
                self.describe("rate_budget"),
                self.describe("rate_limit"),
                self.describe("read_rate_limit")
            ))),
            Some("off") => Ok(None),
            Some("redis") => self.redis_budget(update, read).map(Some),
            Some(other) => Err(TicketError::config(format!(
                "unknown {} {other:?}; expected off, local or redis",
                self.describe("rate_budget")
            ))),
        }
    }

    #[cfg(feature = "redis")]
    fn redis_budget(
        &mut self,
        update: Option<Rate>,
        read: Option<Rate>,
    ) -> Result<RateBudget, TicketError> {
        let url = self.required("redis_url")?;
        let prefix = self
            .optional("rate_budget_prefix")
            .unwrap_or_else(|| "ticket:rate".to_owned());
        let app = match self.optional("rate_budget_name") {
            Some(name) => name.trim().to_owned(),
            None => self.app_name(),
        };
        let mut shared = ticket_http::RedisBudget::new(&url, prefix.trim(), &self.provider, &app)?;
        if let Some(n) = self.parse::<u32>("rate_budget_replicas")? {
            shared = shared.replicas_hint(n);
        }
        if let Some(t) = self.millis("rate_budget_timeout_ms")? {
            shared = shared.timeout(t);
        }
        Ok(RateBudget::shared(
            self.provider.clone(),
            update,
            read,
            shared,
        ))
    }

    #[cfg(not(feature = "redis"))]
    fn redis_budget(
        &mut self,
        _update: Option<Rate>,
        _read: Option<Rate>,
    ) -> Result<RateBudget, TicketError> {
        Err(TicketError::config(format!(
            "{} = redis needs the `redis` feature of helpdesk",
            self.describe("rate_budget")
        )))
    }

    /// The app's name in the shared budget's keys: the values of the provider's keys that
    /// name the app ([`ConfigKey::names_app`]), hashed when one is a secret; `default` when
    /// it marks none.
    #[cfg(feature = "redis")]
    fn app_name(&self) -> String {
        let marked: Vec<&ConfigKey> = self.keys.iter().filter(|k| k.names_app).collect();
        let values: Vec<&str> = marked
            .iter()
            .filter_map(|k| self.values.get(k.name).map(|v| v.trim()))
            .collect();
        if values.is_empty() {
            return "default".to_owned();
        }
        let secret = marked.iter().any(|k| k.secret);
        ticket_http::app_name(&values.join(","), secret)
    }

    /// Before the factory runs: every key set is declared, and its value can be read.
    pub(crate) fn check_keys(&self) -> Result<(), TicketError> {
        let unknown: Vec<String> = self
            .values
            .keys()
            .filter(|k| declared(self.keys, k).is_none())
            .map(|k| self.describe(k))
            .collect();
        if !unknown.is_empty() {
            let list = |keys: &[ConfigKey]| {
                let names: Vec<String> = keys.iter().map(|k| self.describe(k.name)).collect();
                names.join(", ")
            };
            let own = if self.keys.is_empty() {
                String::new()
            } else {
                format!("{}; and ", list(self.keys))
            };
            return Err(TicketError::config(format!(
                "unknown configuration {} for provider `{}`: {} (known: {own}for every provider: {})",
                if unknown.len() == 1 { "key" } else { "keys" },
                self.provider,
                unknown.join(", "),
                list(HTTP_KEYS),
            )));
        }
        for (name, value) in &self.values {
            if let Some(key) = declared(self.keys, name)
                && let Err(why) = key.value.check(value)
            {
                return Err(TicketError::config(format!(
                    "{} is invalid: {why}",
                    self.describe(name)
                )));
            }
        }
        Ok(())
    }

    /// After the factory ran: keys it read without declaring them (a bug of the provider).
    pub(crate) fn check_undeclared(&self) -> Result<(), TicketError> {
        if self.undeclared.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.undeclared.iter().map(String::as_str).collect();
        Err(TicketError::config(format!(
            "provider `{}` reads configuration {} it does not declare: {}; add {} to the keys it registers with",
            self.provider,
            if names.len() == 1 { "key" } else { "keys" },
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" },
        )))
    }

    /// After the factory succeeded: keys set that it did not read, which would have no effect.
    pub(crate) fn check_unread(&self) -> Result<(), TicketError> {
        let unread: Vec<String> = self
            .values
            .keys()
            .filter(|k| !self.read.contains(*k))
            .map(|k| self.describe(k))
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        Err(TicketError::config(format!(
            "configuration {} set but not used by provider `{}` with these settings, so {} no effect: {}",
            if unread.len() == 1 { "key" } else { "keys" },
            self.provider,
            if unread.len() == 1 {
                "it has"
            } else {
                "they have"
            },
            unread.join(", ")
        )))
    }
}

/// `name` in the provider's table `keys` or in [`HTTP_KEYS`].
fn declared(keys: &'static [ConfigKey], name: &str) -> Option<&'static ConfigKey> {
    keys.iter().chain(HTTP_KEYS).find(|k| k.name == name)
}
