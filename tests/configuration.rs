//! Configuration that cannot work is refused at `connect`, naming the key; no public
//! constructor panics.
#![allow(clippy::unwrap_used)]

mod support;

use helpdesk::{Config, ErrorKind};
use support::*;
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{HttpOptions, Transport};

fn connect_with(key: &str, value: &str) -> helpdesk::TicketError {
    let config = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.base_url", "http://127.0.0.1:9"),
        (key, value),
    ]);
    match helpdesk::connect(&config) {
        Ok(_) => panic!("{key} = {value} was accepted"),
        Err(err) => err,
    }
}

#[test]
fn limits_that_cannot_work_are_refused_at_connect_naming_the_key() {
    for (key, value, named) in [
        (
            "engagelab.max_response_bytes",
            "0",
            "engagelab.max_response_bytes",
        ),
        (
            "engagelab.request_timeout_ms",
            "0",
            "engagelab.request_timeout_ms",
        ),
        (
            "engagelab.connect_timeout_ms",
            "0",
            "engagelab.connect_timeout_ms",
        ),
        (
            "engagelab.retry_budget_ms",
            "100",
            "engagelab.retry_budget_ms",
        ),
        (
            "engagelab.retry_initial_backoff_ms",
            "0",
            "engagelab.retry_initial_backoff_ms",
        ),
        (
            "engagelab.retry_max_backoff_ms",
            "1",
            "engagelab.retry_max_backoff_ms",
        ),
    ] {
        let err = connect_with(key, value);
        assert_eq!(err.kind(), ErrorKind::Configuration, "{key}");
        assert!(err.to_string().contains(named), "{key}: {err}");
    }
    // Turning retries off makes a short budget fine.
    let config = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.base_url", "http://127.0.0.1:9"),
        ("engagelab.retry_budget_ms", "100"),
        ("engagelab.max_retries", "0"),
    ]);
    helpdesk::connect(&config).unwrap();
    // The same check guards programmatic options.
    let err = Transport::new("x", HttpOptions::default().max_response_bytes(0), &[]).unwrap_err();
    assert!(err.to_string().contains("`max_response_bytes`"), "{err}");
}

#[tokio::test]
async fn request_id_header_names_in_any_case_work_and_bad_ones_are_errors() {
    let server = ScriptedServer::always(Reply::json(200, FS_OK).header("X-Request-Id", "r-1"))
        .await
        .unwrap();
    let transport = Transport::new("x", fast(0), &["X-Request-Id"]).unwrap();
    let request = ticket_http::PreparedRequest::new(
        ticket_http::reqwest::Method::PUT,
        ticket_http::Url::parse(server.url()).unwrap(),
        Default::default(),
        "{}",
    );
    let response = transport.send(&request).await.unwrap();
    assert_eq!(response.request_id.as_deref(), Some("r-1"));
    let err = Transport::new("x", fast(0), &["bad header"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}
