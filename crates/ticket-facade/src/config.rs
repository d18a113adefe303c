//! Configuration sources: environment variables, a TOML file, or a key-value map.

use std::collections::BTreeMap;
use std::fmt;
#[cfg(feature = "toml")]
use std::path::Path;
use std::sync::Arc;

use ticket_core::TicketError;
use ticket_http::AttemptHook;

/// The environment variable that names the provider.
pub const PROVIDER_VAR: &str = "TICKET_PROVIDER";

/// The prefix of every environment variable this crate reads.
pub const ENV_PREFIX: &str = "TICKET_";

/// Where a configuration came from; used to name a missing or unknown key the way the user
/// wrote it (`TICKET_FEISHU_HELPDESK_ID`, `[feishu] helpdesk_id in app.toml`, `feishu.helpdesk_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Env,
    #[cfg(feature = "toml")]
    Toml(String),
    Map,
}

/// Which provider to use and its settings, from one source. Values are kept as text and are
/// never printed: `Debug` shows the keys only.
///
/// - Environment: `TICKET_PROVIDER=feishu`, then `TICKET_<PROVIDER>_<KEY>` (upper case, `-`
///   as `_`), for example `TICKET_FEISHU_HELPDESK_ID`.
/// - TOML: `provider = "feishu"` and a `[feishu]` table of keys.
/// - Map: `provider` and `<provider>.<key>` entries.
///
/// Settings of other known providers are ignored (so one environment can hold several);
/// anything else that this crate does not read is an error at [`connect`](crate::connect).
#[derive(Clone)]
pub struct Config {
    pub(crate) provider: Option<String>,
    pub(crate) origin: Origin,
    /// Env: `(VARIABLE, value)` for every `TICKET_*` variable but `TICKET_PROVIDER`.
    pub(crate) env: Vec<(String, String)>,
    /// TOML and map: provider name → key → value.
    pub(crate) sections: BTreeMap<String, BTreeMap<String, String>>,
    /// TOML and map: keys outside any provider section (always an error).
    pub(crate) stray: Vec<String>,
    /// Set by code, not read from the source: every client built from this configuration
    /// gets it in its [`HttpOptions::attempt_hook`](ticket_http::HttpOptions::attempt_hook).
    pub(crate) attempt_hook: Option<Arc<dyn AttemptHook>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = match self.origin {
            Origin::Env => self.env.iter().map(|(k, _)| k.clone()).collect(),
            _ => self
                .sections
                .iter()
                .flat_map(|(p, keys)| keys.keys().map(move |k| format!("{p}.{k}")))
                .collect(),
        };
        f.debug_struct("Config")
            .field("provider", &self.provider)
            .field("origin", &self.origin)
            .field("keys", &keys)
            .field("attempt_hook", &self.attempt_hook)
            .finish_non_exhaustive()
    }
}

impl Config {
    fn empty(origin: Origin) -> Self {
        Self {
            provider: None,
            origin,
            env: Vec::new(),
            sections: BTreeMap::new(),
            stray: Vec::new(),
            attempt_hook: None,
        }
    }

    /// Reads `TICKET_*` variables from the process environment.
    pub fn from_env() -> Self {
        Self::from_env_vars(std::env::vars())
    }

    /// Reads `TICKET_*` variables from `vars` (for tests, or an environment you assembled).
    pub fn from_env_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut config = Self::empty(Origin::Env);
        for (name, value) in vars {
            let name = name.into();
            if name == PROVIDER_VAR {
                config.provider = Some(value.into());
            } else if name.starts_with(ENV_PREFIX) {
                config.env.push((name, value.into()));
            }
        }
        config.env.sort();
        config
    }

    #[cfg(feature = "toml")]
    /// Parses TOML text: `provider = "…"` and one table per provider.
    ///
    /// ```
    /// let config = helpdesk::Config::from_toml_str(r#"
    ///     provider = "engagelab"
    ///     [engagelab]
    ///     api_key = "key"
    ///     api_secret = "secret"
    /// "#)?;
    /// assert_eq!(config.provider(), Some("engagelab"));
    /// # Ok::<(), helpdesk::TicketError>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Self, TicketError> {
        Self::parse_toml(text, "the TOML configuration")
    }

    #[cfg(feature = "toml")]
    /// Reads and parses a TOML file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, TicketError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| TicketError::config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse_toml(&text, &path.display().to_string())
    }

    #[cfg(feature = "toml")]
    fn parse_toml(text: &str, name: &str) -> Result<Self, TicketError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            // toml's own text quotes the offending line, which may hold a secret: give the
            // position and the parser's short message only.
            let at = e.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {column}")
            });
            TicketError::config(format!(
                "{name} is not valid TOML{}: {}",
                at.unwrap_or_default(),
                e.message()
            ))
        })?;
        let mut config = Self::empty(Origin::Toml(name.to_owned()));
        for (key, value) in table {
            match (key.as_str(), value) {
                ("provider", toml::Value::String(p)) => config.provider = Some(p),
                ("provider", _) => {
                    return Err(TicketError::config(format!(
                        "`provider` in {name} must be a string"
                    )));
                }
                (_, toml::Value::Table(section)) => {
                    let entries = config.sections.entry(key.clone()).or_default();
                    for (k, v) in section {
                        let text = match v {
                            toml::Value::String(s) => s,
                            toml::Value::Integer(i) => i.to_string(),
                            toml::Value::Boolean(b) => b.to_string(),
                            toml::Value::Float(f) => f.to_string(),
                            _ => {
                                return Err(TicketError::config(format!(
                                    "`[{key}] {k}` in {name} must be a string, number or boolean"
                                )));
                            }
                        };
                        entries.insert(k, text);
                    }
                }
                (_, _) => config.stray.push(key),
            }
        }
        Ok(config)
    }

    /// Builds a configuration from `provider` and `<provider>.<key>` entries.
    ///
    /// ```
    /// let config = helpdesk::Config::from_map([
    ///     ("provider", "feishu"),
    ///     ("feishu.user_access_token", "u-token"),
    ///     ("feishu.helpdesk_id", "7012345"),
    ///     ("feishu.helpdesk_token", "ht-secret"),
    /// ]);
    /// assert_eq!(config.provider(), Some("feishu"));
    /// ```
    pub fn from_map<I, K, V>(entries: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut config = Self::empty(Origin::Map);
        for (key, value) in entries {
            let key = key.into();
            if key == "provider" {
                config.provider = Some(value.into());
                continue;
            }
            match key.split_once('.') {
                Some((section, k)) if !section.is_empty() && !k.is_empty() => {
                    config
                        .sections
                        .entry(section.to_owned())
                        .or_default()
                        .insert(k.to_owned(), value.into());
                }
                _ => config.stray.push(key),
            }
        }
        config
    }

    /// Chooses the provider, overriding what the source said.
    #[must_use]
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Calls `hook` around each attempt of every request the provider's client sends (a shared
    /// gate, a rate limiter or budget; see [`AttemptHook`]): [`Settings::http_options`] puts it
    /// in the client's [`HttpOptions`](ticket_http::HttpOptions). Not a key of any source: code
    /// sets it.
    ///
    /// [`Settings::http_options`]: crate::Settings::http_options
    #[must_use]
    pub fn with_attempt_hook(mut self, hook: Arc<dyn AttemptHook>) -> Self {
        self.attempt_hook = Some(hook);
        self
    }

    /// The provider named by the source, if any.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// How the user writes `key` of `provider` in this source.
    /// The keys set for `provider`, sorted, each as (key, value, where it was found: an
    /// environment variable, a TOML key or a map key). For tools that show a configuration:
    /// values may be secrets, so redact them before display.
    pub fn provider_entries(&self, provider: &str) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = match &self.origin {
            Origin::Env => {
                let prefix = env_var(provider, "");
                self.env
                    .iter()
                    .filter_map(|(var, value)| {
                        let key = var.strip_prefix(&prefix)?.to_ascii_lowercase();
                        Some((key, value.clone(), var.clone()))
                    })
                    .collect()
            }
            _ => self
                .sections
                .get(provider)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone(), self.describe(provider, k)))
                .collect(),
        };
        out.sort();
        out
    }

    /// Sets `key` of `provider`'s section, replacing any value already set (for tools whose
    /// flag replaces one setting, such as `helpdesk --max-retries`).
    pub fn set(&mut self, provider: &str, key: &str, value: impl Into<String>) {
        let value = value.into();
        match &self.origin {
            Origin::Env => {
                let var = env_var(provider, key);
                self.env.retain(|(name, _)| *name != var);
                self.env.push((var, value));
                self.env.sort();
            }
            _ => {
                self.sections
                    .entry(provider.to_owned())
                    .or_default()
                    .insert(key.to_owned(), value);
            }
        }
    }

    pub(crate) fn describe(&self, provider: &str, key: &str) -> String {
        match &self.origin {
            Origin::Env => env_var(provider, key),
            #[cfg(feature = "toml")]
            Origin::Toml(name) => format!("`[{provider}] {key}` in {name}"),
            Origin::Map => format!("`{provider}.{key}`"),
        }
    }

    /// How the user writes the provider selector in this source.
    pub(crate) fn describe_provider(&self) -> String {
        match &self.origin {
            Origin::Env => PROVIDER_VAR.to_owned(),
            #[cfg(feature = "toml")]
            Origin::Toml(name) => format!("`provider` in {name}"),
            Origin::Map => "`provider`".to_owned(),
        }
    }

    /// The settings of `provider`: its own entries; an error for any entry that belongs to
    /// no known provider. `known` lists every provider name this build knows of.
    pub(crate) fn section(
        &self,
        provider: &str,
        known: &[&str],
    ) -> Result<BTreeMap<String, String>, TicketError> {
        let mut unknown: Vec<String> = Vec::new();
        let mut mine = BTreeMap::new();
        match &self.origin {
            Origin::Env => {
                for (var, value) in &self.env {
                    // The longest provider prefix wins (`acme_eu` over `acme`).
                    let owner = known
                        .iter()
                        .copied()
                        .chain(std::iter::once(provider))
                        .filter(|p| var.starts_with(&env_var(p, "")))
                        .max_by_key(|p| p.len());
                    match owner {
                        Some(p) if p == provider => {
                            let key = var[env_var(p, "").len()..].to_ascii_lowercase();
                            mine.insert(key, value.clone());
                        }
                        Some(_) => {}
                        None => unknown.push(var.clone()),
                    }
                }
            }
            _ => {
                unknown.extend(self.stray.iter().cloned());
                for (section, entries) in &self.sections {
                    if section == provider {
                        mine = entries.clone();
                    } else if !known.contains(&section.as_str()) {
                        unknown.push(match &self.origin {
                            #[cfg(feature = "toml")]
                            Origin::Toml(name) => format!("[{section}] in {name}"),
                            _ => format!("{section}.*"),
                        });
                    }
                }
            }
        }
        if unknown.is_empty() {
            Ok(mine)
        } else {
            Err(TicketError::config(format!(
                "unknown configuration {}: {} (known providers: {})",
                if unknown.len() == 1 { "key" } else { "keys" },
                unknown.join(", "),
                known.join(", ")
            )))
        }
    }
}

/// `TICKET_<PROVIDER>_<KEY>`, upper case with `-` as `_`.
pub(crate) fn env_var(provider: &str, key: &str) -> String {
    format!("{ENV_PREFIX}{}_{}", provider, key)
        .to_ascii_uppercase()
        .replace('-', "_")
}
