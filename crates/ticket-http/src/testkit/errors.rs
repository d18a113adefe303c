//! `[errors]`, `[business]`, `[secrets]`, `[retries]` and `[wait]`: errors as users meet
//! them, under the provider's normal retry policy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ticket_core::{ErrorKind, TicketError, TicketId, TicketUpdate, TicketUpdater};

use super::updates::Updates;
use super::{RecordedRequest, Reply, ScriptedServer, Suite, normal, normal_policy, same_request};

/// Kinds that no retry can help: sent once.
const PERMANENT: [ErrorKind; 4] = [
    ErrorKind::Unauthenticated,
    ErrorKind::PermissionDenied,
    ErrorKind::NotFound,
    ErrorKind::MalformedResponse,
];

impl Suite {
    /// `[errors]`: under the normal retry policy, 401, 403, 404 and a garbled 200 map to their
    /// kinds and are sent once; 429, 500 and 503 map to theirs, are worth retrying and are
    /// retried to the policy's limit with the same request; a 5xx to an update that is not
    /// idempotent is sent once, may have applied, and must not be repeated. `[secrets]`: no
    /// secret appears in any error, preview or `Debug` output, while the server echoes the
    /// secrets and every header it received.
    pub async fn error_kinds_and_no_secrets(&self) {
        let name = self.name();
        let cases: [(u16, ErrorKind, bool); 7] = [
            (401, ErrorKind::Unauthenticated, false),
            (403, ErrorKind::PermissionDenied, false),
            (404, ErrorKind::NotFound, false),
            (429, ErrorKind::RateLimited, true),
            (500, ErrorKind::Provider, true),
            (503, ErrorKind::Provider, true),
            (200, ErrorKind::MalformedResponse, false),
        ];
        let tries = 1 + normal_policy().max_retries as usize;
        for (status, kind, retryable) in cases {
            let (server, updater) = self.echoing(status).await;
            let update = self.build(
                &name,
                Updates::new(updater.capabilities()).idempotent(),
                "the idempotent fields",
            );
            let err = self.failed("errors", &*updater, &update, status).await;
            let expected = if retryable { tries } else { 1 };
            let what = format!("HTTP {status}");
            self.assert_sent(&name, "errors", &server.requests(), expected, &what);
            assert_error(&name, "errors", &what, &err, kind, retryable, status);
            self.assert_no_secrets(&name, &err, &*updater, &update, status);
        }

        // An update that is not idempotent (a comment) may have applied when a 5xx came back:
        // it is sent once, and said to be not worth repeating.
        let (server, updater) = self.echoing(503).await;
        let caps = updater.capabilities();
        if !caps.is_idempotent(caps.supported) {
            let update = self.build(&name, Updates::new(caps).full(), "every field");
            let err = self.failed("errors", &*updater, &update, 503).await;
            self.assert_sent(
                &name,
                "errors",
                &server.requests(),
                1,
                "HTTP 503 to an update that is not idempotent",
            );
            assert!(
                err.may_have_applied() && !err.is_retryable(),
                "[errors] {name}: a 5xx to an update that is not idempotent must say it may have applied and is not to be repeated: {err:?}"
            );
            self.assert_no_secrets(&name, &err, &*updater, &update, 503);
        }
    }

    /// `[business]`: each error answer the test declared maps to its kind under the normal
    /// retry policy, and is sent once unless the kind is worth retrying (then to the limit,
    /// or once when the server's wait is beyond the budget).
    pub async fn business_errors(&self) {
        let name = self.name();
        for (i, (reply, kind)) in self.business.iter().enumerate() {
            let server = ScriptedServer::always(reply.clone())
                .await
                .expect("[setup] a loopback server");
            let updater = self.provider(server.url(), normal());
            let update = self.build(
                &name,
                Updates::new(updater.capabilities()).idempotent(),
                "the idempotent fields",
            );
            let label = format!("business error #{} ({kind:?})", i + 1);
            let err = updater
                .update(&TicketId::new("tk-3").expect("valid id"), &update)
                .await
                .err()
                .unwrap_or_else(|| panic!("[business] {name}: {label} was read as a success"));
            assert_eq!(err.kind(), *kind, "[business] {name}: {label} gave {err}");
            let policy = normal_policy();
            let expected = if PERMANENT.contains(kind) {
                assert!(
                    !err.is_retryable(),
                    "[business] {name}: {label} must not be worth retrying"
                );
                1
            } else if err.is_retryable() && err.retry_after().is_none_or(|w| w <= policy.budget) {
                1 + policy.max_retries as usize
            } else {
                1
            };
            self.assert_sent(&name, "business", &server.requests(), expected, &label);
        }
    }

    /// `[retries]`: a 503 then success takes two attempts of the same request. `[wait]`: a
    /// rate limit whose `Retry-After` fits the budget is waited out (the server refuses a retry
    /// that comes before the wait is over); one beyond the budget comes back at once, after one
    /// request, with the server's wait.
    pub async fn retries_and_the_servers_wait(&self) {
        let name = self.name();
        let updater = self.provider("http://127.0.0.1:9", normal());
        let update = self.build(
            &name,
            Updates::new(updater.capabilities()).idempotent(),
            "the idempotent fields",
        );
        self.retried_after_a_503(&name, &update).await;
        self.the_servers_wait_is_honoured(&name, &update).await;
        self.a_wait_beyond_the_budget_is_returned(&name, &update)
            .await;
    }

    /// `[retries]`: a 503 then success is sent twice, the same request, and the receipt says
    /// two attempts.
    async fn retried_after_a_503(&self, name: &str, update: &TicketUpdate) {
        let server = self.busy_once().await;
        let updater = self.provider(server.url(), normal());
        let id = TicketId::new("tk-4").expect("valid id");
        let receipt = updater
            .update(&id, update)
            .await
            .unwrap_or_else(|e| panic!("[retries] {name}: a 503 then success failed: {e}"));
        assert_eq!(
            receipt.attempts, 2,
            "[retries] {name}: attempts in the receipt"
        );
        self.assert_sent(name, "retries", &server.requests(), 2, "a 503 then success");
    }

    /// `[wait]`: the server's own wait, inside the budget, is waited out: the server refuses
    /// a retry that comes before the wait is over.
    async fn the_servers_wait_is_honoured(&self, name: &str, update: &TicketUpdate) {
        let success = self.success.clone();
        let refused_at: Arc<Mutex<Option<Instant>>> = Arc::default();
        let server = ScriptedServer::start(move |_| {
            let mut refused = refused_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match *refused {
                Some(at) if at.elapsed() >= Duration::from_secs(1) => success.clone(),
                _ => {
                    *refused = Some(Instant::now());
                    Reply::text(429, "text/plain", "slow down").header("retry-after", "1")
                }
            }
        })
        .await
        .expect("[setup] a loopback server");
        let updater = self.provider(server.url(), normal());
        let id = TicketId::new("tk-4").expect("valid id");
        let receipt = updater.update(&id, update).await.unwrap_or_else(|e| {
            panic!("[wait] {name}: the server asked for a one-second wait and refused every earlier retry: {e}")
        });
        assert_eq!(
            (receipt.attempts, server.requests().len()),
            (2, 2),
            "[wait] {name}: one retry, after the server's wait"
        );
    }

    /// `[wait]`: a wait beyond the budget comes back at once, after one request, with the
    /// server's figure.
    async fn a_wait_beyond_the_budget_is_returned(&self, name: &str, update: &TicketUpdate) {
        let server = ScriptedServer::always(beyond_the_budget())
            .await
            .expect("[setup] a loopback server");
        let updater = self.provider(server.url(), normal());
        let err = self.failed("wait", &*updater, update, 429).await;
        assert_eq!(err.kind(), ErrorKind::RateLimited, "[wait] {name}: {err}");
        assert_eq!(
            err.retry_after(),
            Some(Duration::from_secs(600)),
            "[wait] {name}: the server's wait, kept in the error"
        );
        self.assert_sent(
            name,
            "wait",
            &server.requests(),
            1,
            "a wait beyond the budget",
        );
    }

    /// A server that answers the first request with a 503 and every later one with the
    /// success answer.
    async fn busy_once(&self) -> ScriptedServer {
        let success = self.success.clone();
        let calls = AtomicUsize::new(0);
        ScriptedServer::start(move |_| match calls.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::text(503, "text/plain", "busy"),
            _ => success.clone(),
        })
        .await
        .expect("[setup] a loopback server")
    }

    /// A server answering `status` with the secrets, their base64 and bearer forms, and every
    /// header it received; and the provider aimed at it.
    async fn echoing(&self, status: u16) -> (ScriptedServer, Arc<dyn TicketUpdater>) {
        let secrets = self.secrets.clone();
        let server = ScriptedServer::start(move |request| echo(&secrets, request, status))
            .await
            .expect("[setup] a loopback server");
        let updater = self.provider(server.url(), normal());
        (server, updater)
    }

    /// The error of an update that must fail.
    async fn failed(
        &self,
        check: &str,
        updater: &dyn TicketUpdater,
        update: &TicketUpdate,
        status: u16,
    ) -> TicketError {
        let id = TicketId::new("tk-5").expect("valid id");
        match updater.update(&id, update).await {
            Ok(_) => panic!(
                "[{check}] {}: HTTP {status} was read as a success",
                updater.provider()
            ),
            Err(err) => err,
        }
    }

    /// `requests` are `expected` copies of one request.
    pub(super) fn assert_sent(
        &self,
        name: &str,
        check: &str,
        requests: &[RecordedRequest],
        expected: usize,
        what: &str,
    ) {
        assert_eq!(
            requests.len(),
            expected,
            "[{check}] {name}: {what} was sent {} times, not {expected}",
            requests.len()
        );
        assert!(
            requests.iter().all(|r| same_request(r, &requests[0])),
            "[{check}] {name}: {what}: a retry sent another request than the first"
        );
    }

    /// No stated secret or credential value is in the error, the preview or the updater's
    /// `Debug`. The message names where, never what.
    fn assert_no_secrets(
        &self,
        name: &str,
        err: &TicketError,
        updater: &dyn TicketUpdater,
        update: &TicketUpdate,
        status: u16,
    ) {
        let id = TicketId::new("tk-5").expect("valid id");
        let preview = updater
            .preview(&id, update)
            .unwrap_or_else(|e| panic!("[secrets] {name}: the preview failed: {e}"));
        let outputs = [
            ("the error's Display", err.to_string()),
            ("the error's Debug", format!("{err:?}")),
            ("the preview's Display", preview.to_string()),
            ("the preview's Debug", format!("{preview:?}")),
            ("the updater's Debug", format!("{updater:?}")),
        ];
        for (i, secret) in self.forbidden().iter().enumerate() {
            for (where_, text) in &outputs {
                assert!(
                    !text.contains(secret.as_str()),
                    "[secrets] {name}, HTTP {status}: secret #{} leaked in {where_}",
                    i + 1
                );
            }
        }
    }
}

/// A rate limit whose wait (600 seconds) is beyond any retry budget.
pub(super) fn beyond_the_budget() -> Reply {
    Reply::text(429, "text/plain", "slow down").header("retry-after", "600")
}

/// An answer with `status` that echoes `secrets` (raw, as bearer tokens and in base64) and
/// every header value of `request`.
pub(super) fn echo(secrets: &[String], request: &RecordedRequest, status: u16) -> Reply {
    let mut text = String::from("echo:");
    for s in secrets {
        text.push_str(&format!(" {s} Bearer {s} {}", BASE64.encode(s)));
    }
    for (_, value) in &request.headers {
        text.push_str(&format!(" {value}"));
    }
    Reply::text(status, "text/html", &text)
}

/// The error an answer of HTTP `status` gave: its kind, whether it is worth retrying, and (but
/// for a business error inside a 200) the server's status kept in it.
pub(super) fn assert_error(
    name: &str,
    check: &str,
    what: &str,
    err: &TicketError,
    kind: ErrorKind,
    retryable: bool,
    status: u16,
) {
    assert_eq!(err.kind(), kind, "[{check}] {name}: {what} gave {err}");
    assert_eq!(
        err.is_retryable(),
        retryable,
        "[{check}] {name}: {what}: whether it is worth retrying"
    );
    if status != 200 {
        assert_eq!(
            err.server().map(|s| s.status),
            Some(status),
            "[{check}] {name}: the server's status kept in the error of {what}"
        );
    }
}
