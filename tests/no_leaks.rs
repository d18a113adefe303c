//! No configured secret, token or refresh token appears in TRACE-level logs (ours, reqwest's
//! and hyper's), in any span field (as created or recorded later), in any metric label, nor in
//! errors, during a full update, a failed update and a token refresh.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use helpdesk::TicketUpdater;
use provider_feishu::{FeishuClient, FeishuConfig, RefreshingToken};
use support::*;
use ticket_http::test_server::{Reply, ScriptedServer};

const APP_SECRET: &str = "app-secret-7b1d";
const REFRESH_1: &str = "rt-first-0c4e";
const REFRESH_2: &str = "rt-second-9f3a";
const ACCESS_2: &str = "u-refreshed-2d8b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_and_errors_hold_no_secret() {
    let capture = trace_logs();
    metrics_capture();

    let mut errors = Vec::new();
    // A full update, and a failed one whose body echoes the credentials.
    let server = ScriptedServer::start(|req| {
        if req.target.ends_with("/ok") {
            Reply::json(200, EL_OK)
        } else {
            Reply::json(
                401,
                &format!(r#"{{"code":40101,"message":"{EL_KEY}:{EL_SECRET}"}}"#),
            )
        }
    })
    .await
    .unwrap();
    let el = engagelab(server.url(), fast(0));
    el.update(&id("ok"), &update_for("engagelab"))
        .await
        .unwrap();
    let err = el
        .update(&id("bad"), &update_for("engagelab"))
        .await
        .unwrap_err();
    errors.push(format!("{err} {err:?}"));

    // A token refresh: the first access token is refused, the source refreshes, the retry lands.
    let feishu_server = ScriptedServer::start(|req| {
        if req.target == provider_feishu::TOKEN_PATH {
            let body = req.body_text();
            assert!(body.contains(REFRESH_1) && body.contains(APP_SECRET));
            Reply::json(
                200,
                &format!(r#"{{"code":0,"access_token":"{ACCESS_2}","expires_in":7200,"refresh_token":"{REFRESH_2}","refresh_token_expires_in":604800,"token_type":"Bearer","scope":""}}"#),
            )
        } else if req.header("authorization") == Some(&format!("Bearer {ACCESS_2}")) {
            Reply::json(200, FS_OK)
        } else {
            Reply::json(200, &format!(r#"{{"code":99991677,"msg":"expired {FS_TOKEN}"}}"#))
        }
    })
    .await
    .unwrap();
    let source = RefreshingToken::builder("cli_app", APP_SECRET, REFRESH_1)
        .base_url(feishu_server.url())
        .access_token(FS_TOKEN, None)
        .build()
        .unwrap();
    let config = FeishuConfig::new(Arc::new(source.clone()), FS_HELPDESK_ID, FS_HELPDESK_TOKEN)
        .unwrap()
        .with_base_url(feishu_server.url())
        .unwrap()
        .with_http_options(fast(0));
    let client = FeishuClient::new(config).unwrap();
    let receipt = client
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 2);
    assert_eq!(source.refreshes().await, 1);
    errors.push(format!("{source:?} {client:?}"));

    let logs = capture.text();
    assert!(logs.contains("ticket_http.send"), "our spans were captured");
    assert!(logs.contains("TRACE"), "TRACE-level events were captured");
    // Span fields recorded after creation are in the capture too, and so are the metrics.
    assert!(
        logs.contains("RECORD ticket.update") && logs.contains("ticket.outcome=failed"),
        "the update spans' recorded fields were captured"
    );
    assert!(logs.contains("SPAN ticket.token.refresh"), "{logs}");
    let labels = metric_labels();
    for metric in [
        "ticket.updates{provider=engagelab,outcome=ok}",
        "ticket.updates{provider=engagelab,outcome=failed}",
        "ticket.token.refreshes{provider=feishu,token=user,outcome=ok}",
        "http.client.request.duration{provider=feishu,operation=send,http.request.method=POST,http.response.status_code=200}",
    ] {
        assert!(labels.contains(metric), "{metric} in {labels}");
    }
    let mut secrets = secrets();
    secrets.extend([APP_SECRET, REFRESH_1, REFRESH_2, ACCESS_2].map(String::from));
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} leaked into the logs"
        );
        assert!(
            !labels.contains(secret.as_str()),
            "{secret} leaked into a metric label"
        );
        for text in &errors {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} leaked into {text}"
            );
        }
    }
}
