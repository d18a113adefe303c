//! The attempt hook in the library's retry strategy, over real loopback HTTP: called before
//! every attempt (the first included) and on every rate-limit answer, with what a shared rate
//! budget needs; a failing hook ends the update with its own error and nothing more is sent;
//! the rule for rate-limit retries; and the hook reaching a client through `connect`.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use helpdesk::{Config, ErrorKind, TicketError, TicketUpdate};
use support::*;
use ticket_http::test_server::{RecordedRequest, Reply, ScriptedServer};
use ticket_http::{Attempt, AttemptHook, HttpOptions, RateLimited, RetryPolicy};

/// What a hook saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// `before_attempt`: the attempt's number, and how many requests the server had received.
    Before { number: u32, received: usize },
    /// `on_rate_limited`: the attempt's number, the server's wait and stated rate.
    RateLimited {
        number: u32,
        retry_after: Option<Duration>,
        stated_rate: Option<u32>,
    },
}

/// A hook that records every call, and fails `before_attempt` of attempt `fail_at` (if any)
/// with a configuration error.
#[derive(Debug, Default)]
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    /// Requests the server received (the script counts them).
    received: Arc<AtomicUsize>,
    /// (provider, operation, method, idempotent) of each `before_attempt`.
    context: Mutex<Vec<(String, &'static str, String, bool)>>,
    fail_at: Option<u32>,
}

#[helpdesk::kit::async_trait]
impl AttemptHook for Recorder {
    async fn before_attempt(&self, attempt: &Attempt<'_>) -> Result<(), TicketError> {
        self.seen.lock().unwrap().push(Seen::Before {
            number: attempt.number,
            received: self.received.load(Ordering::SeqCst),
        });
        self.context.lock().unwrap().push((
            attempt.provider.to_owned(),
            attempt.operation,
            attempt.method.to_string(),
            attempt.idempotent,
        ));
        if self.fail_at == Some(attempt.number) {
            return Err(TicketError::config("the shared rate budget is unreachable"));
        }
        Ok(())
    }

    async fn on_rate_limited(
        &self,
        attempt: &Attempt<'_>,
        refusal: &RateLimited<'_>,
    ) -> Result<(), TicketError> {
        assert_eq!(refusal.error.kind(), ErrorKind::RateLimited);
        self.seen.lock().unwrap().push(Seen::RateLimited {
            number: attempt.number,
            retry_after: refusal.retry_after,
            stated_rate: refusal.stated_rate,
        });
        Ok(())
    }
}

/// A server that answers the first requests with `replies` in order, then with `last`; and the
/// counter of requests it received, shared with a [`Recorder`].
async fn scripted(replies: Vec<Reply>, last: Reply) -> (ScriptedServer, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let server = ScriptedServer::start(move |_: &RecordedRequest| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        replies.get(n).cloned().unwrap_or_else(|| last.clone())
    })
    .await
    .unwrap();
    (server, received)
}

fn recorder(received: &Arc<AtomicUsize>, fail_at: Option<u32>) -> Arc<Recorder> {
    Arc::new(Recorder {
        received: Arc::clone(received),
        fail_at,
        ..Recorder::default()
    })
}

fn feishu_limit(reset_secs: &str) -> Reply {
    Reply::json(
        429,
        r#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
    )
    .header("x-ogw-ratelimit-limit", "50")
    .header("x-ogw-ratelimit-reset", reset_secs)
}

fn with_hook(retries: u32, hook: Arc<Recorder>) -> HttpOptions {
    fast(retries).attempt_hook(hook)
}

#[tokio::test]
async fn the_hook_runs_before_every_attempt_and_sees_every_rate_limit_answer() {
    let (server, received) = scripted(
        vec![
            feishu_limit("1"),
            Reply::json(503, r#"{"code":155000,"msg":"busy"}"#),
        ],
        Reply::json(200, FS_OK),
    )
    .await;
    let hook = recorder(&received, None);
    let receipt = feishu(server.url(), with_hook(3, hook.clone()))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 3);
    // Each `before_attempt` ran before its request reached the server (the first included),
    // and the refusal came with the server's wait and stated rate.
    assert_eq!(
        *hook.seen.lock().unwrap(),
        [
            Seen::Before {
                number: 1,
                received: 0
            },
            Seen::RateLimited {
                number: 1,
                retry_after: Some(Duration::from_secs(1)),
                stated_rate: Some(50),
            },
            Seen::Before {
                number: 2,
                received: 1
            },
            Seen::Before {
                number: 3,
                received: 2
            },
        ]
    );
    let context = hook.context.lock().unwrap();
    assert!(
        context
            .iter()
            .all(|c| *c == ("feishu".to_owned(), "update", "PUT".to_owned(), true)),
        "{context:?}"
    );
}

/// An update that adds a comment is not idempotent, and the hook is told so.
#[tokio::test]
async fn the_hook_is_told_when_an_update_is_not_idempotent() {
    let (server, received) = scripted(vec![], Reply::json(200, FS_OK)).await;
    let hook = recorder(&received, None);
    let update = TicketUpdate::builder().comment("checked").build().unwrap();
    feishu(server.url(), with_hook(3, hook.clone()))
        .update(&id("t1"), &update)
        .await
        .unwrap();
    assert!(
        !hook.context.lock().unwrap()[0].3,
        "a comment is not idempotent"
    );
}

#[tokio::test]
async fn a_failing_hook_ends_the_update_with_its_error_and_sends_nothing_more() {
    // Before the first attempt: nothing is sent.
    let (server, received) = scripted(vec![], Reply::json(200, EL_OK)).await;
    let err = engagelab(server.url(), with_hook(3, recorder(&received, Some(1))))
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(
        err.to_string().contains("rate budget is unreachable"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 0);

    // Before a retry after a refusal that did not apply: the hook's error, not retried.
    let (server, received) = scripted(vec![], feishu_limit("0")).await;
    let err = feishu(server.url(), with_hook(3, recorder(&received, Some(2))))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert_eq!(server.requests().len(), 1);

    // Before a retry after an answer that may have applied (a 5xx): that answer, so the caller
    // still learns the update may have landed.
    let (server, received) =
        scripted(vec![], Reply::json(503, r#"{"code":155000,"msg":"busy"}"#)).await;
    let err = feishu(server.url(), with_hook(3, recorder(&received, Some(2))))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider, "{err}");
    assert!(err.may_have_applied());
    assert_eq!(server.requests().len(), 1);
}

/// The rule: a rate-limit refusal does not use up `max_retries` (the retry budget bounds
/// them), and `max_retries = 0` turns every retry off, rate limits included.
#[tokio::test]
async fn rate_limits_that_state_a_wait_are_bounded_by_the_budget_not_by_max_retries() {
    // Three refusals that say "come back in 1 s", then success, with one retry allowed: all
    // four attempts are made (the server said when; those retries are not counted).
    let (server, _) = scripted(
        vec![feishu_limit("1"), feishu_limit("1"), feishu_limit("1")],
        Reply::json(200, FS_OK),
    )
    .await;
    let receipt = feishu(server.url(), fast(1))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 4);

    // A refusal that states no wait counts like any other error: one retry allowed, two sent.
    let (server, _) = scripted(
        vec![feishu_limit("0"), feishu_limit("0")],
        Reply::json(200, FS_OK),
    )
    .await;
    let err = feishu(server.url(), fast(1))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(server.requests().len(), 2);

    // Refusals with a wait mixed with 503s: only the 503s count (two allowed, the third ends it).
    let busy = Reply::json(503, r#"{"code":155000,"msg":"busy"}"#);
    let (server, _) = scripted(
        vec![
            busy.clone(),
            feishu_limit("1"),
            busy.clone(),
            feishu_limit("1"),
        ],
        busy,
    )
    .await;
    let err = feishu(server.url(), fast(2))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(server.requests().len(), 5);

    // A server that always refuses with a 1 s wait: the 4.5 s budget ends it, with the refusal,
    // after more attempts than max_retries + 1 and no more than the budget holds (one a
    // second; a loaded machine may fit fewer, never more).
    let (server, _) = scripted(vec![], feishu_limit("1")).await;
    let options = fast(1).request_timeout(Duration::from_secs(1)).retry(
        RetryPolicy::default()
            .max_retries(1)
            .jitter(false)
            .budget(Duration::from_millis(4500)),
    );
    let err = feishu(server.url(), options)
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let sent = server.requests().len();
    assert!(
        (3..=5).contains(&sent),
        "{sent} attempts: the first, then one each second"
    );

    // max_retries = 0: one attempt, rate limit or not.
    let (server, _) = scripted(vec![], feishu_limit("1")).await;
    let err = feishu(server.url(), fast(0))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(server.requests().len(), 1);
}

/// `Config::with_attempt_hook` reaches the client that `connect` builds.
#[tokio::test]
async fn connect_hands_the_configured_hook_to_the_client() {
    let (server, received) = scripted(
        vec![Reply::json(503, r#"{"code":50001,"message":"busy"}"#)],
        Reply::json(200, EL_OK),
    )
    .await;
    let hook = recorder(&received, None);
    let config = Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", EL_KEY),
        ("engagelab.api_secret", EL_SECRET),
        ("engagelab.base_url", server.url()),
        ("engagelab.retry_initial_backoff_ms", "1"),
    ])
    .with_attempt_hook(hook.clone());
    let updater = helpdesk::connect(&config).unwrap();
    let receipt = updater
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 2);
    let numbers: Vec<u32> = hook
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| match s {
            Seen::Before { number, .. } | Seen::RateLimited { number, .. } => *number,
        })
        .collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(hook.context.lock().unwrap()[0].0, "engagelab");
}

/// Options with a hook still print no secret, and compare equal only with the same hook.
#[test]
fn options_with_a_hook_print_it_by_name_and_compare_by_identity() {
    let hook: Arc<dyn AttemptHook> = Arc::new(Recorder::default());
    let options = HttpOptions::default()
        .proxy("http://user:pa55word@proxy.example:3128")
        .attempt_hook(Arc::clone(&hook));
    let debug = format!("{options:?}");
    assert!(debug.contains("attempt_hook: Some(AttemptHook)"), "{debug}");
    assert!(!debug.contains("pa55word"), "{debug}");
    assert_eq!(options, options.clone());
    let other = options.clone().attempt_hook(Arc::new(Recorder::default()));
    assert_ne!(options, other);
    assert_ne!(
        options,
        HttpOptions::default().proxy("http://user:pa55word@proxy.example:3128")
    );
}
