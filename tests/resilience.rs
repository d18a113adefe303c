//! Retries and time over real loopback HTTP: what is retried, what is not, the server's own
//! wait, the budget, and the attempt count in the receipt.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use helpdesk::{ErrorKind, TicketUpdater};
use support::*;
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
    // Every case at once: a hang costs its attempt's whole timeout.
    let mut cases = tokio::task::JoinSet::new();
    for provider in ["engagelab", "feishu"] {
        let failures = [
            Reply::json(503, r#"{"code":50001,"message":"busy"}"#),
            Reply::json(408, "{}"),
            Reply::Close,
            Reply::Hang,
            Reply::json(429, r#"{"code":99991400,"msg":"limit"}"#),
        ];
        for failure in failures {
            cases.spawn(transient(provider, failure));
        }
    }
    while let Some(case) = cases.join_next().await {
        case.unwrap();
    }
}

/// Two `failure`s then success: three attempts, each the same request.
async fn transient(provider: &'static str, failure: Reply) {
    let label = format!("{provider} {failure:?}");
    // A hang ends by the attempt's timeout, which must still never cut the answer short.
    let http = if matches!(failure, Reply::Hang) {
        hang_then_answer(3)
    } else {
        fast(3)
    };
    let server = flaky(2, failure, ok_body(provider)).await;
    let updater = match provider {
        "engagelab" => engagelab(server.url(), http),
        _ => feishu(server.url(), http),
    };
    let receipt = updater
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
    // The server enforces its wait as a real limiter does: a retry that comes before the
    // second it asked for is refused again (and would show as a third attempt). Backoff alone
    // would retry after 10 ms; a slow machine can only retry later, never sooner.
    let refused_at: Arc<std::sync::Mutex<Option<std::time::Instant>>> = Arc::default();
    let server = ScriptedServer::start(move |_| {
        let mut refused = refused_at.lock().unwrap();
        match *refused {
            Some(at) if at.elapsed() >= Duration::from_secs(1) => Reply::json(200, FS_OK),
            _ => {
                *refused = Some(std::time::Instant::now());
                Reply::json(429, r#"{"code":99991400,"msg":"limit"}"#)
                    .header("x-ogw-ratelimit-limit", "50")
                    .header("x-ogw-ratelimit-reset", "1")
            }
        }
    })
    .await
    .unwrap();
    let receipt = client("feishu", server.url(), 3)
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap();
    assert_eq!((receipt.attempts, server.requests().len()), (2, 2));
}

#[tokio::test]
async fn a_silent_server_times_out_per_attempt() {
    let server = ScriptedServer::always(Reply::Hang).await.unwrap();
    let err = engagelab(server.url(), against_silence(1))
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap_err();
    let helpdesk::TicketError::Timeout { after, .. } = &err else {
        panic!("expected Timeout, got {err:?}");
    };
    assert_eq!(*after, SILENCE_TIMEOUT);
    assert_eq!(server.requests().len(), 2);
}
