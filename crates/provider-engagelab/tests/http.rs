//! EngageLab over real loopback HTTP against a scripted server: success decoding, every error
//! kind, local refusals that send nothing, ticket-id encoding, and secrets kept out of errors.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use helpdesk_provider_engagelab::{EngageLabClient, EngageLabConfig};
use ticket_core::{ErrorKind, Priority, Sent, TicketError, TicketId, TicketUpdate, TicketUpdater};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{HttpOptions, RetryPolicy};

const KEY: &str = "el-key-4a7f09";
const SECRET: &str = "el-secret-b81c33";
const OK: &str = r#"{"code":0,"message":"Success","data":{"ticket_id":"tk_1","updated_at":"2025-11-04T10:30:00+08:00"}}"#;
/// One attempt, so each test sees the first answer's error (retries are tested by the
/// conformance suite and the workspace's tests/resilience.rs), with the default timeouts: a
/// loaded machine must not turn an answer into a timeout.
fn client_for(url: &str) -> EngageLabClient {
    client_with(url, HttpOptions::default().retry(RetryPolicy::disabled()))
}

fn client_with(url: &str, http: HttpOptions) -> EngageLabClient {
    let config = EngageLabConfig::new(KEY, SECRET)
        .unwrap()
        .with_base_url(url)
        .unwrap()
        .with_http_options(http);
    EngageLabClient::new(config).unwrap()
}

fn update() -> TicketUpdate {
    TicketUpdate::builder()
        .title("Printer jammed")
        .description("Paper stuck.")
        .priority(Priority::High)
        .build()
        .unwrap()
}

fn id(text: &str) -> TicketId {
    TicketId::new(text).unwrap()
}

async fn error_for(reply: Reply) -> (TicketError, ScriptedServer) {
    let server = ScriptedServer::always(reply).await.unwrap();
    let err = client_for(server.url())
        .update(&id("tk_1"), &update())
        .await
        .unwrap_err();
    (err, server)
}

#[tokio::test]
async fn success_sends_the_documented_request_and_decodes_the_receipt() {
    let server = ScriptedServer::always(Reply::json(200, OK).header("x-request-id", "req-77"))
        .await
        .unwrap();
    let receipt = client_for(server.url())
        .update(&id("tk_1"), &update())
        .await
        .unwrap();
    assert_eq!(receipt.provider, "engagelab");
    assert_eq!(receipt.ticket_id.as_str(), "tk_1");
    assert_eq!(receipt.request_id.as_deref(), Some("req-77"));
    assert_eq!(receipt.attempts, 1);
    let at = receipt.updated_at.unwrap();
    assert_eq!(at.unix_timestamp(), 1_762_223_400);
    assert_eq!(at.offset().whole_hours(), 8);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(req.target, "/api/v2/accounts/tickets/tk_1");
    // base64("el-key-4a7f09:el-secret-b81c33")
    assert_eq!(
        req.header("authorization"),
        Some("Basic ZWwta2V5LTRhN2YwOTplbC1zZWNyZXQtYjgxYzMz")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.body_text(),
        r#"{"title":"Printer jammed","description":"Paper stuck.","priority":"high"}"#
    );
}

#[tokio::test]
async fn a_landed_update_succeeds_whatever_the_form_of_updated_at() {
    let at = 1_762_223_400;
    // (updated_at as JSON, the time read, whether the raw text is kept)
    let cases: [(&str, Option<i64>, Option<&str>); 8] = [
        (r#""2025-11-04T10:30:00+08:00""#, Some(at), None),
        (
            r#""2025-11-04 02:30:00""#,
            Some(at),
            Some("2025-11-04 02:30:00"),
        ),
        (
            r#""2025-11-04T02:30:00""#,
            Some(at),
            Some("2025-11-04T02:30:00"),
        ),
        (r#""1762223400""#, Some(at), None),
        ("1762223400", Some(at), None),
        ("1762223400000", Some(at), None),
        (r#""yesterday""#, None, Some("yesterday")),
        ("null", None, None),
    ];
    for (json, expected, raw) in cases {
        let body = format!(
            r#"{{"code":0,"message":"Success","data":{{"ticket_id":"tk_1","updated_at":{json}}}}}"#
        );
        let server = ScriptedServer::always(Reply::json(200, &body))
            .await
            .unwrap();
        let receipt = client_for(server.url())
            .update(&id("tk_1"), &update())
            .await
            .unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(
            receipt.updated_at.map(|t| t.unix_timestamp()),
            expected,
            "{json}"
        );
        assert_eq!(receipt.updated_at_raw.as_deref(), raw, "{json}");
        assert_eq!(receipt.confirmed_ticket_id.as_deref(), Some("tk_1"));
        assert_eq!(server.requests().len(), 1, "{json}: one attempt");
    }
    // No `data` at all is a success too.
    let server = ScriptedServer::always(Reply::json(
        200,
        r#"{"code":0,"message":"Success","data":{}}"#,
    ))
    .await
    .unwrap();
    let receipt = client_for(server.url())
        .update(&id("tk_1"), &update())
        .await
        .unwrap();
    assert_eq!(receipt.updated_at, None);
    assert_eq!(receipt.confirmed_ticket_id, None);
}

#[tokio::test]
async fn a_success_for_another_ticket_is_an_error_naming_both() {
    let server = ScriptedServer::always(Reply::json(200, OK)).await.unwrap();
    let err = client_for(server.url())
        .update(&id("tk_2"), &update())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
    assert!(
        !err.is_retryable(),
        "the answer was a success: never resend"
    );
    let text = err.to_string();
    assert!(
        text.contains("\"tk_1\"") && text.contains("\"tk_2\""),
        "{text}"
    );
    // A numeric id that matches is fine.
    let server = ScriptedServer::always(Reply::json(
        200,
        r#"{"code":0,"message":"Success","data":{"ticket_id":42}}"#,
    ))
    .await
    .unwrap();
    let receipt = client_for(server.url())
        .update(&id("42"), &update())
        .await
        .unwrap();
    assert_eq!(receipt.confirmed_ticket_id.as_deref(), Some("42"));
}

#[tokio::test]
async fn auth_failure_in_the_nested_error_shape() {
    let (err, _) = error_for(Reply::json(
        401,
        r#"{"error":{"code":40101,"message":"authentication failed"}}"#,
    ))
    .await;
    let TicketError::Unauthenticated(details) = &err else {
        panic!("expected Unauthenticated, got {err:?}");
    };
    assert_eq!(
        (
            details.status,
            details.code.as_ref().and_then(|c| c.as_i64())
        ),
        (401, Some(40101))
    );
    assert_eq!(details.message, "authentication failed");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rate_limit_keeps_retry_after() {
    let (err, _) = error_for(
        Reply::json(429, r#"{"code":42901,"message":"too many requests"}"#)
            .header("retry-after", "7"),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_retryable());
    let (err, _) = error_for(Reply::json(400, r#"{"code":42901,"message":"slow down"}"#)).await;
    assert_eq!(err.kind(), ErrorKind::RateLimited);
}

#[tokio::test]
async fn server_errors_are_provider_errors_and_retryable() {
    let (err, _) = error_for(Reply::json(
        500,
        r#"{"code":50001,"message":"internal error"}"#,
    ))
    .await;
    let TicketError::Provider(details) = &err else {
        panic!("expected Provider, got {err:?}");
    };
    assert_eq!(
        (
            details.status,
            details.code.as_ref().and_then(|c| c.as_i64())
        ),
        (500, Some(50001))
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_bad_request_is_a_provider_error_not_worth_retrying() {
    let (err, _) = error_for(Reply::json(
        400,
        r#"{"code":40001,"message":"title is required"}"#,
    ))
    .await;
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.server().unwrap().message, "title is required");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_non_zero_code_with_http_200_is_an_error() {
    let (err, _) = error_for(Reply::json(200, r#"{"code":12345,"message":"odd"}"#)).await;
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(
        err.server().unwrap().code.as_ref().and_then(|c| c.as_i64()),
        Some(12345)
    );
}

#[tokio::test]
async fn a_non_json_error_falls_back_to_the_status() {
    let (err, _) = error_for(Reply::text(502, "text/html", "<html>bad gateway</html>")).await;
    let TicketError::Provider(details) = &err else {
        panic!("expected Provider, got {err:?}");
    };
    assert_eq!(
        (
            details.status,
            details.code.as_ref().and_then(|c| c.as_i64())
        ),
        (502, None)
    );
    assert_eq!(details.message, "<html>bad gateway</html>");
    let (err, _) = error_for(Reply::text(404, "text/plain", "")).await;
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.server().unwrap().message, "Not Found");
    // An empty message says nothing either: the body is quoted instead.
    let (err, _) = error_for(Reply::json(404, r#"{"code":40401,"message":""}"#)).await;
    assert_eq!(
        err.server().unwrap().message,
        r#"{"code":40401,"message":""}"#
    );
}

#[tokio::test]
async fn a_non_json_success_is_malformed() {
    let (err, _) = error_for(Reply::text(200, "text/html", "<html>gateway</html>")).await;
    let TicketError::MalformedResponse {
        status, excerpt, ..
    } = &err
    else {
        panic!("expected MalformedResponse, got {err:?}");
    };
    assert_eq!((*status, excerpt.as_str()), (200, "<html>gateway</html>"));
    assert!(!err.is_retryable(), "a garbled 2xx may have landed");
    let (err, _) = error_for(Reply::json(200, r#"{"message":"Success"}"#)).await;
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (err, server) =
        error_for(Reply::json(307, "").header("location", "http://127.0.0.1:9/elsewhere")).await;
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("redirect not followed"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn refused_connection_is_transport_not_sent() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = client_for(&format!("http://127.0.0.1:{port}"))
        .update(&id("tk_1"), &update())
        .await
        .unwrap_err();
    let TicketError::Transport { sent, .. } = &err else {
        panic!("expected Transport, got {err:?}");
    };
    assert_eq!(*sent, Sent::No);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_closed_connection_is_transport_maybe_sent() {
    let (err, _) = error_for(Reply::Close).await;
    let TicketError::Transport { sent, .. } = &err else {
        panic!("expected Transport, got {err:?}");
    };
    assert_eq!(*sent, Sent::Maybe);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // A server that never answers: a short timeout cannot cut an answer short here.
    let server = ScriptedServer::always(Reply::Hang).await.unwrap();
    let short = HttpOptions::default()
        .request_timeout(Duration::from_millis(500))
        .retry(RetryPolicy::disabled());
    let err = client_with(server.url(), short)
        .update(&id("tk_1"), &update())
        .await
        .unwrap_err();
    let TicketError::Timeout { after, sent, .. } = &err else {
        panic!("expected Timeout, got {err:?}");
    };
    assert_eq!((*after, *sent), (Duration::from_millis(500), Sent::Maybe));
}

#[tokio::test]
async fn local_refusals_send_nothing() {
    let server = ScriptedServer::always(Reply::json(200, OK)).await.unwrap();
    let client = client_for(server.url());
    let no_description = TicketUpdate::builder().title("t").build().unwrap();
    let unsupported = TicketUpdate::builder()
        .title("t")
        .description("d")
        .comment("c")
        .build()
        .unwrap();
    let collision = TicketUpdate::builder()
        .title("t")
        .description("d")
        .priority(Priority::Low)
        .provider_field("engagelab", "priority", "normal")
        .build()
        .unwrap();
    let no_priority = TicketUpdate::builder()
        .title("t")
        .description("d")
        .build()
        .unwrap();
    let cases = [
        (
            TicketUpdate::default(),
            ErrorKind::InvalidInput,
            "title, description",
        ),
        (no_description, ErrorKind::InvalidInput, "description"),
        // An omitted priority would be reset to medium: refused, naming both remedies.
        (no_priority, ErrorKind::InvalidInput, "priority"),
        (
            TicketUpdate::builder()
                .title("t")
                .description("d")
                .build()
                .unwrap(),
            ErrorKind::InvalidInput,
            "set it, or use merge mode",
        ),
        (unsupported, ErrorKind::Unsupported, "comment"),
        (
            collision,
            ErrorKind::InvalidInput,
            "provider_fields.engagelab.priority",
        ),
    ];
    for (update, kind, needle) in cases {
        let err = client.update(&id("tk_1"), &update).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
    assert_eq!(server.requests().len(), 0);
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn secrets_never_appear_in_debug_display_or_errors() {
    let client = client_for("http://127.0.0.1:1");
    let basic = "ZWwta2V5LTRhN2YwOTplbC1zZWNyZXQtYjgxYzMz";
    let mut texts = vec![
        format!("{client:?}"),
        format!("{:?}", client.api().config()),
    ];
    // A server that echoes the credentials back in its error message and body.
    for reply in [
        Reply::json(
            401,
            &format!(r#"{{"code":40101,"message":"bad key {KEY}:{SECRET}"}}"#),
        ),
        Reply::text(200, "text/plain", &format!("echo {SECRET} {KEY}")),
        Reply::text(500, "text/plain", &format!("echo {SECRET}")),
        Reply::text(
            401,
            "text/plain",
            &format!("bad authorization: Basic {basic}"),
        ),
    ] {
        let (err, _) = error_for(reply).await;
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    let preview = client.preview(&id("tk_1"), &update()).unwrap();
    texts.push(preview.to_string());
    texts.push(format!("{preview:?}"));
    let (request, _) = client.prepare(&id("tk_1"), &update()).unwrap();
    texts.push(format!("{request:?}"));
    for text in &texts {
        for secret in [KEY, SECRET, basic] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    assert!(texts.iter().any(|t| t.contains("<redacted>")));
}

#[test]
fn configuration_is_checked() {
    let bad = [
        EngageLabConfig::new("", SECRET).err(),
        EngageLabConfig::new("a:b", SECRET).err(),
        EngageLabConfig::new(KEY, "").err(),
        EngageLabConfig::new(KEY, SECRET)
            .unwrap()
            .with_base_url("http://example.com")
            .err(),
        EngageLabConfig::new(KEY, SECRET)
            .unwrap()
            .with_base_url("ftp://127.0.0.1")
            .err(),
        EngageLabConfig::new(KEY, SECRET)
            .unwrap()
            .with_base_url("https://u:p@example.com")
            .err(),
    ];
    for err in bad {
        let err = err.expect("should be refused");
        assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    }
    let ok = EngageLabConfig::new(KEY, SECRET)
        .unwrap()
        .with_base_url("http://localhost:8080/")
        .unwrap();
    assert_eq!(ok.base_url().as_str(), "http://localhost:8080");
}

#[tokio::test]
async fn secrets_with_a_trailing_newline_are_sent_trimmed() {
    let server = ScriptedServer::always(Reply::json(200, OK)).await.unwrap();
    let config = EngageLabConfig::new(format!("{KEY}\n"), format!(" {SECRET}\r\n"))
        .unwrap()
        .with_base_url(server.url())
        .unwrap();
    EngageLabClient::new(config)
        .unwrap()
        .update(&id("tk_1"), &update())
        .await
        .unwrap();
    // base64("el-key-4a7f09:el-secret-b81c33"), as for untrimmed values.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Basic ZWwta2V5LTRhN2YwOTplbC1zZWNyZXQtYjgxYzMz")
    );
}
