//! Every fault kind, for both providers, over real loopback HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use helpdesk_ticket_sandbox::{Fault, PendingFault, Sandbox, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .seed_engagelab_default("el")
        .seed_feishu_default("fs")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn rate_limit_feishu_429_and_legacy_400() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::RateLimit { reset_secs: 7 }, Scope::Feishu, 1);
    sb.inject(
        Fault::RateLimitLegacy400 { reset_secs: 3 },
        Scope::Feishu,
        1,
    );
    for (status, reset) in [(429, "7"), (400, "3")] {
        let resp = fs_put(&sb, &client, "fs", r#"{"status":2}"#).await;
        assert_eq!(resp.status, status);
        assert_eq!(
            resp.body,
            r#"{"code":99991400,"msg":"request trigger frequency limit"}"#
        );
        assert_eq!(resp.header("x-ogw-ratelimit-limit"), Some("50"));
        assert_eq!(resp.header("x-ogw-ratelimit-reset"), Some(reset));
        assert!(resp.header("x-tt-logid").is_some());
    }
    // The ticket was not touched; the next request goes through.
    assert_eq!(sb.feishu_ticket("fs").unwrap().status, 1);
    assert_eq!(
        fs_put(&sb, &client, "fs", r#"{"status":2}"#).await.status,
        200
    );
    assert_eq!(sb.stats().faults_applied, 2);
}

#[tokio::test]
async fn rate_limit_engagelab() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::RateLimit { reset_secs: 5 }, Scope::EngageLab, 2);
    for _ in 0..2 {
        let resp = el_put(&sb, &client, "el", EL_MIN).await;
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("retry-after"), Some("5"));
        assert_eq!(resp.code(), 42901);
    }
    sb.inject(
        Fault::RateLimitLegacy400 { reset_secs: 1 },
        Scope::EngageLab,
        1,
    );
    let resp = el_put(&sb, &client, "el", EL_MIN).await;
    assert_eq!((resp.status, resp.code()), (400, 42901));
    assert_eq!(resp.header("retry-after"), Some("1"));
    assert_eq!(el_put(&sb, &client, "el", EL_MIN).await.status, 200);
}

#[tokio::test]
async fn server_errors() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::ServerError { status: 503 }, Scope::Feishu, 1);
    sb.inject(Fault::ServerError { status: 502 }, Scope::EngageLab, 1);
    let resp = fs_put(&sb, &client, "fs", r#"{"status":2}"#).await;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.body, r#"{"code":155000,"msg":"Internal error"}"#);
    let resp = el_put(&sb, &client, "el", EL_MIN).await;
    assert_eq!(resp.status, 502);
    assert_eq!(resp.code(), 50001);
}

#[tokio::test]
async fn latency_delays_then_serves() {
    let sb = sandbox().await;
    let client = client();
    // Delayed, then served: no clock is read (a slow machine only delays it more).
    sb.inject(
        Fault::Latency(Duration::from_millis(300)),
        Scope::EngageLab,
        1,
    );
    let resp = el_put(&sb, &client, "el", EL_MIN).await;
    assert_eq!(resp.status, 200);
    assert_eq!(sb.engagelab_ticket("el").unwrap().title, "t");
    assert!(sb.pending_faults().is_empty(), "the latency was spent");
    // The delay itself: a client timeout a hundred times shorter than the latency fires.
    sb.inject(Fault::Latency(Duration::from_secs(10)), Scope::Feishu, 1);
    let err = fs_put_with(
        &sb,
        &client,
        "fs",
        &sb.current_access_token(),
        r#"{"status":2}"#,
    )
    .timeout(Duration::from_millis(100))
    .send()
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn drop_connection_gives_a_transport_error() {
    let sb = sandbox().await;
    let client = client();
    for scope in [Scope::EngageLab, Scope::Feishu] {
        sb.inject(Fault::DropConnection, scope, 1);
    }
    let err = client
        .put(sb.engagelab_ticket_url("el"))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .header("Content-Type", CT_JSON)
        .body(EL_MIN)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    let err = fs_put_with(
        &sb,
        &client,
        "fs",
        &sb.current_access_token(),
        r#"{"status":2}"#,
    )
    .send()
    .await
    .unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    // The requests arrived (and are counted and recorded) but nothing was applied.
    let stats = sb.stats();
    assert_eq!((stats.engagelab_requests, stats.feishu_requests), (1, 1));
    assert_eq!(sb.requests().len(), 2);
    assert_eq!(sb.feishu_ticket("fs").unwrap().status, 1);
    // The server keeps serving.
    assert_eq!(el_put(&sb, &client, "el", EL_MIN).await.status, 200);
}

#[tokio::test]
async fn drop_connection_sends_no_bytes() {
    let sb = sandbox().await;
    sb.inject(Fault::DropConnection, Scope::EngageLab, 1);
    let mut stream = tokio::net::TcpStream::connect(sb.addr()).await.unwrap();
    let request = format!(
        "GET /api/v2/accounts/tickets/el HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
        sb.credentials().engagelab_authorization()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut received))
        .await
        .unwrap();
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn truncated_body_fails_while_reading() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::TruncatedBody, Scope::Feishu, 1);
    sb.inject(Fault::TruncatedBody, Scope::EngageLab, 1);
    let resp = fs_put_with(
        &sb,
        &client,
        "fs",
        &sb.current_access_token(),
        r#"{"status":2}"#,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-tt-logid").is_some());
    let err = resp.text().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err:?}");

    let resp = client
        .get(sb.engagelab_ticket_url("el"))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.is_err());
}

#[tokio::test]
async fn truncated_body_on_the_wire() {
    let sb = sandbox().await;
    sb.inject(Fault::TruncatedBody, Scope::EngageLab, 1);
    let mut stream = tokio::net::TcpStream::connect(sb.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/v2/accounts/tickets/el HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(received).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let declared: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        !body.is_empty() && body.len() < declared,
        "{} of {declared}",
        body.len()
    );
}

#[tokio::test]
async fn non_json_body() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::NonJsonBody, Scope::Feishu, 1);
    sb.inject(Fault::NonJsonBody, Scope::EngageLab, 1);
    for resp in [
        fs_put(&sb, &client, "fs", r#"{"status":2}"#).await,
        el_put(&sb, &client, "el", EL_MIN).await,
    ] {
        assert_eq!(resp.status, 200);
        assert!(
            resp.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(resp.body, "<html>gateway</html>");
    }
}

#[tokio::test]
async fn auth_error_with_http_200() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::AuthErrorHttp200, Scope::Feishu, 1);
    sb.inject(Fault::AuthErrorHttp200, Scope::EngageLab, 1);
    let resp = fs_put(&sb, &client, "fs", r#"{"status":2}"#).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body,
        r#"{"code":99991677,"msg":"Authentication token expired"}"#
    );
    let resp = el_put(&sb, &client, "el", EL_MIN).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body,
        r#"{"error":{"code":40101,"message":"authentication failed"}}"#
    );
    // It was a one-off: the credentials still work.
    assert_eq!(
        fs_put(&sb, &client, "fs", r#"{"status":2}"#).await.code(),
        0
    );
}

#[tokio::test]
async fn expire_token_then_refresh() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::ExpireToken, Scope::Feishu, 1);
    let resp = fs_put(&sb, &client, "fs", r#"{"status":2}"#).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.code(), 99991677);
    // Stays expired until a refresh.
    assert_eq!(
        fs_put(&sb, &client, "fs", r#"{"status":2}"#).await.code(),
        99991677
    );
    assert_eq!(
        refresh(&sb, &client, &sb.current_refresh_token())
            .await
            .status,
        200
    );
    assert_eq!(
        fs_put(&sb, &client, "fs", r#"{"status":2}"#).await.code(),
        0
    );
}

#[tokio::test]
async fn not_found_with_http_200() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::NotFoundHttp200, Scope::EngageLab, 1);
    let resp = el_put(&sb, &client, "el", EL_MIN).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, r#"{"code":40401,"message":"ticket not found"}"#);
    sb.inject(Fault::NotFoundHttp200, Scope::Feishu, 1);
    let resp = fs_get(&sb, &client, "fs").await;
    assert_eq!((resp.status, resp.code()), (200, 154004));
}

#[tokio::test]
async fn forbidden() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::Forbidden, Scope::EngageLab, 1);
    sb.inject(Fault::Forbidden, Scope::Feishu, 1);
    let resp = el_put(&sb, &client, "el", EL_MIN).await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.body, r#"{"code":40301,"message":"forbidden"}"#);
    let resp = fs_put(&sb, &client, "fs", r#"{"status":2}"#).await;
    assert_eq!((resp.status, resp.code()), (403, 154003));
}

#[tokio::test]
async fn faults_on_the_token_endpoint() {
    let sb = sandbox().await;
    let client = client();
    sb.inject(Fault::RateLimit { reset_secs: 2 }, Scope::FeishuToken, 1);
    // Helpdesk requests are not affected by the token scope.
    assert_eq!(fs_get(&sb, &client, "fs").await.code(), 0);
    let resp = refresh(&sb, &client, &sb.current_refresh_token()).await;
    assert_eq!((resp.status, resp.code()), (429, 99991400));
    // The refresh token was not consumed by the refused attempt.
    assert_eq!(
        refresh(&sb, &client, &sb.current_refresh_token())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn scopes_are_fifo_and_ticket_scope_wins() {
    let sb = sandbox().await;
    sb.seed_engagelab_default("other");
    let client = client();
    sb.inject(Fault::ServerError { status: 500 }, Scope::EngageLab, 1);
    sb.inject(Fault::ServerError { status: 503 }, Scope::EngageLab, 2);
    sb.inject(Fault::NonJsonBody, Scope::Ticket("el".to_owned()), 1);
    sb.inject(Fault::NotFoundHttp200, Scope::Ticket("fs".to_owned()), 1);
    assert_eq!(
        sb.pending_faults(),
        [
            PendingFault::new(Fault::ServerError { status: 500 }, Scope::EngageLab, 1),
            PendingFault::new(Fault::ServerError { status: 503 }, Scope::EngageLab, 2),
            PendingFault::new(Fault::NonJsonBody, Scope::Ticket("el".to_owned()), 1),
            PendingFault::new(Fault::NotFoundHttp200, Scope::Ticket("fs".to_owned()), 1),
        ]
    );
    // Ticket "el" takes its own fault first.
    assert_eq!(
        el_put(&sb, &client, "el", EL_MIN).await.body,
        "<html>gateway</html>"
    );
    // Then the provider queue, in order.
    let statuses = [
        el_put(&sb, &client, "other", EL_MIN).await.status,
        el_put(&sb, &client, "el", EL_MIN).await.status,
        el_put(&sb, &client, "other", EL_MIN).await.status,
        el_put(&sb, &client, "other", EL_MIN).await.status,
    ];
    assert_eq!(statuses, [500, 503, 503, 200]);
    // A ticket scope matches either provider; here the Feishu ticket "fs".
    assert_eq!(fs_get(&sb, &client, "fs").await.code(), 154004);
    assert!(sb.pending_faults().is_empty());
    assert_eq!(sb.stats().faults_applied, 5);

    // Zero times is a no-op; clear_faults empties the queues.
    sb.inject(Fault::NonJsonBody, Scope::EngageLab, 0);
    assert!(sb.pending_faults().is_empty());
    sb.inject(Fault::NonJsonBody, Scope::EngageLab, 3);
    sb.clear_faults();
    assert_eq!(el_put(&sb, &client, "el", EL_MIN).await.status, 200);
}

#[tokio::test]
async fn faults_come_before_auth() {
    let sb = sandbox().await;
    sb.inject(Fault::ServerError { status: 500 }, Scope::EngageLab, 1);
    let resp = client()
        .get(sb.engagelab_ticket_url("el"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
}
