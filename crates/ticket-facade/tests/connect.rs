//! Configuration sources, the registry and its errors.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use helpdesk::{
    Config, ConfigKey, ErrorKind, Registry, Settings, TicketError, TicketUpdater, ValueKind,
};

const ACME_KEYS: &[ConfigKey] = &[ConfigKey::new("token", ValueKind::Text, "the token").secret()];

fn config_error(result: Result<Arc<dyn TicketUpdater>, TicketError>) -> String {
    match result {
        Ok(updater) => panic!("expected a configuration error, got {}", updater.provider()),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
            err.to_string()
        }
    }
}

#[test]
fn engagelab_from_env_toml_and_map() {
    let env = Config::from_env_vars([
        ("TICKET_PROVIDER", "engagelab"),
        ("TICKET_ENGAGELAB_API_KEY", "k"),
        ("TICKET_ENGAGELAB_API_SECRET", "s"),
        ("TICKET_ENGAGELAB_BASE_URL", "http://127.0.0.1:9"),
        (
            "TICKET_FEISHU_HELPDESK_ID",
            "ignored: another provider's setting",
        ),
        ("PATH", "/usr/bin"),
    ]);
    let toml = Config::from_toml_str(
        r#"
        provider = "engagelab"
        [engagelab]
        api_key = "k"
        api_secret = "s"
        request_timeout_ms = 2500
        [feishu]
        helpdesk_id = "ignored"
        "#,
    )
    .unwrap();
    let map = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
    ]);
    for config in [env, toml, map] {
        let updater = helpdesk::connect(&config).unwrap();
        assert_eq!(updater.provider(), "engagelab");
    }
}

#[test]
fn feishu_from_env_with_region() {
    let config = Config::from_env_vars([
        ("TICKET_PROVIDER", "feishu"),
        ("TICKET_FEISHU_USER_ACCESS_TOKEN", "u-1"),
        ("TICKET_FEISHU_HELPDESK_ID", "70"),
        ("TICKET_FEISHU_HELPDESK_TOKEN", "ht"),
        ("TICKET_FEISHU_REGION", "lark"),
    ]);
    let config = config.with_provider(" Feishu ");
    let updater = helpdesk::connect(&config).unwrap();
    let preview = updater
        .preview(
            &"1".parse().unwrap(),
            &helpdesk::TicketUpdate::builder()
                .comment("c")
                .build()
                .unwrap(),
        )
        .unwrap();
    assert!(
        preview.url.starts_with("https://open.larksuite.com/"),
        "{}",
        preview.url
    );
}

#[test]
fn a_missing_credential_names_the_variable_to_set() {
    let env = Config::from_env_vars([
        ("TICKET_PROVIDER", "feishu"),
        ("TICKET_FEISHU_USER_ACCESS_TOKEN", "u"),
    ]);
    assert!(config_error(helpdesk::connect(&env)).contains("set TICKET_FEISHU_HELPDESK_ID"));
    let toml =
        Config::from_toml_str("provider = \"engagelab\"\n[engagelab]\napi_key = \"k\"\n").unwrap();
    let text = config_error(helpdesk::connect(&toml));
    assert!(text.contains("`[engagelab] api_secret`"), "{text}");
    let map = Config::from_map([("provider", "engagelab")]);
    assert!(config_error(helpdesk::connect(&map)).contains("`engagelab.api_key`"));
}

#[test]
fn an_unknown_key_is_an_error_never_ignored() {
    let env = Config::from_env_vars([
        ("TICKET_PROVIDER", "engagelab"),
        ("TICKET_ENGAGELAB_API_KEY", "k"),
        ("TICKET_ENGAGELAB_API_SECRET", "s"),
        ("TICKET_ENGAGELAB_API_SECERT", "typo"),
    ]);
    let text = config_error(helpdesk::connect(&env));
    assert!(text.contains("TICKET_ENGAGELAB_API_SECERT"), "{text}");
    assert!(
        text.contains("TICKET_ENGAGELAB_API_SECRET"),
        "lists known keys: {text}"
    );

    let stray_env = Config::from_env_vars([
        ("TICKET_PROVIDER", "engagelab"),
        ("TICKET_ENGAGELAB_API_KEY", "k"),
        ("TICKET_ENGAGELAB_API_SECRET", "s"),
        ("TICKET_TIMEOUT", "5"),
    ]);
    assert!(config_error(helpdesk::connect(&stray_env)).contains("TICKET_TIMEOUT"));

    let toml = Config::from_toml_str(
        "provider = \"engagelab\"\ntimeout = 3\n[engagelab]\napi_key = \"k\"\napi_secret = \"s\"\n[zendesk]\nx = 1\n",
    )
    .unwrap();
    let text = config_error(helpdesk::connect(&toml));
    assert!(
        text.contains("timeout") && text.contains("[zendesk]"),
        "{text}"
    );

    let map = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.region", "lark"),
    ]);
    assert!(config_error(helpdesk::connect(&map)).contains("`engagelab.region`"));
}

#[test]
fn unknown_and_missing_providers_list_the_available_ones() {
    let text = config_error(helpdesk::connect(&Config::from_map([(
        "provider", "zendesk",
    )])));
    assert!(text.contains("unknown provider `zendesk`"), "{text}");
    assert!(
        text.contains("engagelab") && text.contains("feishu"),
        "{text}"
    );
    let text = config_error(helpdesk::connect(&Config::from_env_vars(Vec::<(
        String,
        String,
    )>::new())));
    assert!(text.contains("set TICKET_PROVIDER"), "{text}");
}

#[test]
fn a_provider_compiled_out_names_its_feature() {
    // An empty registry stands in for a build without the `feishu` feature.
    let text = config_error(Registry::new().connect(&Config::from_map([("provider", "feishu")])));
    assert!(text.contains("enable the `feishu` feature"), "{text}");
}

#[test]
fn bad_values_name_their_key() {
    let map = Config::from_map([
        ("provider", "feishu"),
        ("feishu.user_access_token", "u"),
        ("feishu.helpdesk_id", "70"),
        ("feishu.helpdesk_token", "ht"),
        ("feishu.region", "mars"),
    ]);
    let text = config_error(helpdesk::connect(&map));
    assert!(
        text.contains("`feishu.region` is invalid: expected feishu or lark"),
        "{text}"
    );
    let map = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.connect_timeout_ms", "soon"),
    ]);
    assert!(
        config_error(helpdesk::connect(&map)).contains("`engagelab.connect_timeout_ms` is invalid")
    );
    let map = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.base_url", "http://helpdesk.example.com"),
    ]);
    assert!(config_error(helpdesk::connect(&map)).contains("non-loopback"));
}

#[test]
fn configuration_debug_shows_keys_never_values() {
    let config = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "key-9f8e7d"),
        ("engagelab.api_secret", "secret-6c5b4a"),
    ]);
    let updater = helpdesk::connect(&config).unwrap();
    let err = helpdesk::connect(&config.clone().with_provider("nope")).unwrap_err();
    for text in [format!("{config:?}"), err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains("key-9f8e7d") && !text.contains("secret-6c5b4a"),
            "{text}"
        );
    }
    assert_eq!(updater.provider(), "engagelab");
}

#[test]
fn a_local_registry_takes_custom_providers_and_refuses_duplicates() {
    let mut registry = Registry::with_builtins();
    let build = |s: &mut Settings| -> Result<Arc<dyn TicketUpdater>, TicketError> {
        Err(TicketError::config(format!(
            "acme saw {}",
            s.required("token")?
        )))
    };
    registry.register("acme", ACME_KEYS, build).unwrap();
    assert_eq!(registry.names(), vec!["acme", "engagelab", "feishu"]);
    let text = config_error(registry.connect(&Config::from_map([
        ("provider", "acme"),
        ("acme.token", "t"),
    ])));
    assert_eq!(text, "configuration error: acme saw t");
    assert!(registry.register("acme", ACME_KEYS, build).is_err());
    assert!(registry.register("Bad Name", ACME_KEYS, build).is_err());
}

#[test]
fn provider_entries_and_set_work_for_every_source() {
    let mut env = Config::from_env_vars([
        ("TICKET_PROVIDER", "engagelab"),
        ("TICKET_ENGAGELAB_API_KEY", "k"),
        ("TICKET_ENGAGELAB_MAX_RETRIES", "3"),
        ("TICKET_FEISHU_HELPDESK_ID", "h"),
    ]);
    env.set("engagelab", "max_retries", "0");
    assert_eq!(
        env.provider_entries("engagelab"),
        [
            (
                "api_key".to_owned(),
                "k".to_owned(),
                "TICKET_ENGAGELAB_API_KEY".to_owned()
            ),
            (
                "max_retries".to_owned(),
                "0".to_owned(),
                "TICKET_ENGAGELAB_MAX_RETRIES".to_owned()
            ),
        ]
    );
    let mut toml =
        Config::from_toml_str("provider = \"feishu\"\n[feishu]\nhelpdesk_id = \"h\"\n").unwrap();
    toml.set("feishu", "max_retries", "0");
    let entries = toml.provider_entries("feishu");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].0, "helpdesk_id");
    assert_eq!(
        entries[0].2,
        "`[feishu] helpdesk_id` in the TOML configuration"
    );
    assert_eq!(
        (entries[1].0.as_str(), entries[1].1.as_str()),
        ("max_retries", "0")
    );
}
