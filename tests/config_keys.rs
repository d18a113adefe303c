//! The built-in factories read exactly the keys of their tables: every path of each factory
//! connects (so every key it read is declared, and every key set was read), together the paths
//! set every key of the table, and a key outside the table is reported as unknown.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use helpdesk::{Config, ErrorKind, HTTP_KEYS};

/// Every key of `HTTP_KEYS`, with a value that works (`ca_file` a real PEM file).
fn http_values(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca = dir.join("extra-roots.pem");
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    let values = vec![
        ("connect_timeout_ms", "3000".to_owned()),
        ("request_timeout_ms", "10000".to_owned()),
        ("max_response_bytes", "65536".to_owned()),
        ("max_retries", "2".to_owned()),
        ("retry_initial_backoff_ms", "100".to_owned()),
        ("retry_max_backoff_ms", "2000".to_owned()),
        ("retry_budget_ms", "20000".to_owned()),
        ("retry_jitter", "false".to_owned()),
        ("retry_non_idempotent", "false".to_owned()),
        ("proxy", "http://proxy.example.com:3128".to_owned()),
        ("no_proxy", "example.com".to_owned()),
        ("ca_file", ca.display().to_string()),
        ("pool_max_idle_per_host", "4".to_owned()),
        ("pool_idle_timeout_ms", "10000".to_owned()),
        ("rate_limit", "50/s".to_owned()),
        ("read_rate_limit", "10/s".to_owned()),
        ("rate_budget", "redis".to_owned()),
        ("redis_url", "redis://127.0.0.1:1".to_owned()),
        ("rate_budget_prefix", "test:rate".to_owned()),
        ("rate_budget_name", "config-keys".to_owned()),
        ("rate_budget_replicas", "2".to_owned()),
        ("rate_budget_timeout_ms", "300".to_owned()),
    ];
    let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
    let table: Vec<&str> = HTTP_KEYS.iter().map(|k| k.name).collect();
    assert_eq!(names, table, "every key of HTTP_KEYS has a value here");
    values
}

fn config(provider: &str, entries: &[(&str, String)]) -> Config {
    Config::from_map(
        std::iter::once(("provider".to_owned(), provider.to_owned())).chain(
            entries
                .iter()
                .map(|(k, v)| (format!("{provider}.{k}"), v.clone())),
        ),
    )
}

/// Connects with each configuration (each must succeed) and returns the keys they set.
fn connect_all(provider: &str, configs: &[Vec<(&str, String)>]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for entries in configs {
        if let Err(e) = helpdesk::connect(&config(provider, entries)) {
            let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
            panic!("{provider} with {keys:?}: {e}");
        }
        set.extend(entries.iter().map(|(k, _)| (*k).to_owned()));
    }
    set
}

/// The provider's table and `HTTP_KEYS`, by name.
fn table(provider: &str) -> BTreeSet<String> {
    helpdesk::provider_keys(provider)
        .unwrap()
        .iter()
        .chain(HTTP_KEYS)
        .map(|k| k.name.to_owned())
        .collect()
}

/// A key outside the table is refused as unknown, naming it.
fn assert_extra_key_is_unknown(provider: &str, entries: &[(&str, String)]) {
    let mut entries = entries.to_vec();
    entries.push(("not_a_key", "1".to_owned()));
    let err = helpdesk::connect(&config(provider, &entries)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(
        err.to_string().contains(&format!(
            "unknown configuration key for provider `{provider}`: `{provider}.not_a_key`"
        )),
        "{err}"
    );
}

/// With every key of its table set at once, a provider may refuse the combination in its own
/// words, but never calls one of them unknown.
fn assert_no_table_key_is_unknown(provider: &str, http: &[(&str, String)]) {
    let mut entries = http.to_vec();
    for key in helpdesk::provider_keys(provider).unwrap() {
        let value = match key.name {
            "base_url" => "http://127.0.0.1:9",
            "region" => "lark",
            "token_store" => "file",
            _ => "v",
        };
        entries.push((key.name, value.to_owned()));
    }
    if let Err(e) = helpdesk::connect(&config(provider, &entries)) {
        assert!(!e.to_string().contains("unknown configuration"), "{e}");
    }
}

#[test]
fn engagelab_reads_exactly_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let http = http_values(dir.path());
    let mut full = vec![
        ("api_key", "k".to_owned()),
        ("api_secret", "s".to_owned()),
        ("base_url", "http://127.0.0.1:9".to_owned()),
        ("read_path", "bare".to_owned()),
    ];
    full.extend(http.iter().cloned());
    let minimal = vec![("api_key", "k".to_owned()), ("api_secret", "s".to_owned())];
    let set = connect_all("engagelab", &[full.clone(), minimal]);
    assert_eq!(set, table("engagelab"));
    assert_extra_key_is_unknown("engagelab", &full);
    assert_no_table_key_is_unknown("engagelab", &http);
}

#[test]
fn feishu_reads_exactly_its_table_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let http = http_values(dir.path());
    let helpdesk = || {
        vec![
            ("helpdesk_id", "70".to_owned()),
            ("helpdesk_token", "ht".to_owned()),
        ]
    };
    let with_http = |mut entries: Vec<(&'static str, String)>| {
        entries.extend(http.iter().cloned());
        entries
    };
    // A static token, in a region.
    let mut static_token = helpdesk();
    static_token.push(("user_access_token", "u-1".to_owned()));
    static_token.push(("region", "Lark".to_owned()));
    // A refreshing token kept in a file, at a base URL, seeded with an access token.
    let mut file = helpdesk();
    file.extend([
        ("app_id", "cli_1".to_owned()),
        ("app_secret", "as".to_owned()),
        ("refresh_token", "r-1".to_owned()),
        ("token_store", "file".to_owned()),
        (
            "refresh_token_file",
            dir.path().join("token.json").display().to_string(),
        ),
        ("user_access_token", "u-1".to_owned()),
        ("base_url", "http://127.0.0.1:9".to_owned()),
    ]);
    // A refreshing token kept in Redis (connected to on first use, not here).
    let mut redis = helpdesk();
    redis.extend([
        ("app_id", "cli_1".to_owned()),
        ("app_secret", "as".to_owned()),
        ("refresh_token", "r-1".to_owned()),
        ("token_store", "redis".to_owned()),
        ("redis_url", "redis://127.0.0.1:1".to_owned()),
        ("redis_key", "ticket:test:token".to_owned()),
    ]);
    // A static user token, and the app's credentials for reads only.
    let mut static_reading = helpdesk();
    static_reading.extend([
        ("user_token", "static".to_owned()),
        ("user_access_token", "u-1".to_owned()),
        ("app_id", "cli_1".to_owned()),
        ("app_secret", "as".to_owned()),
    ]);
    let configs = [
        with_http(static_token.clone()),
        with_http(file.clone()),
        with_http(redis.clone()),
        static_token.clone(),
        static_reading.clone(),
    ];
    let set = connect_all("feishu", &configs);
    assert_eq!(set, table("feishu"));
    for entries in [static_token, file, redis, static_reading] {
        assert_extra_key_is_unknown("feishu", &entries);
    }
    assert_no_table_key_is_unknown("feishu", &http);
}

#[test]
fn a_key_of_another_path_has_no_effect_and_is_named() {
    // `app_secret` without `app_id`: the static path never reads it.
    let entries = vec![
        ("helpdesk_id", "70".to_owned()),
        ("helpdesk_token", "ht".to_owned()),
        ("user_access_token", "u-1".to_owned()),
        ("app_secret", "as-secret-1".to_owned()),
    ];
    let err = helpdesk::connect(&config("feishu", &entries)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("set but not used by provider `feishu`")
            && text.contains("`feishu.app_secret`"),
        "{text}"
    );
    assert!(!text.contains("as-secret-1"), "{text}");
}
