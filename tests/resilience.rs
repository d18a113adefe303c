//! Retries and time over real loopback HTTP: what is retried, what is not, the server's own
//! wait, the budget, and the attempt count in the receipt.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::*;
use ticket_facade::{ErrorKind, TicketUpdater};
use ticket_http::test_server::{Reply, ScriptedServer};

/// Fails the first `failures` requests with `failure`, then answers `ok`.
async fn flaky(failures: usize, failure: Reply, ok: &'static str) -> ScriptedServer {
    let seen = Arc::new(AtomicUsize::new(0));
    ScriptedServer::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) < failures {
            failure.clone()
        } else {
            Reply::json(200, ok)
        }
    })
    .await
    .unwrap()
}

fn client(provider: &str, url: &str, retries: u32) -> Arc<dyn TicketUpdater> {
    match provider {
        "engagelab" => engagelab(url, fast(retries)),
        _ => feishu(url, fast(retries)),
    }
}

fn ok_body(provider: &str) -> &'static str {
    if provider == "engagelab" {
        EL_OK
    } else {
        FS_OK
    }
}

#[tokio::test]
async fn transient_failures_are_retried_and_counted() {
    for provider in ["engagelab", "feishu"] {
        let failures = [
            Reply::json(503, r#"{"code":50001,"message":"busy"}"#),
            Reply::json(408, "{}"),
            Reply::Close,
            Reply::Hang,
            Reply::json(429, r#"{"code":99991400,"msg":"limit"}"#),
        ];
        for failure in failures {
            let label = format!("{provider} {failure:?}");
            let server = flaky(2, failure, ok_body(provider)).await;
            let receipt = client(provider, server.url(), 3)
                .update(&id("t1"), &update_for(provider))
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(receipt.attempts, 3, "{label}");
            let requests = server.requests();
            assert_eq!(requests.len(), 3, "{label}");
            // A retry sends the request rebuilt by the provider: the same bytes.
            let sent = |r: &ticket_http::test_server::RecordedRequest| {
                (
                    r.method.clone(),
                    r.target.clone(),
                    r.headers.clone(),
                    r.body.clone(),
                )
            };
            for retry in &requests[1..] {
                assert_eq!(sent(retry), sent(&requests[0]), "{label}");
            }
        }
    }
}

#[tokio::test]
async fn feishu_rate_limit_code_is_retried_even_with_http_400_or_200() {
    for status in [400, 200] {
        let server = flaky(
            1,
            Reply::json(
                status,
                r#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
            ),
            FS_OK,
        )
        .await;
        let receipt = client("feishu", server.url(), 3)
            .update(&id("t1"), &update_for("feishu"))
            .await
            .unwrap();
        assert_eq!(receipt.attempts, 2, "HTTP {status}");
    }
}

#[tokio::test]
async fn retries_stop_after_max_retries_and_can_be_turned_off() {
    for (retries, expected) in [(0, 1), (2, 3)] {
        let server = ScriptedServer::always(Reply::json(
            500,
            r#"{"code":155000,"msg":"Internal error"}"#,
        ))
        .await
        .unwrap();
        let err = client("feishu", server.url(), retries)
            .update(&id("t1"), &update_for("feishu"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert_eq!(server.requests().len(), expected, "max_retries {retries}");
    }
}

#[tokio::test]
async fn the_servers_own_wait_is_honoured_when_it_fits_the_budget() {
    let server = flaky(
        1,
        Reply::json(429, r#"{"code":99991400,"msg":"limit"}"#)
            .header("x-ogw-ratelimit-limit", "50")
            .header("x-ogw-ratelimit-reset", "1"),
        FS_OK,
    )
    .await;
    let receipt = client("feishu", server.url(), 3)
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 2);
    let requests = server.requests();
    // Backoff alone would wait 10 ms; the reset header asked for a second.
    let gap = requests[1].received_at - requests[0].received_at;
    assert!(gap >= Duration::from_millis(950), "waited only {gap:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_per_attempt() {
    let server = ScriptedServer::always(Reply::Hang).await.unwrap();
    let err = client("engagelab", server.url(), 1)
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap_err();
    let ticket_facade::TicketError::Timeout { after, .. } = &err else {
        panic!("expected Timeout, got {err:?}");
    };
    assert_eq!(*after, Duration::from_millis(400));
    assert_eq!(server.requests().len(), 2);
}
