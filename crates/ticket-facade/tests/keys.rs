//! The configuration keys are one table: the crate docs and the README are checked against
//! it, `connect` checks a configuration against it before a provider's factory runs, and
//! `Settings::http_options` reads exactly `HTTP_KEYS`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use helpdesk::kit::async_trait;
use helpdesk::{
    Capabilities, Config, ConfigKey, ErrorKind, FieldSet, HTTP_KEYS, HttpOptions, Registry,
    RequestPreview, RetryPolicy, Settings, TicketError, TicketId, TicketUpdate, TicketUpdater,
    UpdateReceipt, ValueKind,
};

#[cfg(all(feature = "engagelab", feature = "feishu"))]
/// The rows of the crate docs' table, from the key tables: the built-in providers in name
/// order, then the keys every provider accepts.
fn doc_table() -> String {
    let registry = Registry::with_builtins();
    let mut rows = vec![
        "| provider | key | value | secret | meaning |".to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    let row = |provider: &str, key: &ConfigKey| {
        format!(
            "| {provider} | `{}` | {} | {} | {} |",
            key.name,
            key.value,
            if key.secret { "yes" } else { "no" },
            key.doc
        )
    };
    for name in registry.names() {
        for key in registry.keys(name).unwrap() {
            rows.push(row(&format!("`{name}`"), key));
        }
    }
    for key in HTTP_KEYS {
        rows.push(row("every provider", key));
    }
    rows.join("\n")
}

#[cfg(all(feature = "engagelab", feature = "feishu"))]
#[test]
fn the_crate_docs_table_is_the_key_table() {
    let source = include_str!("../src/lib.rs");
    let documented: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter(|l| l.starts_with('|'))
        .collect();
    let expected = doc_table();
    assert_eq!(
        documented.join("\n"),
        expected,
        "the table under `# Configuration keys` in crates/ticket-facade/src/lib.rs drifted from \
         the key tables; replace it with:\n{}",
        expected
            .lines()
            .map(|l| format!("//! {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[cfg(all(feature = "engagelab", feature = "feishu"))]
/// The keys the README's `## Configuration` table lists, as (provider or `None` for every
/// provider, key), with each row's three spellings checked against one another.
fn readme_keys() -> Vec<(Option<String>, String)> {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("a `## Configuration` section");
    let section = section.split("\n## ").next().unwrap();
    let mut keys = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `TICKET_")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let [env, toml, map, _meaning] = cells[..] else {
            panic!("a row of four cells: {line}");
        };
        if env == "`TICKET_PROVIDER`" {
            continue;
        }
        let map = map.trim_matches('`');
        let (provider, key) = map.split_once('.').expect(map);
        let provider = (provider != "<p>").then(|| provider.to_owned());
        let upper = provider.as_deref().unwrap_or("<P>").to_ascii_uppercase();
        assert_eq!(
            env,
            format!("`TICKET_{upper}_{}`", key.to_ascii_uppercase()),
            "{line}"
        );
        let table = match &provider {
            Some(p) => format!("`[{p}] {key}`"),
            None => format!("`{key}`"),
        };
        assert_eq!(toml, table, "{line}");
        keys.push((provider, key.to_owned()));
    }
    keys
}

#[cfg(all(feature = "engagelab", feature = "feishu"))]
#[test]
fn the_readme_configuration_table_lists_every_key_and_no_other() {
    let registry = Registry::with_builtins();
    let mut expected: Vec<(Option<String>, String)> = HTTP_KEYS
        .iter()
        .map(|k| (None, k.name.to_owned()))
        .collect();
    for name in registry.names() {
        for key in registry.keys(name).unwrap() {
            expected.push((Some(name.to_owned()), key.name.to_owned()));
        }
    }
    let mut listed = readme_keys();
    expected.sort();
    listed.sort();
    let missing: Vec<_> = expected.iter().filter(|k| !listed.contains(k)).collect();
    let stale: Vec<_> = listed.iter().filter(|k| !expected.contains(k)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "README.md's configuration table: missing {missing:?}, not in the key tables {stale:?}"
    );
    assert_eq!(listed, expected, "a key listed twice");
}

/// A third-party provider that counts its factory's runs; it refuses a configuration with
/// neither `domain` nor `base_url` in its own words.
struct Freshdesk;

const FRESHDESK_KEYS: &[ConfigKey] = &[
    ConfigKey::new("domain", ValueKind::Text, "your `<domain>.freshdesk.com`"),
    ConfigKey::new("base_url", ValueKind::Url, "instead of `domain`"),
    ConfigKey::new("api_key", ValueKind::Text, "required: the API key").secret(),
];

#[async_trait]
impl TicketUpdater for Freshdesk {
    fn provider(&self) -> &str {
        "freshdesk"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(FieldSet::EMPTY)
    }
    fn preview(&self, _: &TicketId, _: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        Err(TicketError::config("not for this test"))
    }
    async fn update(&self, _: &TicketId, _: &TicketUpdate) -> Result<UpdateReceipt, TicketError> {
        Err(TicketError::config("not for this test"))
    }
}

fn freshdesk_registry(runs: &Arc<AtomicUsize>) -> Registry {
    let mut registry = Registry::with_builtins();
    let runs = Arc::clone(runs);
    registry
        .register("freshdesk", FRESHDESK_KEYS, move |s: &mut Settings| {
            runs.fetch_add(1, Ordering::SeqCst);
            let _key = s.required_secret("api_key")?;
            if s.optional("domain").is_none() && s.optional("base_url").is_none() {
                return Err(TicketError::config("set domain or base_url"));
            }
            Ok(Arc::new(Freshdesk) as Arc<dyn TicketUpdater>)
        })
        .unwrap();
    registry
}

fn config_error(result: Result<Arc<dyn TicketUpdater>, TicketError>) -> String {
    let err = result.map(|u| u.provider().to_owned()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    err.to_string()
}

#[test]
fn a_typo_is_an_unknown_key_before_the_factory_runs() {
    let runs = Arc::new(AtomicUsize::new(0));
    let registry = freshdesk_registry(&runs);
    assert_eq!(registry.keys("freshdesk"), Some(FRESHDESK_KEYS));

    let map = Config::from_map([
        ("provider", "freshdesk"),
        ("freshdesk.api_key", "k-secret"),
        ("freshdesk.domian", "acme"),
    ]);
    let text = config_error(registry.connect(&map));
    assert!(
        text.starts_with("configuration error: unknown configuration key for provider `freshdesk`: `freshdesk.domian` (known: `freshdesk.domain`, `freshdesk.base_url`, `freshdesk.api_key`; and for every provider: `freshdesk.connect_timeout_ms`,"),
        "{text}"
    );
    assert!(
        !text.contains("k-secret") && !text.contains("acme"),
        "{text}"
    );
    let env = Config::from_env_vars([
        ("TICKET_PROVIDER", "freshdesk"),
        ("TICKET_FRESHDESK_API_KEY", "k"),
        ("TICKET_FRESHDESK_DOMIAN", "acme"),
    ]);
    let text = config_error(registry.connect(&env));
    assert!(
        text.contains(": TICKET_FRESHDESK_DOMIAN (known: TICKET_FRESHDESK_DOMAIN,"),
        "{text}"
    );
    #[cfg(feature = "toml")]
    {
        let toml = Config::from_toml_str(
            "provider = \"freshdesk\"\n[freshdesk]\napi_key = \"k\"\ndomian = \"acme\"\n",
        )
        .unwrap();
        let text = config_error(registry.connect(&toml));
        assert!(
            text.contains("`[freshdesk] domian` in the TOML configuration (known: `[freshdesk] domain` in the TOML configuration"),
            "{text}"
        );
    }
    // A value that cannot be read names its key, also before the factory.
    let map = Config::from_map([
        ("provider", "freshdesk"),
        ("freshdesk.api_key", "k"),
        ("freshdesk.domain", "acme"),
        ("freshdesk.retry_jitter", "sometimes"),
    ]);
    let text = config_error(registry.connect(&map));
    assert!(
        text.contains(
            "`freshdesk.retry_jitter` is invalid: provided string was not `true` or `false`"
        ),
        "{text}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the factory ran");

    // Spelt right, the provider's own checks run, and it connects.
    let map = Config::from_map([("provider", "freshdesk"), ("freshdesk.api_key", "k")]);
    assert_eq!(
        config_error(registry.connect(&map)),
        "configuration error: set domain or base_url"
    );
    let map = Config::from_map([
        ("provider", "freshdesk"),
        ("freshdesk.api_key", "k"),
        ("freshdesk.domain", "acme"),
    ]);
    assert_eq!(registry.connect(&map).unwrap().provider(), "freshdesk");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[cfg(all(feature = "engagelab", feature = "feishu"))]
#[test]
fn a_built_in_provider_reports_an_extra_key_as_unknown() {
    for (provider, typo, known) in [
        (
            "engagelab",
            "engagelab.api_secert",
            "`engagelab.api_secret`",
        ),
        ("feishu", "feishu.helpdesk_idd", "`feishu.helpdesk_id`"),
    ] {
        let config = Config::from_map([("provider", provider), (typo, "x")]);
        let text = config_error(helpdesk::connect(&config));
        assert!(
            text.contains(&format!(
                "unknown configuration key for provider `{provider}`: `{typo}` (known: "
            )) && text.contains(known),
            "{text}"
        );
    }
}

#[test]
fn a_provider_table_is_checked_when_it_is_registered() {
    let never = |_: &mut Settings| -> Result<Arc<dyn TicketUpdater>, TicketError> {
        Err(TicketError::config("never"))
    };
    const UPPER: &[ConfigKey] = &[ConfigKey::new("Domain", ValueKind::Text, "d")];
    const DASH: &[ConfigKey] = &[ConfigKey::new("with-dash", ValueKind::Text, "d")];
    const TWICE: &[ConfigKey] = &[
        ConfigKey::new("domain", ValueKind::Text, "d"),
        ConfigKey::new("domain", ValueKind::Url, "d"),
    ];
    const HTTP: &[ConfigKey] = &[ConfigKey::new("max_retries", ValueKind::Count, "d")];
    let mut registry = Registry::new();
    for (keys, why) in [
        (UPPER, "must match [a-z0-9_]+"),
        (DASH, "must match [a-z0-9_]+"),
        (TWICE, "declared twice"),
        (HTTP, "every provider accepts"),
    ] {
        let err = registry.register("acme", keys, never).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
        let err = registry.replace("acme", keys, never).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    assert!(registry.names().is_empty());
}

#[test]
fn reading_an_undeclared_key_is_reported_as_the_providers_bug() {
    let mut registry = Registry::new();
    registry
        .register("acme", &[], |s: &mut Settings| {
            let _ = s.optional("token");
            Ok(Arc::new(Freshdesk) as Arc<dyn TicketUpdater>)
        })
        .unwrap();
    let text = config_error(registry.connect(&Config::from_map([("provider", "acme")])));
    assert!(
        text.contains("provider `acme` reads configuration key it does not declare: token"),
        "{text}"
    );
}

#[test]
fn a_key_set_without_effect_is_an_error() {
    let runs = Arc::new(AtomicUsize::new(0));
    let registry = freshdesk_registry(&runs);
    // With `domain` set, the factory never reads `base_url`.
    let map = Config::from_map([
        ("provider", "freshdesk"),
        ("freshdesk.api_key", "k"),
        ("freshdesk.domain", "acme"),
        ("freshdesk.base_url", "https://acme.example.com"),
    ]);
    let text = config_error(registry.connect(&map));
    assert!(
        text.contains("key set but not used by provider `freshdesk`")
            && text.contains("`freshdesk.base_url`"),
        "{text}"
    );
    // So is an HTTP key for a provider that takes no HTTP options.
    let map = Config::from_map([
        ("provider", "freshdesk"),
        ("freshdesk.api_key", "k"),
        ("freshdesk.domain", "acme"),
        ("freshdesk.max_retries", "2"),
    ]);
    assert!(config_error(registry.connect(&map)).contains("`freshdesk.max_retries`"));
}

#[test]
fn http_options_reads_every_http_key_into_its_option() {
    let values = [
        ("connect_timeout_ms", "1001"),
        ("request_timeout_ms", "1002"),
        ("max_response_bytes", "1003"),
        ("max_retries", "4"),
        ("retry_initial_backoff_ms", "1005"),
        ("retry_max_backoff_ms", "1006"),
        ("retry_budget_ms", "1007"),
        ("retry_jitter", "false"),
        ("retry_non_idempotent", "true"),
        ("proxy", "http://user:pw@proxy.example.com:3128"),
        ("no_proxy", "example.com,.corp"),
        ("ca_file", "/etc/ssl/extra.pem"),
        ("pool_max_idle_per_host", "9"),
        ("pool_idle_timeout_ms", "1010"),
        ("rate_limit", "50/s"),
        ("read_rate_limit", "600/min"),
        #[cfg(feature = "redis")]
        ("rate_budget", "redis"),
        #[cfg(not(feature = "redis"))]
        ("rate_budget", "local"),
        #[cfg(feature = "redis")]
        ("redis_url", "redis://127.0.0.1:9/"),
        #[cfg(feature = "redis")]
        ("rate_budget_prefix", "acme:rate"),
        #[cfg(feature = "redis")]
        ("rate_budget_name", "acme-app"),
        #[cfg(feature = "redis")]
        ("rate_budget_replicas", "3"),
        #[cfg(feature = "redis")]
        ("rate_budget_timeout_ms", "250"),
    ];
    let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
    // The Redis budget's keys are only read with the `redis` feature.
    let redis_only = [
        "redis_url",
        "rate_budget_prefix",
        "rate_budget_name",
        "rate_budget_replicas",
        "rate_budget_timeout_ms",
    ];
    let table: Vec<&str> = HTTP_KEYS
        .iter()
        .map(|k| k.name)
        .filter(|k| cfg!(feature = "redis") || !redis_only.contains(k))
        .collect();
    assert_eq!(names, table, "this test sets every key of HTTP_KEYS");

    let ms = Duration::from_millis;
    let retry = RetryPolicy::default()
        .max_retries(4)
        .initial_backoff(ms(1005))
        .max_backoff(ms(1006))
        .budget(ms(1007))
        .jitter(false)
        .retry_non_idempotent(true);
    let expected = HttpOptions::default()
        .connect_timeout(ms(1001))
        .request_timeout(ms(1002))
        .max_response_bytes(1003)
        .retry(retry)
        .proxy("http://user:pw@proxy.example.com:3128")
        .no_proxy("example.com,.corp")
        .ca_file("/etc/ssl/extra.pem")
        .pool_max_idle_per_host(9)
        .pool_idle_timeout(ms(1010));
    assert_ne!(expected, HttpOptions::default());

    let seen = Arc::new(std::sync::Mutex::new(None));
    let mut registry = Registry::new();
    let sink = Arc::clone(&seen);
    registry
        .register("acme", &[], move |s: &mut Settings| {
            *sink.lock().unwrap() = Some(s.http_options()?);
            Ok(Arc::new(Freshdesk) as Arc<dyn TicketUpdater>)
        })
        .unwrap();
    let config = Config::from_map(
        std::iter::once(("provider".to_owned(), "acme".to_owned())).chain(
            values
                .iter()
                .map(|(k, v)| (format!("acme.{k}"), (*v).to_owned())),
        ),
    );
    // Connecting proves every key was read (one set but not read is an error) and declared
    // (reading an undeclared one is an error); the options prove where each one landed.
    let connected = registry.connect_budgeted(&config).unwrap();
    let mut seen = seen.lock().unwrap().take().unwrap();
    // The budget is the client's attempt hook, and the one `connect_budgeted` returns.
    let budget = connected.budget.expect("the rate keys turn the budget on");
    let hook = seen.attempt_hook.take().expect("the budget is the hook");
    let budget_hook: Arc<dyn helpdesk::AttemptHook> = budget.clone();
    assert!(Arc::ptr_eq(&hook, &budget_hook));
    assert_eq!(seen, expected);
    assert_eq!(budget.rate("update"), Some(50.0));
    assert_eq!(budget.rate("get"), Some(10.0));
    assert_eq!(budget.status().shared, cfg!(feature = "redis"));
    #[cfg(feature = "redis")]
    assert!(format!("{budget:?}").contains("acme:rate:{acme:acme-app}"));
}

#[test]
fn value_kinds_check_and_describe_themselves() {
    assert!(ValueKind::Millis.check(" 250 ").is_ok());
    assert!(ValueKind::Millis.check("soon").is_err());
    assert!(ValueKind::Count.check("-1").is_err());
    assert!(ValueKind::Bool.check("yes").is_err());
    let region = ValueKind::OneOf(&["feishu", "lark"]);
    assert!(region.check(" Lark ").is_ok());
    assert_eq!(
        region.check("mars-secret"),
        Err("expected feishu or lark".to_owned())
    );
    assert_eq!(region.to_string(), "`feishu` or `lark`");
    assert_eq!(
        ValueKind::OneOf(&["a", "b", "c"]).to_string(),
        "`a`, `b` or `c`"
    );
    assert!(ValueKind::Text.check("").is_ok());
}
