//! What an operator sees, over real loopback HTTP: the spans (`ticket.update`, `ticket.get`, one
//! `ticket_http.send` per attempt under OpenTelemetry's HTTP client names, `ticket.wait`,
//! `ticket.token.refresh`) of a successful, a retried (503, then 200) and a failed update, a
//! read, token refreshes (one refused) and a hook's wait, captured by a small layer; and the
//! metrics of the same updates, by a debugging recorder installed for each test alone. The rate
//! budget's are in `telemetry_budget.rs`.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use helpdesk::telemetry;
use helpdesk::{TicketError, TicketUpdater};
use metrics::Unit;
use metrics_util::MetricKind;
use metrics_util::debugging::DebugValue;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use support::observe::{counter, metric, observe, samples};
use support::spans::SpanRecord;
use support::{EL_OK, engagelab, fast, feishu_client, feishu_sandbox, id, in_progress, update_for};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{Attempt, AttemptHook};
use tracing::Level;

/// The three updates against one scripted EngageLab: `t-ok` succeeds, `t-flaky` gets a 503
/// and then succeeds, `t-missing` is not found. Each answer carries a request id.
async fn three_updates() -> (String, Vec<Result<u32, TicketError>>) {
    let flaky = Arc::new(AtomicU32::new(0));
    let server = ScriptedServer::start(move |req| {
        let ok = |rid: &str| Reply::json(200, EL_OK).header("x-request-id", rid);
        if req.target.ends_with("/t-ok") {
            ok("req-ok")
        } else if req.target.ends_with("/t-flaky") {
            if flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::json(503, r#"{"code":50300,"message":"busy"}"#)
                    .header("x-request-id", "req-busy")
            } else {
                ok("req-flaky")
            }
        } else {
            Reply::json(404, r#"{"code":40400,"message":"no such ticket"}"#)
                .header("x-request-id", "req-missing")
        }
    })
    .await
    .unwrap();
    let client = engagelab(server.url(), fast(1));
    let mut results = Vec::new();
    for ticket in ["t-ok", "t-flaky", "t-missing"] {
        let result = client.update(&id(ticket), &update_for("engagelab")).await;
        results.push(result.map(|r| r.attempts));
    }
    (server.url().to_owned(), results)
}

fn field<'a>(span: &'a SpanRecord, name: &str) -> Option<&'a str> {
    span.field(name)
}

#[test]
fn a_successful_a_retried_and_a_failed_update_have_one_span_each_with_every_field() {
    let ((url, results), spans, _) = observe(three_updates);
    assert_eq!(results[0].as_ref().unwrap(), &1);
    assert_eq!(results[1].as_ref().unwrap(), &2);
    assert!(results[2].is_err());
    let port = url.rsplit(':').next().unwrap().to_owned();

    let updates = spans.named(telemetry::UPDATE_SPAN);
    assert_eq!(updates.len(), 3, "{updates:#?}");
    let expected = [
        ("t-ok", "1", "req-ok", "ok", None),
        ("t-flaky", "2", "req-flaky", "ok", None),
        ("t-missing", "1", "req-missing", "failed", Some("not_found")),
    ];
    for ((_, span), (ticket, attempts, request_id, outcome, error)) in updates.iter().zip(expected)
    {
        assert_eq!(span.level, Level::INFO, "an INFO subscriber sees updates");
        assert_eq!(span.parent, None);
        assert_eq!(field(span, "ticket.provider"), Some("engagelab"));
        assert_eq!(field(span, "ticket.id"), Some(ticket));
        assert_eq!(field(span, "ticket.attempts"), Some(attempts), "{span:?}");
        assert_eq!(field(span, "ticket.request_id"), Some(request_id));
        assert_eq!(field(span, "ticket.outcome"), Some(outcome));
        assert_eq!(field(span, "error.type"), error);
        let status = error.map(|_| "ERROR");
        assert_eq!(field(span, "otel.status_code"), status);
    }

    // Per attempt: (ticket, resend count, status, error type, request id).
    let attempts = [
        vec![("t-ok", None, "200", None, "req-ok")],
        vec![
            ("t-flaky", None, "503", Some("provider"), "req-busy"),
            ("t-flaky", Some("1"), "200", None, "req-flaky"),
        ],
        vec![("t-missing", None, "404", Some("not_found"), "req-missing")],
    ];
    for ((index, _), expected) in updates.iter().zip(attempts) {
        let children = spans.children(*index, telemetry::ATTEMPT_SPAN);
        assert_eq!(children.len(), expected.len(), "{children:#?}");
        for (span, (ticket, resend, status, error, request_id)) in children.iter().zip(expected) {
            assert_eq!(span.level, Level::DEBUG, "attempts are DEBUG");
            let template = "/api/v2/accounts/tickets/{id}";
            let full = format!("{url}/api/v2/accounts/tickets/{ticket}");
            for (name, value) in [
                ("otel.kind", "client"),
                ("otel.name", "PUT /api/v2/accounts/tickets/{id}"),
                ("ticket.provider", "engagelab"),
                ("ticket.operation", "update"),
                ("http.request.method", "PUT"),
                ("server.address", "127.0.0.1"),
                ("server.port", port.as_str()),
                ("url.template", template),
                ("url.full", full.as_str()),
                ("http.response.status_code", status),
                ("ticket.request_id", request_id),
            ] {
                assert_eq!(field(span, name), Some(value), "{name} of {span:#?}");
            }
            assert_eq!(field(span, "http.request.resend_count"), resend);
            assert_eq!(field(span, "error.type"), error);
        }
    }

    // The retry is announced inside the update it belongs to, with its wait.
    let retries: Vec<_> = spans
        .events()
        .into_iter()
        .filter(|e| e.field("message") == Some("retrying"))
        .collect();
    assert_eq!(retries.len(), 1, "{retries:#?}");
    assert_eq!(retries[0].level, Level::INFO);
    assert_eq!(retries[0].span, Some(updates[1].0));
    assert_eq!(retries[0].field("error.type"), Some("provider"));
    assert_eq!(retries[0].field("wait_ms"), Some("10"));
}

#[test]
fn the_metrics_count_the_three_updates_and_time_each_attempt() {
    let (_, _, snapshot) = observe(three_updates);
    let snapshot = snapshot.into_vec();
    let count = |name: &str, labels: &[(&str, &str)]| match metric(
        &snapshot,
        MetricKind::Counter,
        name,
        labels,
    ) {
        Some((_, DebugValue::Counter(n))) => *n,
        other => panic!("{name} {labels:?}: {other:?} in {snapshot:#?}"),
    };
    let el = ("provider", "engagelab");
    assert_eq!(count(telemetry::UPDATES, &[el, ("outcome", "ok")]), 2);
    assert_eq!(count(telemetry::UPDATES, &[el, ("outcome", "failed")]), 1);
    assert_eq!(count(telemetry::RETRIES, &[el, ("operation", "update")]), 1);

    let put = [el, ("operation", "update"), ("http.request.method", "PUT")];
    let durations = |extra: &[(&str, &str)]| {
        let labels: Vec<_> = put.iter().chain(extra).copied().collect();
        let (unit, value) = metric(
            &snapshot,
            MetricKind::Histogram,
            telemetry::REQUEST_DURATION,
            &labels,
        )
        .unwrap_or_else(|| panic!("{labels:?} in {snapshot:#?}"));
        assert_eq!(unit, Some(Unit::Seconds));
        samples(value)
    };
    let ok = durations(&[("http.response.status_code", "200")]);
    let busy = durations(&[
        ("http.response.status_code", "503"),
        ("error.type", "provider"),
    ]);
    let missing = durations(&[
        ("http.response.status_code", "404"),
        ("error.type", "not_found"),
    ]);
    assert_eq!((ok.len(), busy.len(), missing.len()), (2, 1, 1));
    for seconds in ok.iter().chain(&busy).chain(&missing) {
        assert!(seconds.is_finite() && *seconds > 0.0, "{seconds}");
    }
    // Nothing else was measured: four attempts in all.
    let attempts: usize = snapshot
        .iter()
        .filter(|(k, ..)| k.key().name() == telemetry::REQUEST_DURATION)
        .map(|(.., v)| samples(v).len())
        .sum();
    assert_eq!(attempts, 4);
}

/// A read has its own `ticket.get` span (a GET attempt under it), and Feishu's tenant token
/// fetch appears inside it as a `ticket.token.refresh` span; a read is counted by outcome.
#[test]
fn a_read_has_a_get_span_and_the_tenant_token_fetch_is_inside_it() {
    let (snapshot, spans, metrics) = observe(|| async {
        let sb = feishu_sandbox("7001", None).await;
        let c = sb.credentials();
        let config = FeishuConfig::with_static_token(
            &c.feishu_user_access_token,
            &c.feishu_helpdesk_id,
            &c.feishu_helpdesk_token,
        )
        .unwrap()
        .with_base_url(&sb.base_url())
        .unwrap()
        .with_app_credentials(&c.feishu_app_id, &c.feishu_app_secret)
        .unwrap()
        .with_http_options(fast(0));
        FeishuClient::new(config).unwrap().read(&id("7001")).await
    });
    snapshot.unwrap();
    let gets = spans.named(telemetry::GET_SPAN);
    assert_eq!(gets.len(), 1, "{gets:#?}");
    let (index, get) = &gets[0];
    assert_eq!(get.level, Level::INFO);
    assert_eq!(field(get, "ticket.provider"), Some("feishu"));
    assert_eq!(field(get, "ticket.id"), Some("7001"));
    assert_eq!(field(get, "ticket.attempts"), Some("1"));
    assert_eq!(field(get, "ticket.outcome"), Some("ok"));
    assert!(field(get, "ticket.request_id").is_some(), "{get:?}");
    assert_eq!(spans.named(telemetry::UPDATE_SPAN).len(), 0);

    let reads = spans.children(*index, telemetry::ATTEMPT_SPAN);
    let ticket_read = reads
        .iter()
        .find(|s| field(s, "url.template") == Some("/open-apis/helpdesk/v1/tickets/{id}"))
        .unwrap_or_else(|| panic!("{reads:#?}"));
    assert_eq!(field(ticket_read, "http.request.method"), Some("GET"));
    assert_eq!(field(ticket_read, "ticket.operation"), Some("get"));
    assert_eq!(field(ticket_read, "http.response.status_code"), Some("200"));

    let tenant = spans.children(*index, telemetry::TOKEN_REFRESH_SPAN);
    assert_eq!(tenant.len(), 1, "{:#?}", spans.spans());
    assert_eq!(field(&tenant[0], "ticket.token"), Some("tenant"));
    assert_eq!(field(&tenant[0], "ticket.outcome"), Some("ok"));
    let (fetch_index, _) = spans
        .named(telemetry::TOKEN_REFRESH_SPAN)
        .into_iter()
        .next()
        .unwrap();
    let fetch = spans.children(fetch_index, telemetry::ATTEMPT_SPAN);
    assert_eq!(fetch.len(), 1);
    assert_eq!(field(&fetch[0], "ticket.operation"), Some("tenant_token"));
    assert_eq!(
        field(&fetch[0], "url.template"),
        Some("/open-apis/auth/v3/tenant_access_token/internal")
    );

    let metrics = metrics.into_vec();
    let fs = ("provider", "feishu");
    for (name, labels) in [
        (telemetry::READS, vec![fs, ("outcome", "ok")]),
        (
            telemetry::TOKEN_REFRESHES,
            vec![fs, ("token", "tenant"), ("outcome", "ok")],
        ),
    ] {
        let value = metric(&metrics, MetricKind::Counter, name, &labels);
        assert_eq!(value.map(|v| v.1), Some(&DebugValue::Counter(1)), "{name}");
    }
}

/// A Feishu user token refresh appears inside the update that needed it, with the refresh
/// request as its attempt, and is counted.
#[test]
fn a_user_token_refresh_is_a_span_inside_the_update() {
    let (receipt, spans, metrics) = observe(|| async {
        let sb = feishu_sandbox("1", None).await;
        let source = support::refreshing(&sb).build().unwrap();
        feishu_client(&sb, Arc::new(source))
            .update(&id("1"), &in_progress())
            .await
    });
    receipt.unwrap();
    let updates = spans.named(telemetry::UPDATE_SPAN);
    assert_eq!(updates.len(), 1);
    let refreshes = spans.children(updates[0].0, telemetry::TOKEN_REFRESH_SPAN);
    assert_eq!(refreshes.len(), 1, "{:#?}", spans.spans());
    let refresh = &refreshes[0];
    assert_eq!(refresh.level, Level::INFO);
    assert_eq!(field(refresh, "ticket.provider"), Some("feishu"));
    assert_eq!(field(refresh, "ticket.token"), Some("user"));
    assert_eq!(field(refresh, "ticket.outcome"), Some("ok"));
    let (index, _) = spans.named(telemetry::TOKEN_REFRESH_SPAN)[0].clone();
    let request = spans.children(index, telemetry::ATTEMPT_SPAN);
    assert_eq!(request.len(), 1);
    assert_eq!(field(&request[0], "http.request.method"), Some("POST"));
    assert_eq!(
        field(&request[0], "url.template"),
        Some("/open-apis/authen/v2/oauth/token")
    );
    let labels = [("provider", "feishu"), ("token", "user"), ("outcome", "ok")];
    let metrics = metrics.into_vec();
    let counted = metric(
        &metrics,
        MetricKind::Counter,
        telemetry::TOKEN_REFRESHES,
        &labels,
    );
    assert_eq!(counted.map(|v| v.1), Some(&DebugValue::Counter(1)));
}

/// A hook that holds each attempt for a moment.
struct Hold;

#[async_trait::async_trait]
impl AttemptHook for Hold {
    async fn before_attempt(&self, _attempt: &Attempt<'_>) -> Result<(), TicketError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(())
    }
}

/// The time an attempt hook (a gate, a rate budget) holds an attempt is a `ticket.wait` span
/// inside the update, before the attempt.
#[test]
fn a_hooks_wait_is_a_span_inside_the_update() {
    let (result, spans, _) = observe(|| async {
        let server = ScriptedServer::always(Reply::json(200, EL_OK))
            .await
            .unwrap();
        let config = EngageLabConfig::new(support::EL_KEY, support::EL_SECRET)
            .unwrap()
            .with_base_url(server.url())
            .unwrap()
            .with_http_options(fast(0).attempt_hook(Arc::new(Hold)));
        EngageLabClient::new(config)
            .unwrap()
            .update(&id("t1"), &update_for("engagelab"))
            .await
    });
    result.unwrap();
    let (index, _) = spans.named(telemetry::UPDATE_SPAN)[0].clone();
    let waits = spans.children(index, telemetry::WAIT_SPAN);
    assert_eq!(waits.len(), 1, "{:#?}", spans.spans());
    assert_eq!(waits[0].level, Level::DEBUG);
    assert_eq!(field(&waits[0], "ticket.wait.reason"), Some("attempt_hook"));
    assert_eq!(field(&waits[0], "ticket.attempt"), Some("1"));
    assert_eq!(spans.children(index, telemetry::ATTEMPT_SPAN).len(), 1);
}

/// A refused refresh token: the refresh span says `failed` with the error's kind, the update
/// fails, and the refresh is counted as failed.
#[test]
fn a_failed_token_refresh_says_so_in_its_span_and_is_counted() {
    let (result, spans, metrics) = observe(|| async {
        let sb = feishu_sandbox("1", None).await;
        let c = sb.credentials();
        let source = provider_feishu::RefreshingToken::builder(
            &c.feishu_app_id,
            &c.feishu_app_secret,
            "r-not-one-the-sandbox-issued",
        )
        .base_url(sb.base_url())
        .build()
        .unwrap();
        feishu_client(&sb, Arc::new(source))
            .update(&id("1"), &in_progress())
            .await
    });
    let err = result.unwrap_err();
    let kind = err.kind().as_str();
    let (index, update) = spans.named(telemetry::UPDATE_SPAN)[0].clone();
    assert_eq!(field(&update, "ticket.outcome"), Some("failed"));
    assert_eq!(field(&update, "error.type"), Some(kind));
    let refreshes = spans.children(index, telemetry::TOKEN_REFRESH_SPAN);
    assert_eq!(refreshes.len(), 1, "{:#?}", spans.spans());
    assert_eq!(field(&refreshes[0], "ticket.outcome"), Some("failed"));
    assert_eq!(field(&refreshes[0], "error.type"), Some(kind));
    let labels = [
        ("provider", "feishu"),
        ("token", "user"),
        ("outcome", "failed"),
    ];
    let metrics = metrics.into_vec();
    let counted = counter(&metrics, telemetry::TOKEN_REFRESHES, &labels);
    assert_eq!(counted, Some(1));
}
