//! Broken and hostile servers, for both providers: each answer ends in a typed error, never a
//! panic, a followed redirect, an unbounded read or a hang.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use helpdesk::{ErrorKind, Sent, TicketError, TicketUpdater};
use support::*;
use ticket_http::HttpOptions;
use ticket_http::test_server::{Reply, ScriptedServer};

fn both(url: &str, http: HttpOptions) -> [(&'static str, Arc<dyn TicketUpdater>); 2] {
    [
        ("engagelab", engagelab(url, http.clone())),
        ("feishu", feishu(url, http)),
    ]
}

async fn outcome(reply: Reply) -> Vec<(&'static str, TicketError, ScriptedServer)> {
    outcome_with(reply, fast(0)).await
}

async fn outcome_with(
    reply: Reply,
    http: HttpOptions,
) -> Vec<(&'static str, TicketError, ScriptedServer)> {
    let mut out = Vec::new();
    for provider in ["engagelab", "feishu"] {
        let server = ScriptedServer::always(reply.clone()).await.unwrap();
        let updater = both(server.url(), http.clone())
            .into_iter()
            .find(|(p, _)| *p == provider)
            .unwrap()
            .1;
        let err = updater
            .update(&id("t1"), &update_for(provider))
            .await
            .unwrap_err();
        out.push((provider, err, server));
    }
    out
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_target_never_sees_a_request() {
    let elsewhere = ScriptedServer::always(Reply::json(200, FS_OK))
        .await
        .unwrap();
    for status in [301, 302, 307, 308] {
        let location = format!("{}/stolen", elsewhere.url());
        for (provider, err, server) in
            outcome(Reply::json(status, "").header("location", &location)).await
        {
            assert_eq!(err.kind(), ErrorKind::Provider, "{provider} {status}");
            assert_eq!(err.server().unwrap().status, status);
            assert!(err.to_string().contains("redirect not followed"), "{err}");
            assert_eq!(server.requests().len(), 1);
        }
    }
    assert_eq!(
        elsewhere.connections(),
        0,
        "the redirect target was contacted"
    );
}

#[tokio::test]
async fn a_100_mb_body_is_refused_past_the_cap() {
    let cap = 64 * 1024;
    for (provider, updater) in both("http://127.0.0.1:1", fast(0)) {
        drop(updater);
        let server = ScriptedServer::always(Reply::Huge {
            bytes: 100 * 1024 * 1024,
        })
        .await
        .unwrap();
        let updater = if provider == "engagelab" {
            engagelab(server.url(), fast(0).max_response_bytes(cap))
        } else {
            feishu(server.url(), fast(0).max_response_bytes(cap))
        };
        let err = updater
            .update(&id("t1"), &update_for(provider))
            .await
            .unwrap_err();
        let TicketError::MalformedResponse {
            reason, excerpt, ..
        } = &err
        else {
            panic!("{provider}: expected MalformedResponse, got {err:?}");
        };
        assert!(reason.contains("65536-byte cap"), "{reason}");
        assert!(excerpt.len() <= 200);
    }
    // A declared length over the cap is refused before reading.
    for (provider, err, _) in outcome(Reply::Raw(
        b"HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n{".to_vec(),
    ))
    .await
    {
        assert_eq!(
            err.kind(),
            ErrorKind::MalformedResponse,
            "{provider}: {err}"
        );
    }
}

#[tokio::test]
async fn garbled_answers_are_typed_errors() {
    let bodies = [
        ("truncated JSON", r#"{"code":0,"mess"#),
        ("not JSON", "<html>gateway</html>"),
        ("wrong shape", r#"[1,2,3]"#),
        ("empty", ""),
        (
            "code is a string",
            r#"{"code":"0","msg":"success","message":"Success"}"#,
        ),
    ];
    for (label, body) in bodies {
        for (provider, err, _) in outcome(Reply::text(200, "application/json", body)).await {
            assert_eq!(
                err.kind(),
                ErrorKind::MalformedResponse,
                "{provider} {label}: {err}"
            );
        }
    }
    for (provider, err, _) in outcome(Reply::json(
        200,
        r#"{"code":7,"msg":"nope","message":"nope"}"#,
    ))
    .await
    {
        assert_eq!(err.kind(), ErrorKind::Provider, "{provider}");
        assert_eq!(
            err.server().unwrap().code.as_ref().and_then(|c| c.as_i64()),
            Some(7)
        );
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_configured_time() {
    for (provider, err, _) in outcome_with(Reply::Hang, against_silence(0)).await {
        let TicketError::Timeout { after, sent, .. } = &err else {
            panic!("{provider}: expected Timeout, got {err:?}");
        };
        assert_eq!(*after, SILENCE_TIMEOUT);
        assert_eq!(*sent, Sent::Maybe);
    }
}

#[tokio::test]
async fn a_connection_closed_mid_response_is_a_transport_error() {
    let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 120\r\n\r\n{\"code\":0,".to_vec();
    for (provider, err, _) in outcome(Reply::Raw(raw.clone())).await {
        let TicketError::Transport { sent, .. } = &err else {
            panic!("{provider}: expected Transport, got {err:?}");
        };
        assert_eq!(*sent, Sent::Maybe);
    }
    for (provider, err, _) in outcome(Reply::Close).await {
        assert_eq!(err.kind(), ErrorKind::Transport, "{provider}");
    }
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_at_configuration_time() {
    use provider_engagelab::EngageLabConfig;
    use provider_feishu::FeishuConfig;
    for url in [
        "http://livedesk-api.engagelab.com",
        "http://10.0.0.8:8080",
        "http://[2001:db8::1]",
    ] {
        let el = EngageLabConfig::new(EL_KEY, EL_SECRET)
            .unwrap()
            .with_base_url(url)
            .unwrap_err();
        let fs = FeishuConfig::with_static_token(FS_TOKEN, FS_HELPDESK_ID, FS_HELPDESK_TOKEN)
            .unwrap()
            .with_base_url(url)
            .unwrap_err();
        for err in [el, fs] {
            assert_eq!(err.kind(), ErrorKind::Configuration, "{url}");
            assert!(err.to_string().contains("non-loopback"), "{err}");
        }
    }
    for url in ["http://127.0.0.2:1", "http://localhost", "http://[::1]:80"] {
        assert!(
            EngageLabConfig::new(EL_KEY, EL_SECRET)
                .unwrap()
                .with_base_url(url)
                .is_ok(),
            "{url}"
        );
    }
}
