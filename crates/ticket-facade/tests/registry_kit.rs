//! Replacing registration, secret settings, and the list of known providers.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use helpdesk::kit::ExposeSecret;
use helpdesk::{Config, ConfigKey, Registry, Settings, TicketError, TicketUpdater, ValueKind};

const KEYS: &[ConfigKey] = &[ConfigKey::new("token", ValueKind::Text, "the token").secret()];

fn never(s: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    let token = s.required_secret("token")?;
    assert!(!format!("{token:?}").contains(token.expose_secret()));
    Err(TicketError::config("built"))
}

#[test]
fn register_refuses_a_taken_name_and_replace_does_not() {
    let mut registry = Registry::new();
    registry.register("acme", KEYS, never).unwrap();
    let err = registry
        .register("acme", KEYS, never)
        .unwrap_err()
        .to_string();
    assert!(err.contains("use `replace`"), "{err}");
    assert!(registry.replace("acme", KEYS, never).unwrap());
    assert!(!registry.replace("other", KEYS, never).unwrap());
    assert!(registry.replace("Bad Name", KEYS, never).is_err());
    let config = Config::from_map([("provider", "acme"), ("acme.token", "t-secret")]);
    assert_eq!(
        registry.connect(&config).unwrap_err().to_string(),
        "configuration error: built"
    );
}

#[test]
fn the_known_providers_are_listed_once() {
    let config = Config::from_env_vars([
        ("TICKET_PROVIDER", "engagelab"),
        ("TICKET_ENGAGELAB_API_KEY", "k"),
        ("TICKET_ENGAGELAB_API_SECRET", "s"),
        ("TICKET_ZENDESK_EMAIL", "a@example.com"),
    ]);
    let err = Registry::with_builtins()
        .connect(&config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("TICKET_ZENDESK_EMAIL"), "{err}");
    assert_eq!(err.matches("feishu").count(), 1, "{err}");
}
