//! `[read-errors]`, `[read-retries]` and `[read-secrets]`: a read meets errors as an update
//! does, under the provider's normal retry policy, and none of them, nor a read's preview or
//! log lines, holds a secret.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ticket_core::{ErrorKind, TicketError, TicketId, TicketUpdater};

use super::errors::{assert_error, beyond_the_budget, echo};
use super::logs;
use super::read::{OTHER_ID, READ_ID};
use super::updates::Updates;
use super::{Reply, ScriptedServer, Suite, normal, normal_policy};

/// The statuses a read is answered with, the kind each must give, and whether it is worth
/// retrying (`200`: a garbled success).
const CASES: [(u16, ErrorKind, bool); 7] = [
    (401, ErrorKind::Unauthenticated, false),
    (403, ErrorKind::PermissionDenied, false),
    (404, ErrorKind::NotFound, false),
    (429, ErrorKind::RateLimited, true),
    (500, ErrorKind::Provider, true),
    (503, ErrorKind::Provider, true),
    (200, ErrorKind::MalformedResponse, false),
];

impl Suite {
    /// `[read-errors]`: a read answered 401, 403, 404 or a garbled 200 fails with its kind, is
    /// not worth retrying and is sent once (a 401 at most twice when the provider refreshes its
    /// read token); 429, 500 and 503 fail with theirs, are worth retrying and are retried to the
    /// policy's limit with the same request; a rate limit whose wait is beyond the budget comes
    /// back after one request with the server's wait; a success about another ticket is a
    /// malformed answer, sent once.
    pub async fn read_error_kinds(&self) {
        let name = self.name();
        let tries = 1 + normal_policy().max_retries as usize;
        for (status, kind, retryable) in CASES {
            let server = self
                .read_gets(move |_| Reply::text(status, "text/html", "<html>refused</html>"))
                .await;
            let updater = self.provider(server.url(), normal());
            let what = format!("HTTP {status} to a read");
            let err = self.read_failed("read-errors", &*updater, &what).await;
            let sent = self.sent(&server);
            let refreshed = status == 401 && self.reading.refusal.is_some() && sent.len() == 2;
            if !refreshed {
                let expected = if retryable { tries } else { 1 };
                self.assert_sent(&name, "read-errors", &sent, expected, &what);
            }
            assert_error(&name, "read-errors", &what, &err, kind, retryable, status);
        }
        self.read_wait_beyond_the_budget(&name).await;
        self.read_of_another_ticket(&name).await;
    }

    /// `[read-errors]`: a rate limit beyond the budget is returned after one read, with the
    /// server's wait.
    async fn read_wait_beyond_the_budget(&self, name: &str) {
        let server = self.read_gets(|_| beyond_the_budget()).await;
        let updater = self.provider(server.url(), normal());
        let what = "a wait beyond the budget on a read";
        let err = self.read_failed("read-errors", &*updater, what).await;
        assert_eq!(
            err.kind(),
            ErrorKind::RateLimited,
            "[read-errors] {name}: {err}"
        );
        assert_eq!(
            err.retry_after(),
            Some(Duration::from_secs(600)),
            "[read-errors] {name}: the server's wait on a read, kept in the error"
        );
        self.assert_sent(name, "read-errors", &self.sent(&server), 1, what);
    }

    /// `[read-errors]`: the stated answer, about another ticket than the one read, is a
    /// malformed answer: the caller must not take it for the ticket asked for.
    async fn read_of_another_ticket(&self, name: &str) {
        let other = self.read_answer(OTHER_ID);
        let server = self.read_gets(move |_| other.clone()).await;
        let updater = self.provider(server.url(), normal());
        let what = "an answer about another ticket";
        let err = self.read_failed("read-errors", &*updater, what).await;
        assert_eq!(
            err.kind(),
            ErrorKind::MalformedResponse,
            "[read-errors] {name}: {what} gave {err}"
        );
        self.assert_sent(name, "read-errors", &self.sent(&server), 1, what);
    }

    /// `[read-retries]`: a 503 then success is read after two identical requests; with a
    /// refusable read token ([`Suite::read_token_refusal`]), a refusal then success is read
    /// after one more request, and refusals that go on stop after two, unauthenticated.
    pub async fn read_retries_and_refreshes(&self) {
        let name = self.name();
        let server = self.read_once(Reply::text(503, "text/plain", "busy")).await;
        let updater = self.provider(server.url(), normal());
        let id = TicketId::new(READ_ID).expect("valid id");
        if let Err(e) = updater.read(&id).await {
            panic!("[read-retries] {name}: a 503 then success failed: {e}");
        }
        self.assert_sent(
            &name,
            "read-retries",
            &self.sent(&server),
            2,
            "a 503 then success",
        );

        let Some(refusal) = &self.reading.refusal else {
            return;
        };
        let server = self.read_once(refusal.clone()).await;
        let updater = self.provider(server.url(), normal());
        if let Err(e) = updater.read(&id).await {
            panic!("[read-retries] {name}: a refused read token was not refreshed: {e}");
        }
        let sent = self.sent(&server).len();
        assert_eq!(
            sent, 2,
            "[read-retries] {name}: a refusal then success was sent {sent} times, not twice"
        );
        let refused = refusal.clone();
        let server = self.read_gets(move |_| refused.clone()).await;
        let updater = self.provider(server.url(), normal());
        let what = "a read token refused again after its refresh";
        let err = self.read_failed("read-retries", &*updater, what).await;
        assert_eq!(
            err.kind(),
            ErrorKind::Unauthenticated,
            "[read-retries] {name}: {what} gave {err}"
        );
        let sent = self.sent(&server).len();
        assert_eq!(
            sent, 2,
            "[read-retries] {name}: {what} was sent {sent} times, not twice (one refresh)"
        );
    }

    /// `[read-secrets]`: while the server echoes the secrets and every header it received, no
    /// secret or credential value appears in a read's error (`Display`, `Debug`), in the log
    /// lines the read wrote, in the read's preview, in the updater's `Debug`, or in the read
    /// error of a verification whose read back got the echo.
    pub async fn no_secrets_in_reads(&self) {
        let name = self.name();
        let id = TicketId::new(READ_ID).expect("valid id");
        for (status, _, _) in CASES {
            let secrets = self.secrets.clone();
            let success = self.success.clone();
            let server = self
                .read_server(move |request| match request.method.as_str() {
                    "GET" => echo(&secrets, request, status),
                    _ => success.clone(),
                })
                .await;
            let updater = self.provider(server.url(), normal());
            let (outcome, read_logs) = logs::capturing(updater.read(&id)).await;
            let Err(err) = outcome else {
                panic!("[read-secrets] {name}: HTTP {status} to a read was read as a success");
            };
            let preview = self.preview_read("read-secrets", &name, server.url(), &id);
            let update = self.build(
                &name,
                Updates::new(updater.capabilities()).idempotent().verify(),
                "the idempotent fields, verified",
            );
            let (receipt, update_logs) = logs::capturing(updater.update(&id, &update)).await;
            let read_back = match receipt {
                Ok(receipt) => receipt.verification.and_then(|v| v.read_error),
                Err(e) => panic!(
                    "[read-secrets] {name}: an update whose read back got HTTP {status} failed: {}",
                    self.shown(&e.to_string())
                ),
            };
            let outputs = [
                ("the read error's Display", err.to_string()),
                ("the read error's Debug", format!("{err:?}")),
                ("the logs", read_logs),
                ("the read preview's Display", preview.to_string()),
                ("the read preview's Debug", format!("{preview:?}")),
                ("the updater's Debug", format!("{updater:?}")),
                (
                    "the verification's read error",
                    read_back.unwrap_or_default(),
                ),
                ("the logs of the verified update", update_logs),
            ];
            for (i, secret) in self.forbidden().iter().enumerate() {
                for (where_, text) in &outputs {
                    assert!(
                        !text.contains(secret.as_str()),
                        "[read-secrets] {name}, HTTP {status}: secret #{} leaked in {where_}",
                        i + 1
                    );
                }
            }
        }
    }

    /// A server that answers every read with `get`, and anything else with the update's
    /// success answer.
    async fn read_gets<F>(&self, get: F) -> ScriptedServer
    where
        F: Fn(&super::RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        let success = self.success.clone();
        self.read_server(move |request| match request.method.as_str() {
            "GET" => get(request),
            _ => success.clone(),
        })
        .await
    }

    /// A server that answers the first read with `first` and every later one with the stated
    /// answer about [`READ_ID`].
    async fn read_once(&self, first: Reply) -> ScriptedServer {
        let answer = self.read_answer(READ_ID);
        let calls = AtomicUsize::new(0);
        self.read_gets(move |_| match calls.fetch_add(1, Ordering::SeqCst) {
            0 => first.clone(),
            _ => answer.clone(),
        })
        .await
    }

    /// The error of a read of [`READ_ID`] that must fail.
    async fn read_failed(
        &self,
        check: &str,
        updater: &dyn TicketUpdater,
        what: &str,
    ) -> TicketError {
        let id = TicketId::new(READ_ID).expect("valid id");
        match updater.read(&id).await {
            Ok(_) => panic!(
                "[{check}] {}: {what} was read as a success",
                updater.provider()
            ),
            Err(err) => err,
        }
    }
}
