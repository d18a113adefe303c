//! What an operator sees, over real loopback HTTP: the spans (`ticket.update`, `ticket.get`, one
//! `ticket_http.send` per attempt under OpenTelemetry's HTTP client names, `ticket.wait`,
//! `ticket.token.refresh`) of a successful, a retried (503, then 200) and a failed update, a
//! read, token refreshes and a hook's wait, captured by a small layer; and the metrics of the
//! same updates, by a debugging recorder installed for each test alone.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics::Unit;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshot};
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use support::spans::{SpanRecord, Spans};
use support::{EL_OK, engagelab, fast, feishu_client, feishu_sandbox, id, in_progress, update_for};
use ticket_facade::telemetry;
use ticket_facade::{TicketError, TicketUpdater};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{Attempt, AttemptHook, Rate, RateBudget};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt as _;

/// Runs `make()` on a current-thread runtime with a span capture and a metrics recorder of its
/// own (so that tests running in parallel do not see each other's): its output, the spans and
/// events, and the metrics.
fn observe<F: Future>(make: impl FnOnce() -> F) -> (F::Output, Spans, Snapshot) {
    let spans = Spans::default();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            telemetry::describe_metrics();
            runtime.block_on(make())
        })
    });
    (out, spans, snapshotter.snapshot())
}

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

/// What a debugging recorder's snapshot holds.
type Recorded = [(
    metrics_util::CompositeKey,
    Option<Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)];

/// The value of the metric of `kind` named `name` with exactly `labels` (in any order).
fn metric<'a>(
    snapshot: &'a Recorded,
    kind: MetricKind,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<(Option<Unit>, &'a DebugValue)> {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    snapshot.iter().find_map(|(key, unit, _, value)| {
        let mut have: Vec<(String, String)> = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        have.sort();
        (key.kind() == kind && key.key().name() == name && have == want).then_some((*unit, value))
    })
}

fn samples(value: &DebugValue) -> Vec<f64> {
    match value {
        DebugValue::Histogram(values) => values.iter().map(|v| v.into_inner()).collect(),
        other => panic!("not a histogram: {other:?}"),
    }
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

/// An EngageLab client on `server` whose attempts pass through `budget`.
fn budgeted(server: &ScriptedServer, budget: Arc<RateBudget>, retries: u32) -> EngageLabClient {
    let config = EngageLabConfig::new(support::EL_KEY, support::EL_SECRET)
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_http_options(fast(retries).attempt_hook(budget));
    EngageLabClient::new(config).unwrap()
}

/// The value of the counter `name` with `labels`, if it was recorded.
fn counter(snapshot: &Recorded, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    match metric(snapshot, MetricKind::Counter, name, labels) {
        Some((_, DebugValue::Counter(n))) => Some(*n),
        _ => None,
    }
}

/// The rate budget's hold is an event inside the update it held (in its `ticket.wait` span),
/// and it is counted with its time. Two updates start together at one a second: the budget
/// lets one through and holds the other (they draw within one poll, far under a second).
#[test]
fn a_rate_budget_wait_is_an_event_inside_the_update_and_is_counted() {
    let (results, spans, metrics) = observe(|| async {
        let server = ScriptedServer::always(Reply::json(200, EL_OK))
            .await
            .unwrap();
        let budget = RateBudget::local("engagelab", Some(Rate::per_second(1)), None);
        let client = budgeted(&server, Arc::new(budget), 0);
        let update = update_for("engagelab");
        let (a, b) = (id("t-a"), id("t-b"));
        tokio::join!(client.update(&a, &update), client.update(&b, &update))
    });
    results.0.unwrap();
    results.1.unwrap();
    let waits: Vec<_> = spans
        .events()
        .into_iter()
        .filter(|e| e.field("message") == Some("rate budget wait"))
        .collect();
    assert_eq!(waits.len(), 1, "{waits:#?}");
    let wait = &waits[0];
    assert_eq!(wait.level, Level::DEBUG);
    assert_eq!(wait.field("ticket.provider"), Some("engagelab"));
    assert_eq!(wait.field("ticket.operation"), Some("update"));
    assert!(wait.field("wait_ms").is_some(), "{wait:?}");
    // Inside the held update's `ticket.wait` span.
    let all = spans.spans();
    let held = &all[wait.span.expect("the event is inside a span")];
    assert_eq!(held.name, telemetry::WAIT_SPAN);
    let update = &all[held.parent.expect("the wait is inside the update")];
    assert_eq!(update.name, telemetry::UPDATE_SPAN);
    assert_eq!(update.field("ticket.outcome"), Some("ok"));

    let labels = [("provider", "engagelab"), ("operation", "update")];
    let metrics = metrics.into_vec();
    let waits = counter(&metrics, telemetry::RATE_LIMIT_WAITS, &labels);
    assert_eq!(waits, Some(1));
    let millis = counter(&metrics, telemetry::RATE_LIMIT_WAIT_MILLISECONDS, &labels);
    assert!(millis.is_some_and(|ms| ms > 0), "{millis:?}");
}

/// A rate-limit answer pauses the budget, which says so in an INFO event inside the update
/// that got the answer, with the server's wait.
#[test]
fn a_rate_limit_answer_pauses_the_budget_with_an_event_inside_the_update() {
    let (result, spans, _) = observe(|| async {
        let refused = Arc::new(AtomicU32::new(0));
        let server = ScriptedServer::start(move |_req| {
            if refused.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::json(429, r#"{"code":42900,"message":"slow down"}"#)
                    .header("retry-after", "1")
            } else {
                Reply::json(200, EL_OK)
            }
        })
        .await
        .unwrap();
        let budget = RateBudget::local("engagelab", None, None);
        budgeted(&server, Arc::new(budget), 1)
            .update(&id("t1"), &update_for("engagelab"))
            .await
    });
    assert_eq!(result.unwrap().attempts, 2);
    let paused: Vec<_> = spans
        .events()
        .into_iter()
        .filter(|e| e.field("message") == Some("rate budget paused"))
        .collect();
    assert_eq!(paused.len(), 1, "{paused:#?}");
    assert_eq!(paused[0].level, Level::INFO);
    assert_eq!(paused[0].field("ticket.operation"), Some("update"));
    assert_eq!(paused[0].field("wait_ms"), Some("1000"));
    let (index, _) = spans.named(telemetry::UPDATE_SPAN)[0].clone();
    assert_eq!(paused[0].span, Some(index), "inside the update");
}

/// A shared budget whose Redis cannot be reached falls back to the local share: counted once
/// (`ticket.rate_budget.fallbacks`), warned about inside the update that found out, and the
/// Redis password appears in no span field or event.
#[test]
fn a_budget_fallback_is_counted_and_warned_inside_the_update_without_the_password() {
    const PASSWORD: &str = "redis-pw-7f3a9c";
    let (result, spans, metrics) = observe(|| async {
        // A port nothing listens on: the connection is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("redis://:{PASSWORD}@127.0.0.1:{port}");
        let shared = ticket_http::RedisBudget::new(&url, "test", "engagelab", "app")
            .unwrap()
            .timeout(Duration::from_secs(30));
        let budget = RateBudget::shared("engagelab", Some(Rate::per_second(50)), None, shared);
        let server = ScriptedServer::always(Reply::json(200, EL_OK))
            .await
            .unwrap();
        budgeted(&server, Arc::new(budget), 0)
            .update(&id("t1"), &update_for("engagelab"))
            .await
    });
    result.unwrap();
    let metrics = metrics.into_vec();
    let fallbacks = counter(
        &metrics,
        telemetry::RATE_BUDGET_FALLBACKS,
        &[("provider", "engagelab")],
    );
    assert_eq!(fallbacks, Some(1));
    let events = spans.events();
    let warned = events
        .iter()
        .find(|e| e.level == Level::WARN && e.field("message").is_some_and(|m| m.contains("Redis")))
        .unwrap_or_else(|| panic!("{events:#?}"));
    let all = spans.spans();
    let mut within = warned.span;
    while let Some(index) = within.filter(|i| all[*i].name != telemetry::UPDATE_SPAN) {
        within = all[index].parent;
    }
    assert!(
        within.is_some(),
        "the warning is inside the update: {warned:?}"
    );
    let everything = format!("{all:?}{events:?}{metrics:?}");
    assert!(
        !everything.contains(PASSWORD),
        "the password leaked: {everything}"
    );
}
