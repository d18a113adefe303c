//! Feishu over real loopback HTTP against a scripted server: exact headers, every documented
//! code, rate limits on 429 and 400, auth codes with HTTP 200, token refresh, refusals that
//! send nothing, ticket-id encoding, and secrets kept out of errors.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use helpdesk_provider_feishu::{FeishuClient, FeishuConfig, UserTokenSource};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::{ErrorKind, TicketError, TicketId, TicketStatus, TicketUpdate, TicketUpdater};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{HttpOptions, RetryPolicy};

const TOKEN: &str = "u-7f1bcd13fc57d46bac21793a18e560";
const HELPDESK_ID: &str = "7012345678";
const HELPDESK_TOKEN: &str = "ht-0d5e9a71c2";
const OK: &str = r#"{"code":0,"msg":"success","data":{}}"#;

/// One attempt, so each test sees the first answer's error (retries are tested by the
/// conformance suite and the workspace's tests/resilience.rs), with the default timeouts: a
/// loaded machine must not turn an answer into a timeout.
fn options() -> HttpOptions {
    HttpOptions::default().retry(RetryPolicy::disabled())
}

fn client_for(url: &str) -> FeishuClient {
    let config = FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN)
        .unwrap()
        .with_base_url(url)
        .unwrap()
        .with_http_options(options());
    FeishuClient::new(config).unwrap()
}

fn update() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .comment("good")
        .build()
        .unwrap()
}

fn id(text: &str) -> TicketId {
    TicketId::new(text).unwrap()
}

/// Without a comment: a comment's 5xx is reported as "may have been applied"
/// (tests/no_duplicate_comments.rs in the workspace), not as the server's error kind.
fn idempotent_update() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .build()
        .unwrap()
}

async fn error_for(reply: Reply) -> TicketError {
    let server = ScriptedServer::always(reply).await.unwrap();
    client_for(server.url())
        .update(&id("6945345902185807891"), &idempotent_update())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn success_sends_the_documented_headers_and_reads_the_log_id() {
    let server = ScriptedServer::always(Reply::json(200, OK).header("X-Tt-Logid", "20251104abc"))
        .await
        .unwrap();
    let receipt = client_for(server.url())
        .update(&id("6945345902185807891"), &update())
        .await
        .unwrap();
    assert_eq!(receipt.provider, "feishu");
    assert_eq!(receipt.request_id.as_deref(), Some("20251104abc"));
    assert_eq!((receipt.attempts, receipt.updated_at), (1, None));
    let req = &server.requests()[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(
        req.target,
        "/open-apis/helpdesk/v1/tickets/6945345902185807891"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    // base64("7012345678:ht-0d5e9a71c2")
    assert_eq!(
        req.header("x-lark-helpdesk-authorization"),
        Some("NzAxMjM0NTY3ODpodC0wZDVlOWE3MWMy")
    );
    assert_eq!(
        req.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(req.body_text(), r#"{"status":2,"comment":"good"}"#);
    // Every header goes out once, in the order the preview shows (`authorization` first;
    // `host` and `content-length` last, where hyper-util and hyper add them).
    let preview = client_for(server.url())
        .preview(&id("6945345902185807891"), &update())
        .unwrap();
    let names = |headers: &[(String, String)]| {
        headers
            .iter()
            .map(|(name, _)| name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&req.headers), names(&preview.headers));
    assert_eq!(names(&req.headers)[0], "authorization");
}

#[tokio::test]
async fn documented_business_codes_map_to_their_kinds() {
    let cases = [
        (
            400,
            154000,
            "Bad request, please check your request body",
            ErrorKind::Provider,
            false,
        ),
        (
            403,
            154003,
            "Please check you have the correct access",
            ErrorKind::PermissionDenied,
            false,
        ),
        (
            404,
            154004,
            "Resource not found",
            ErrorKind::NotFound,
            false,
        ),
        (500, 155000, "Internal error", ErrorKind::Provider, true),
    ];
    for (status, code, msg, kind, retryable) in cases {
        let err = error_for(
            Reply::json(status, &format!(r#"{{"code":{code},"msg":"{msg}"}}"#))
                .header("x-tt-logid", "log-1"),
        )
        .await;
        assert_eq!(err.kind(), kind, "{code}");
        assert_eq!(err.is_retryable(), retryable, "{code}");
        let details = err.server().unwrap();
        assert_eq!(
            (
                details.status,
                details.code.as_ref().and_then(|c| c.as_i64())
            ),
            (status, Some(code))
        );
        assert_eq!(details.message, msg);
        assert_eq!(err.request_id(), Some("log-1"));
    }
}

#[tokio::test]
async fn rate_limit_on_429_and_on_the_older_400_keeps_the_reset() {
    for status in [429, 400] {
        let err = error_for(
            Reply::json(
                status,
                r#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
            )
            .header("x-ogw-ratelimit-limit", "50")
            .header("x-ogw-ratelimit-reset", "3"),
        )
        .await;
        assert_eq!(err.kind(), ErrorKind::RateLimited, "HTTP {status}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            err.rate_limit(),
            Some(50),
            "the stated limit, HTTP {status}"
        );
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn an_absurd_or_missing_stated_limit_is_ignored() {
    for limit in [
        Some("0"),
        Some("1e9"),
        Some("99999999999"),
        Some("-3"),
        None,
    ] {
        let mut reply = Reply::json(
            429,
            r#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
        )
        .header("x-ogw-ratelimit-reset", "1");
        if let Some(limit) = limit {
            reply = reply.header("x-ogw-ratelimit-limit", limit);
        }
        let err = error_for(reply).await;
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{limit:?}");
        assert_eq!(err.rate_limit(), None, "{limit:?}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    }
}

#[tokio::test]
async fn malformed_answers() {
    for reply in [
        Reply::text(200, "text/html", "<html>gateway</html>"),
        Reply::json(200, r#"{"code":0,"msg":"success","data":[]}"#),
        Reply::json(200, r#"{"msg":"success"}"#),
        Reply::json(200, r#"{"code":0,"msg":"succ"#),
        Reply::json(200, ""),
    ] {
        let err = error_for(reply).await;
        assert_eq!(err.kind(), ErrorKind::MalformedResponse, "{err}");
    }
    let err = error_for(Reply::text(503, "text/html", "<html>busy</html>")).await;
    assert_eq!(
        (err.kind(), err.is_retryable()),
        (ErrorKind::Provider, true)
    );
}

/// A token source that hands out `old` until refreshed, then `new`.
struct Rotating {
    refreshed: AtomicUsize,
}

#[async_trait]
impl UserTokenSource for Rotating {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        let token = if self.refreshed.load(Ordering::SeqCst) == 0 {
            "u-old"
        } else {
            "u-new"
        };
        Ok(token.to_owned().into())
    }
    async fn refresh(&self, rejected: &SecretString) -> Result<bool, TicketError> {
        assert_eq!(rejected.expose_secret(), "u-old");
        self.refreshed.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_update_retried_once() {
    let server = ScriptedServer::start(|req| {
        if req.header("authorization") == Some("Bearer u-new") {
            Reply::json(200, OK)
        } else {
            Reply::json(
                200,
                r#"{"code":99991677,"msg":"Authentication token expired"}"#,
            )
        }
    })
    .await
    .unwrap();
    let source = Arc::new(Rotating {
        refreshed: AtomicUsize::new(0),
    });
    let config = FeishuConfig::new(source.clone(), HELPDESK_ID, HELPDESK_TOKEN)
        .unwrap()
        .with_base_url(server.url())
        .unwrap();
    let receipt = FeishuClient::new(config)
        .unwrap()
        .update(&id("1"), &update())
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 2);
    assert_eq!(source.refreshed.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn local_refusals_send_nothing() {
    let server = ScriptedServer::always(Reply::json(200, OK)).await.unwrap();
    let client = client_for(server.url());
    let cases = [
        (
            TicketUpdate::default(),
            ErrorKind::InvalidInput,
            "at least one field",
        ),
        (
            TicketUpdate::builder().title("t").build().unwrap(),
            ErrorKind::Unsupported,
            "title",
        ),
        (
            TicketUpdate::builder()
                .comment("c")
                .provider_field("feishu", "status", 1)
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
            "provider_fields.feishu.status",
        ),
        (
            TicketUpdate::builder()
                .provider_field("feishu", "channel", "web")
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
            "must be an integer",
        ),
        // `int` on Feishu's side is 32-bit: 2^63 passes JSON and was refused by the server.
        (
            TicketUpdate::builder()
                .provider_field("feishu", "ticket_type", 9_223_372_036_854_775_807_u64 + 1)
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
            "provider_fields.feishu.ticket_type: must be an integer from -2147483648 to 2147483647",
        ),
        (
            TicketUpdate::builder()
                .provider_field("feishu", "channel", 2_147_483_648_i64)
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
            "provider_fields.feishu.channel",
        ),
    ];
    for (update, kind, needle) in cases {
        let err = client.update(&id("1"), &update).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn secrets_never_appear_in_debug_display_or_errors() {
    let client = client_for("http://127.0.0.1:1");
    let header = "NzAxMjM0NTY3ODpodC0wZDVlOWE3MWMy";
    let mut texts = vec![
        format!("{client:?}"),
        format!("{:?}", client.api().config()),
    ];
    for reply in [
        Reply::json(
            200,
            &format!(r#"{{"code":99991668,"msg":"bad token {TOKEN}"}}"#),
        ),
        Reply::text(
            200,
            "text/plain",
            &format!("{TOKEN} {HELPDESK_TOKEN} {header}"),
        ),
        Reply::json(
            400,
            &format!(r#"{{"code":154000,"msg":"{HELPDESK_TOKEN}"}}"#),
        ),
    ] {
        let err = error_for(reply).await;
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    let preview = client.preview(&id("1"), &update()).unwrap();
    texts.push(preview.to_string());
    texts.push(format!("{preview:?}"));
    for text in &texts {
        for secret in [TOKEN, HELPDESK_TOKEN, header] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
}

#[test]
fn configuration_is_checked() {
    assert!(FeishuConfig::with_static_token("", HELPDESK_ID, HELPDESK_TOKEN).is_err());
    assert!(FeishuConfig::with_static_token(TOKEN, "", HELPDESK_TOKEN).is_err());
    assert!(FeishuConfig::with_static_token(TOKEN, "a:b", HELPDESK_TOKEN).is_err());
    assert!(FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, "").is_err());
    let err = FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN)
        .unwrap()
        .with_base_url("http://open.feishu.cn")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn a_token_with_its_scheme_or_a_newline_is_sent_once_cleanly() {
    let server = ScriptedServer::always(Reply::json(200, OK)).await.unwrap();
    for (token, helpdesk_token) in [
        (format!("Bearer {TOKEN}"), HELPDESK_TOKEN.to_owned()),
        (format!("{TOKEN}\n"), format!("{HELPDESK_TOKEN}\n")),
        (
            format!("  bearer {TOKEN}\r\n"),
            format!(" {HELPDESK_TOKEN}"),
        ),
    ] {
        let config = FeishuConfig::with_static_token(token, HELPDESK_ID, helpdesk_token)
            .unwrap()
            .with_base_url(server.url())
            .unwrap()
            .with_http_options(options());
        FeishuClient::new(config)
            .unwrap()
            .update(&id("1"), &update())
            .await
            .unwrap();
    }
    for request in server.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        // base64("7012345678:ht-0d5e9a71c2")
        assert_eq!(
            request.header("x-lark-helpdesk-authorization"),
            Some("NzAxMjM0NTY3ODpodC0wZDVlOWE3MWMy")
        );
    }
    let err = FeishuConfig::with_static_token("u-a b", HELPDESK_ID, HELPDESK_TOKEN).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(!err.to_string().contains("u-a b"), "{err}");
}
