//! A Feishu comment is appended on every call: an update carrying one is retried only when it
//! certainly did not apply (never after a 5xx, a timeout or a broken answer), unless the caller
//! opts in. Over real loopback HTTP.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use helpdesk::{ErrorKind, Sent, TicketError, TicketStatus, TicketUpdate};
use support::*;
use ticket_http::test_server::{Reply, ScriptedServer};

/// A server whose first answer is `first`, then success.
async fn first_then_ok(first: Reply) -> ScriptedServer {
    let calls = Arc::new(AtomicUsize::new(0));
    ScriptedServer::start(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            first.clone()
        } else {
            Reply::json(200, FS_OK)
        }
    })
    .await
    .unwrap()
}

fn with_comment() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .comment("on it")
        .build()
        .unwrap()
}

fn status_only() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_comment_is_not_resent_after_a_5xx() {
    let server = first_then_ok(Reply::json(500, r#"{"code":155000,"msg":"internal"}"#)).await;
    let err = feishu(server.url(), fast(3))
        .update(&id("1"), &with_comment())
        .await
        .unwrap_err();
    assert_eq!(
        server.requests().len(),
        1,
        "one PUT: the comment may have been added"
    );
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(
        matches!(
            err,
            TicketError::Transport {
                sent: Sent::Maybe,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("may or may not have been applied") && text.contains("155000"),
        "{text}"
    );
    let source = std::error::Error::source(&err).unwrap();
    let server_error = source.downcast_ref::<TicketError>().unwrap();
    assert_eq!(server_error.server().unwrap().status, 500);
    // A caller's own retry loop is told the same: it may have landed, do not repeat it.
    assert!(err.may_have_applied() && !err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_comment_is_not_resent_after_a_timeout_or_a_broken_answer() {
    for first in [
        Reply::Hang,
        Reply::Raw(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{".to_vec()),
        Reply::json(502, "<html>bad gateway</html>"),
    ] {
        // A hang ends by the attempt's timeout, which must never cut an answer short.
        let http = if matches!(first, Reply::Hang) {
            hang_then_answer(3)
        } else {
            fast(3)
        };
        let server = first_then_ok(first.clone()).await;
        let err = feishu(server.url(), http.clone())
            .update(&id("1"), &with_comment())
            .await
            .unwrap_err();
        assert_eq!(server.requests().len(), 1, "{first:?}: {err}");
        assert!(
            matches!(
                err,
                TicketError::Transport {
                    sent: Sent::Maybe,
                    ..
                } | TicketError::Timeout {
                    sent: Sent::Maybe,
                    ..
                }
            ),
            "{first:?}: {err:?}"
        );
        // A caller's own retry loop must not post the comment twice either.
        assert!(
            err.may_have_applied() && !err.is_retryable(),
            "{first:?}: {err:?}"
        );

        // The same failure without a comment is harmless to repeat: the library retried it.
        let server = first_then_ok(first.clone()).await;
        let receipt = feishu(server.url(), http)
            .update(&id("1"), &status_only())
            .await
            .unwrap();
        assert_eq!(
            (receipt.attempts, server.requests().len()),
            (2, 2),
            "{first:?}"
        );
    }
}

#[tokio::test]
async fn a_comment_is_resent_when_it_certainly_did_not_apply() {
    // The gateway's rate-limit refusal.
    let server = first_then_ok(
        Reply::json(429, r#"{"code":99991400,"msg":"rate limited"}"#)
            .header("x-ogw-ratelimit-reset", "0"),
    )
    .await;
    let receipt = feishu(server.url(), fast(3))
        .update(&id("1"), &with_comment())
        .await
        .unwrap();
    assert_eq!((receipt.attempts, server.requests().len()), (2, 2));

    // Nothing sent: nobody listens on the port yet.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = feishu(&url, fast(2))
        .update(&id("1"), &with_comment())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TicketError::Transport { sent: Sent::No, .. }),
        "{err:?}"
    );
    // Never sent: certainly not applied, and safe for a caller to repeat.
    assert!(!err.may_have_applied() && err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn idempotent_updates_and_opted_in_callers_are_retried_after_a_5xx() {
    let server = first_then_ok(Reply::json(500, r#"{"code":155000,"msg":"internal"}"#)).await;
    let receipt = feishu(server.url(), fast(3))
        .update(&id("1"), &status_only())
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 2);

    let server = first_then_ok(Reply::json(500, r#"{"code":155000,"msg":"internal"}"#)).await;
    let options = fast(3);
    let retry = options.retry.retry_non_idempotent(true);
    let receipt = feishu(server.url(), options.retry(retry))
        .update(&id("1"), &with_comment())
        .await
        .unwrap();
    assert_eq!((receipt.attempts, server.requests().len()), (2, 2));

    assert!(!provider_feishu::CAPABILITIES.is_idempotent(with_comment().fields()));
    assert!(provider_feishu::CAPABILITIES.is_idempotent(status_only().fields()));
    assert!(provider_engagelab::CAPABILITIES.non_idempotent.is_empty());
}
