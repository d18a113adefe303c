//! The provider registry: names → factories, and `connect`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use secrecy::SecretString;
use ticket_core::{TicketError, TicketUpdater};
use ticket_http::{HttpOptions, RetryPolicy};

use crate::Config;

/// Builds a provider from its [`Settings`].
pub type Factory =
    Arc<dyn Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync>;

/// Built-in providers and the feature that compiles each in.
pub const BUILTIN: &[(&str, &str)] = &[("engagelab", "engagelab"), ("feishu", "feishu")];

/// One provider's settings, handed to its factory. Every key the factory reads is marked
/// used; after the factory returns, any key it did not read is an error, so a typo never
/// goes unnoticed. Values are never printed.
pub struct Settings {
    provider: String,
    values: BTreeMap<String, String>,
    read: BTreeSet<String>,
    config: Config,
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
    /// The provider these settings are for.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The value of `key`, or `None`.
    pub fn optional(&mut self, key: &str) -> Option<String> {
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

    /// The HTTP limits and retry policy every provider accepts: `connect_timeout_ms`,
    /// `request_timeout_ms`, `max_response_bytes`, `max_retries` (`0` turns retries off),
    /// `retry_initial_backoff_ms`, `retry_max_backoff_ms`, `retry_budget_ms`, `retry_jitter`,
    /// `retry_non_idempotent`, and the network keys `proxy`, `no_proxy`, `ca_file`,
    /// `pool_max_idle_per_host`, `pool_idle_timeout_ms`
    /// (defaults: [`HttpOptions::default`] and [`RetryPolicy::default`]). Values that cannot
    /// work (a zero timeout or cap, a retry budget shorter than one attempt, …) are a
    /// configuration error naming the key ([`HttpOptions::invalid_setting`]).
    pub fn http_options(&mut self) -> Result<HttpOptions, TicketError> {
        let mut options = HttpOptions::default();
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

    fn unread(&self) -> Vec<String> {
        self.values
            .keys()
            .filter(|k| !self.read.contains(*k))
            .map(|k| self.describe(k))
            .collect()
    }
}

/// Provider names and their factories.
///
/// [`Registry::with_builtins`] holds the providers this build's features enable; add your own
/// with [`Registry::register`]. The process-wide registry behind [`connect`] and [`register`]
/// starts as `with_builtins()`.
#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<String, Factory>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("providers", &self.names())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry of the built-in providers compiled in by features.
    pub fn with_builtins() -> Self {
        let mut registry = Self::new();
        crate::builtin::register_all(&mut registry);
        registry
    }

    /// Adds a provider. The name must match `[a-z0-9_-]+` and not be taken already (use
    /// [`replace`](Self::replace) to register again).
    pub fn register<F>(&mut self, name: &str, factory: F) -> Result<(), TicketError>
    where
        F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
    {
        check_name(name)?;
        if self.factories.contains_key(name) {
            return Err(TicketError::config(format!(
                "provider `{name}` is already registered; use `replace` to register it again"
            )));
        }
        self.factories.insert(name.to_owned(), Arc::new(factory));
        Ok(())
    }

    /// Adds a provider, or replaces the factory registered under `name`: safe to call more
    /// than once (tests, plug-ins loaded twice). Returns whether a factory was replaced.
    pub fn replace<F>(&mut self, name: &str, factory: F) -> Result<bool, TicketError>
    where
        F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
    {
        check_name(name)?;
        Ok(self
            .factories
            .insert(name.to_owned(), Arc::new(factory))
            .is_some())
    }

    /// The registered provider names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Builds the provider `config` names.
    ///
    /// Fails with a configuration error when: no provider is named (naming where to set
    /// it); the name is unknown (listing the available ones); the provider is built in but
    /// its feature is off (naming the feature); a setting is missing (naming the variable or
    /// key to set); or a setting is present that nothing reads.
    pub fn connect(&self, config: &Config) -> Result<Arc<dyn TicketUpdater>, TicketError> {
        let available = self.names().join(", ");
        // Registered names are lower case: `Feishu` or ` feishu ` select `feishu`.
        let chosen = config.provider().map(|p| p.trim().to_ascii_lowercase());
        let Some(name) = chosen.as_deref().filter(|p| !p.is_empty()) else {
            return Err(TicketError::config(format!(
                "no provider chosen: set {} to one of: {available}",
                config.describe_provider()
            )));
        };
        let Some(factory) = self.factories.get(name) else {
            if let Some((_, feature)) = BUILTIN.iter().find(|(n, _)| *n == name) {
                return Err(TicketError::config(format!(
                    "provider `{name}` is not compiled in: enable the `{feature}` feature of ticket-facade (available: {available})"
                )));
            }
            return Err(TicketError::config(format!(
                "unknown provider `{name}`; available: {available}"
            )));
        };
        let mut known: Vec<&str> = self.names();
        known.extend(BUILTIN.iter().map(|(n, _)| *n));
        known.sort_unstable();
        known.dedup();
        let mut settings = Settings {
            provider: name.to_owned(),
            values: config.section(name, &known)?,
            read: BTreeSet::new(),
            config: config.clone(),
        };
        let updater = factory(&mut settings)?;
        let unread = settings.unread();
        if !unread.is_empty() {
            let mut read: Vec<String> =
                settings.read.iter().map(|k| settings.describe(k)).collect();
            read.sort();
            return Err(TicketError::config(format!(
                "unknown configuration {} for provider `{name}`: {} (known: {})",
                if unread.len() == 1 { "key" } else { "keys" },
                unread.join(", "),
                read.join(", ")
            )));
        }
        Ok(updater)
    }
}

fn check_name(name: &str) -> Result<(), TicketError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(TicketError::config(format!(
            "provider name {name:?} must match [a-z0-9_-]+"
        )))
    }
}

fn global() -> &'static RwLock<Registry> {
    static GLOBAL: OnceLock<RwLock<Registry>> = OnceLock::new();
    GLOBAL.get_or_init(|| RwLock::new(Registry::with_builtins()))
}

/// Adds a provider to the process-wide registry used by [`connect`]: the one call a
/// downstream crate makes to plug its helpdesk in.
pub fn register<F>(name: &str, factory: F) -> Result<(), TicketError>
where
    F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
{
    global()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .register(name, factory)
}

/// Adds or replaces a provider in the process-wide registry (see [`Registry::replace`]).
pub fn replace<F>(name: &str, factory: F) -> Result<bool, TicketError>
where
    F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
{
    global()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .replace(name, factory)
}

/// The provider names in the process-wide registry.
pub fn providers() -> Vec<String> {
    global()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Builds the provider `config` names from the process-wide registry. See
/// [`Registry::connect`] for the errors.
pub fn connect(config: &Config) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    global()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .connect(config)
}
