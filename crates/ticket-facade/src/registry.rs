//! The provider registry: names → factories, and `connect`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use ticket_core::{TicketError, TicketUpdater};
use ticket_http::{Rate, RateBudget};

use crate::Config;
use crate::keys::ConfigKey;
use crate::settings::Settings;

/// Builds a provider from its [`Settings`].
pub type Factory =
    Arc<dyn Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync>;

/// Built-in providers and the feature that compiles each in.
pub const BUILTIN: &[(&str, &str)] = &[("engagelab", "engagelab"), ("feishu", "feishu")];

/// Provider names and their factories.
///
/// [`Registry::with_builtins`] holds the providers this build's features enable; add your own
/// with [`Registry::register`]. The process-wide registry behind [`connect`] and [`register`]
/// starts as `with_builtins()`.
#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<String, Provider>,
}

/// A registered provider: its keys and its factory.
#[derive(Clone)]
struct Provider {
    keys: &'static [ConfigKey],
    factory: Factory,
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

    /// Adds a provider: its name, the configuration keys its factory reads (beside
    /// [`HTTP_KEYS`](crate::HTTP_KEYS), which every provider accepts), and its factory. The name must match
    /// `[a-z0-9_-]+` and not be taken already (use [`replace`](Self::replace) to register
    /// again); key names must match `[a-z0-9_]+`, once each, none of them in [`HTTP_KEYS`](crate::HTTP_KEYS).
    pub fn register<F>(
        &mut self,
        name: &str,
        keys: &'static [ConfigKey],
        factory: F,
    ) -> Result<(), TicketError>
    where
        F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
    {
        check_name(name, keys)?;
        if self.providers.contains_key(name) {
            return Err(TicketError::config(format!(
                "provider `{name}` is already registered; use `replace` to register it again"
            )));
        }
        self.replace(name, keys, factory).map(drop)
    }

    /// Adds a provider, or replaces the one registered under `name` (see
    /// [`register`](Self::register)): safe to call more than once (tests, plug-ins loaded
    /// twice). Returns whether a provider was replaced.
    pub fn replace<F>(
        &mut self,
        name: &str,
        keys: &'static [ConfigKey],
        factory: F,
    ) -> Result<bool, TicketError>
    where
        F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
    {
        check_name(name, keys)?;
        let provider = Provider {
            keys,
            factory: Arc::new(factory),
        };
        Ok(self.providers.insert(name.to_owned(), provider).is_some())
    }

    /// The configuration keys of provider `name` (without [`HTTP_KEYS`](crate::HTTP_KEYS), which every provider
    /// accepts), or `None` when it is not registered.
    pub fn keys(&self, name: &str) -> Option<&'static [ConfigKey]> {
        self.providers.get(name).map(|p| p.keys)
    }

    /// The registered provider names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.providers.keys().map(String::as_str).collect()
    }

    /// Builds the provider `config` names.
    ///
    /// Fails with a configuration error when: no provider is named (naming where to set
    /// it); the name is unknown (listing the available ones); the provider is built in but
    /// its feature is off (naming the feature); a key is set that is in neither the
    /// provider's table nor [`HTTP_KEYS`](crate::HTTP_KEYS) (naming it and the known ones, before the factory
    /// runs); a value cannot be read as its key's [`ValueKind`](crate::ValueKind); a setting
    /// is missing (naming the variable or key to set); or a key is set that has no effect.
    pub fn connect(&self, config: &Config) -> Result<Arc<dyn TicketUpdater>, TicketError> {
        self.connect_budgeted(config).map(|c| c.updater)
    }

    /// [`connect`](Self::connect), also returning the rate budget its clients share, if the
    /// configuration turns one on (for a caller that reports its state, as `helpdesk` does).
    /// A budget without a configured read rate takes the provider's documented one
    /// ([`Capabilities::read_rate`](ticket_core::Capabilities::read_rate)).
    pub fn connect_budgeted(&self, config: &Config) -> Result<Connected, TicketError> {
        let available = self.names().join(", ");
        // Registered names are lower case: `Feishu` or ` feishu ` select `feishu`.
        let chosen = config.provider().map(|p| p.trim().to_ascii_lowercase());
        let Some(name) = chosen.as_deref().filter(|p| !p.is_empty()) else {
            return Err(TicketError::config(format!(
                "no provider chosen: set {} to one of: {available}",
                config.describe_provider()
            )));
        };
        let Some(provider) = self.providers.get(name) else {
            if let Some((_, feature)) = BUILTIN.iter().find(|(n, _)| *n == name) {
                return Err(TicketError::config(format!(
                    "provider `{name}` is not compiled in: enable the `{feature}` feature of helpdesk (available: {available})"
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
        let mut settings =
            Settings::new(name, provider.keys, config.section(name, &known)?, config);
        settings.check_keys()?;
        let updater = (provider.factory)(&mut settings);
        settings.check_undeclared()?;
        let updater = updater?;
        settings.check_unread()?;
        let budget = settings.take_budget();
        if let (Some(budget), Some(rate)) = (&budget, updater.capabilities().read_rate) {
            budget.default_read_rate(Rate::per_second(rate));
        }
        Ok(Connected { updater, budget })
    }
}

/// What [`Registry::connect_budgeted`] built: the client, and the rate budget it shares with
/// every other client of the configuration, if one is on.
#[derive(Clone)]
#[non_exhaustive]
pub struct Connected {
    /// The client.
    pub updater: Arc<dyn TicketUpdater>,
    /// The rate budget (keys `rate_limit`, `rate_budget`, …), if on.
    pub budget: Option<Arc<RateBudget>>,
}

impl fmt::Debug for Connected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected")
            .field("provider", &self.updater.provider())
            .field("budget", &self.budget)
            .finish()
    }
}

fn check_name(name: &str, keys: &[ConfigKey]) -> Result<(), TicketError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(TicketError::config(format!(
            "provider name {name:?} must match [a-z0-9_-]+"
        )));
    }
    match crate::keys::invalid_table(keys) {
        Some(why) => Err(TicketError::config(format!("provider `{name}`: {why}"))),
        None => Ok(()),
    }
}

fn global() -> &'static RwLock<Registry> {
    static GLOBAL: OnceLock<RwLock<Registry>> = OnceLock::new();
    GLOBAL.get_or_init(|| RwLock::new(Registry::with_builtins()))
}

/// Adds a provider to the process-wide registry used by [`connect`]: the one call a
/// downstream crate makes to plug its helpdesk in (see [`Registry::register`]).
pub fn register<F>(name: &str, keys: &'static [ConfigKey], factory: F) -> Result<(), TicketError>
where
    F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
{
    global()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .register(name, keys, factory)
}

/// Adds or replaces a provider in the process-wide registry (see [`Registry::replace`]).
pub fn replace<F>(name: &str, keys: &'static [ConfigKey], factory: F) -> Result<bool, TicketError>
where
    F: Fn(&mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync + 'static,
{
    global()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .replace(name, keys, factory)
}

/// The configuration keys of provider `name` in the process-wide registry (without
/// [`HTTP_KEYS`](crate::HTTP_KEYS)), or `None` when it is not registered.
pub fn provider_keys(name: &str) -> Option<&'static [ConfigKey]> {
    global()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .keys(name)
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

/// [`connect`], also returning the rate budget (see [`Registry::connect_budgeted`]).
pub fn connect_budgeted(config: &Config) -> Result<Connected, TicketError> {
    global()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .connect_budgeted(config)
}
