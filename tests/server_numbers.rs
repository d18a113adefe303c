//! No server number can panic the client: huge `Retry-After`, `x-ogw-ratelimit-reset` and
//! `expires_in` figures from real loopback servers are clamped.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use helpdesk::{ErrorKind, TicketUpdater};
use provider_feishu::{FeishuClient, FeishuConfig, RefreshingToken, UserTokenSource};
use support::{fast, id, update_for};
use ticket_http::MAX_SERVER_WAIT;
use ticket_http::test_server::{Reply, ScriptedServer};

const HUGE: [&str; 3] = [
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
];

#[tokio::test]
async fn a_huge_retry_after_is_clamped_on_both_providers() {
    for value in HUGE {
        for provider in ["engagelab", "feishu"] {
            let reply = if provider == "engagelab" {
                Reply::json(429, r#"{"code":42901,"message":"slow down"}"#)
                    .header("retry-after", value)
            } else {
                Reply::json(429, r#"{"code":99991400,"msg":"rate limited"}"#)
                    .header("x-ogw-ratelimit-reset", value)
            };
            let server = ScriptedServer::always(reply).await.unwrap();
            let updater = if provider == "engagelab" {
                support::engagelab(server.url(), fast(3))
            } else {
                support::feishu(server.url(), fast(3))
            };
            let err = updater
                .update(&id("1"), &update_for(provider))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::RateLimited, "{provider}: {err}");
            assert_eq!(err.retry_after(), Some(MAX_SERVER_WAIT), "{provider}");
            // The wait is past the budget: given back at once, not retried.
            assert_eq!(server.requests().len(), 1, "{provider}");
        }
    }
}

#[tokio::test]
async fn a_huge_expires_in_is_clamped_and_the_token_used() {
    for value in HUGE {
        let body = format!(
            r#"{{"code":0,"access_token":"u-new","expires_in":{value},"refresh_token":"ur-new","refresh_token_expires_in":{value},"token_type":"Bearer"}}"#
        );
        let server = ScriptedServer::start(move |req| {
            if req.target.starts_with("/open-apis/authen") {
                Reply::json(200, &body)
            } else {
                Reply::json(200, support::FS_OK)
            }
        })
        .await
        .unwrap();
        let source = RefreshingToken::builder("cli_a", "secret", "ur-old")
            .base_url(server.url())
            .build()
            .unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&source.access_token().await.unwrap()),
            "u-new"
        );
        // Fresh for the clamped lifetime: no second refresh.
        let config = FeishuConfig::new(
            std::sync::Arc::new(source.clone()),
            support::FS_HELPDESK_ID,
            support::FS_HELPDESK_TOKEN,
        )
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_http_options(fast(0));
        FeishuClient::new(config)
            .unwrap()
            .update(&id("1"), &update_for("feishu"))
            .await
            .unwrap();
        assert_eq!(source.refreshes().await, 1);
        let stored = source.store().load().await.unwrap().unwrap();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let lifetime = Duration::from_millis(stored.expires_at_ms.unwrap() - now_ms);
        assert!(
            lifetime <= provider_feishu::MAX_TOKEN_LIFETIME,
            "{lifetime:?}"
        );
    }
}
