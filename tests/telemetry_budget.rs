//! What an operator sees of the rate budget, over real loopback HTTP: its holds as events inside
//! the update they held, a rate-limit answer's pause, a Redis fallback (counted, warned, no
//! password anywhere), and their counters.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use helpdesk::TicketUpdater;
use helpdesk::telemetry;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use support::observe::{counter, observe};
use support::{EL_OK, fast, id, update_for};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{Rate, RateBudget};
use tracing::Level;

/// An EngageLab client on `server` whose attempts pass through `budget`.
fn budgeted(server: &ScriptedServer, budget: Arc<RateBudget>, retries: u32) -> EngageLabClient {
    let config = EngageLabConfig::new(support::EL_KEY, support::EL_SECRET)
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_http_options(fast(retries).attempt_hook(budget));
    EngageLabClient::new(config).unwrap()
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
