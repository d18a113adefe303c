//! The network: loopback is never proxied, other hosts go through the configured proxy, the
//! connection pool honours its cap, and a caller's own client is used as given. Over real
//! loopback servers.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use helpdesk::{ErrorKind, TicketUpdater};
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use support::*;
use ticket_http::test_server::{Reply, ScriptedServer};

#[tokio::test]
async fn loopback_is_never_proxied_but_other_hosts_are() {
    let proxy = ScriptedServer::always(Reply::json(403, "{}"))
        .await
        .unwrap();
    let target = ScriptedServer::always(Reply::json(200, EL_OK))
        .await
        .unwrap();
    // A plain-http loopback update with a proxy configured: straight to the target, so the
    // Basic credentials never reach the proxy.
    engagelab(target.url(), fast(0).proxy(proxy.url()))
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap();
    assert_eq!(target.requests().len(), 1);
    assert_eq!(proxy.requests().len(), 0, "loopback went through the proxy");

    // A real host goes through the proxy (as a CONNECT tunnel: the credentials stay inside TLS).
    let err = engagelab(
        "https://helpdesk.example.invalid",
        fast(0).proxy(proxy.url()),
    )
    .update(&id("t1"), &update_for("engagelab"))
    .await
    .unwrap_err();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{err}");
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].target, "helpdesk.example.invalid:443");
    assert!(seen[0].header("authorization").is_none());

    // `no_proxy` exempts a host.
    let err = engagelab(
        "https://helpdesk.example.invalid",
        fast(0).proxy(proxy.url()).no_proxy(".example.invalid"),
    )
    .update(&id("t1"), &update_for("engagelab"))
    .await
    .unwrap_err();
    assert_eq!(
        proxy.requests().len(),
        1,
        "exempted host was proxied: {err}"
    );
}

#[test]
fn unsupported_proxy_schemes_are_refused_at_connect() {
    let config = helpdesk::Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.proxy", "socks5://user:pw-9f1@127.0.0.1:1080"),
    ]);
    let err = helpdesk::connect(&config).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let text = err.to_string();
    assert!(
        text.contains("socks5") && !text.contains("pw-9f1"),
        "{text}"
    );
}

#[tokio::test]
async fn idle_connections_are_capped() {
    let server = ScriptedServer::always(Reply::json(200, EL_OK))
        .await
        .unwrap();
    let pooled = engagelab(server.url(), fast(0));
    for _ in 0..3 {
        pooled
            .update(&id("t1"), &update_for("engagelab"))
            .await
            .unwrap();
    }
    assert_eq!(
        server.connections(),
        1,
        "sequential updates reuse one connection"
    );
    let uncached = engagelab(server.url(), fast(0).pool_max_idle_per_host(0));
    for _ in 0..3 {
        uncached
            .update(&id("t1"), &update_for("engagelab"))
            .await
            .unwrap();
    }
    assert_eq!(
        server.connections(),
        4,
        "no idle connection is kept with a cap of 0"
    );
}

#[tokio::test]
async fn a_callers_own_client_is_used_as_given() {
    let server = ScriptedServer::always(Reply::json(200, EL_OK))
        .await
        .unwrap();
    let own = ticket_http::client_builder()
        .unwrap()
        .user_agent("my-own-client/1")
        .no_proxy()
        .build()
        .unwrap();
    let updater: Arc<dyn TicketUpdater> = Arc::new(
        EngageLabClient::new(
            EngageLabConfig::new(EL_KEY, EL_SECRET)
                .unwrap()
                .with_base_url(server.url())
                .unwrap()
                .with_http_client(own),
        )
        .unwrap(),
    );
    updater
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].header("user-agent"),
        Some("my-own-client/1")
    );
}
