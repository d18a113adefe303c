//! A conformance suite every provider runs (feature `testkit`), over real loopback HTTP.
//!
//! Give [`Suite`] a factory that builds your provider against a base URL, a success answer
//! of your API, an update your provider carries in full, and the secrets your factory
//! configures; [`Suite::run`] then checks, with a scripted server
//! ([`ScriptedServer`]):
//!
//! - the preview is exactly the request sent (method, URL, headers, body bytes);
//! - strict and lenient behaviour for a field the provider cannot carry (refused with nothing
//!   sent; or sent, with the field listed in the receipt);
//! - no secret (raw, or any credential header value as sent, or its credential part) in any
//!   error, preview or `Debug` output, even when the server echoes them all back;
//! - the error kind of scripted answers: 401, 403, 404, 429, 500, 503 and a garbled 200;
//! - retries: a 503 then success is retried once; a rate limit whose wait exceeds the budget
//!   is returned at once with the server's wait, after one request;
//! - ticket ids are one percent-encoded path segment (`a/b`, `../x`, `a?b#c`, `工單`).
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! use ticket_facade::testkit::{Reply, Suite};
//! use ticket_facade::{HttpOptions, TicketUpdate, TicketUpdater};
//! # fn my_provider(_: &str, _: HttpOptions) -> Result<Arc<dyn TicketUpdater>, ticket_facade::TicketError> { todo!() }
//! Suite::new(my_provider, Reply::json(200, r#"{"ok": true}"#))
//!     .update(TicketUpdate::builder().title("t").build().unwrap())
//!     .secrets(&["my-api-token"])
//!     .run()
//!     .await;
//! # }
//! ```

// A test kit reports a failed check by panicking, as `assert!` does: that is its contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ticket_core::{
    CommentVisibility, ErrorKind, Field, Priority, RequestPreview, TicketError, TicketId,
    TicketKind, TicketStatus, TicketUpdate, TicketUpdateBuilder, TicketUpdater, UnsupportedPolicy,
};
pub use ticket_http::test_server::{RecordedRequest, Reply, ScriptedServer};
use ticket_http::{HttpOptions, RetryPolicy};

/// Builds the provider under test against a base URL, with the given HTTP options.
pub type ProviderFactory =
    Arc<dyn Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync>;

/// The conformance suite for one provider. Every check panics with a message naming the
/// check and the provider when it fails.
pub struct Suite {
    factory: ProviderFactory,
    success: Reply,
    update: TicketUpdate,
    secrets: Vec<String>,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suite").finish_non_exhaustive()
    }
}

impl Suite {
    /// A suite for the provider `factory` builds; `success` is an answer the provider reads
    /// as a successful update.
    pub fn new<F>(factory: F, success: Reply) -> Self
    where
        F: Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError>
            + Send
            + Sync
            + 'static,
    {
        Self {
            factory: Arc::new(factory),
            success,
            update: TicketUpdate::default(),
            secrets: Vec::new(),
        }
    }

    /// An update the provider carries in full (strict policy), sent by every check.
    #[must_use]
    pub fn update(mut self, update: TicketUpdate) -> Self {
        self.update = update;
        self
    }

    /// The secrets the factory configures: none may appear in any output.
    #[must_use]
    pub fn secrets(mut self, secrets: &[&str]) -> Self {
        self.secrets = secrets.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Runs every check.
    pub async fn run(&self) {
        self.preview_is_the_request_sent().await;
        self.strict_and_lenient().await;
        self.error_kinds_and_no_secrets().await;
        self.retries_and_the_servers_wait().await;
        self.ticket_ids_are_one_segment().await;
    }

    fn provider(&self, url: &str, options: HttpOptions) -> Arc<dyn TicketUpdater> {
        (self.factory)(url, options).unwrap_or_else(|e| panic!("the factory failed: {e}"))
    }

    fn no_retries() -> HttpOptions {
        HttpOptions::default().retry(RetryPolicy::disabled())
    }

    /// The preview is exactly the request sent.
    pub async fn preview_is_the_request_sent(&self) {
        let server = ScriptedServer::always(self.success.clone())
            .await
            .expect("server");
        let updater = self.provider(server.url(), Self::no_retries());
        let id = TicketId::new("tk-1").expect("valid id");
        let preview = updater.preview(&id, &self.update).expect("preview");
        let receipt = updater
            .update(&id, &self.update)
            .await
            .unwrap_or_else(|e| panic!("[preview] {}: the update failed: {e}", updater.provider()));
        assert_eq!(receipt.attempts, 1);
        let sent = only(&server.requests(), "preview");
        assert_request_matches(&preview, &sent, updater.provider());
    }

    /// Strict refuses an unsupported field with nothing sent; lenient sends and reports it.
    pub async fn strict_and_lenient(&self) {
        let server = ScriptedServer::always(self.success.clone())
            .await
            .expect("server");
        let updater = self.provider(server.url(), Self::no_retries());
        let name = updater.provider().to_owned();
        let caps = updater.capabilities();
        let Some(field) = [
            Field::Title,
            Field::Description,
            Field::Priority,
            Field::Kind,
            Field::Attachments,
            Field::Status,
            Field::Comment,
            Field::Tags,
        ]
        .into_iter()
        .find(|f| !caps.supports(*f) && !self.update.fields().contains(*f)) else {
            return;
        };
        let id = TicketId::new("tk-2").expect("valid id");
        let strict = with_field(self.update.to_builder(), field)
            .policy(UnsupportedPolicy::Strict)
            .build()
            .expect("valid");
        match updater.update(&id, &strict).await {
            Err(TicketError::Unsupported { fields, .. }) => assert!(fields.contains(&field)),
            other => panic!("[strict] {name}: expected Unsupported({field}), got {other:?}"),
        }
        assert!(
            server.requests().is_empty(),
            "[strict] {name}: sent a request"
        );
        let lenient = with_field(self.update.to_builder(), field)
            .lenient()
            .build()
            .expect("valid");
        let preview = updater.preview(&id, &lenient).expect("lenient preview");
        let receipt = updater.update(&id, &lenient).await.expect("lenient update");
        assert!(
            receipt.dropped.contains(&field),
            "[lenient] {name}: {field} not reported"
        );
        assert_eq!(receipt.dropped, preview.dropped, "[lenient] {name}");
        assert_request_matches(&preview, &only(&server.requests(), "lenient"), &name);
    }

    /// Each scripted answer maps to its kind, and no secret leaks even when the server
    /// echoes the secrets and every credential header it received.
    pub async fn error_kinds_and_no_secrets(&self) {
        let cases: [(u16, Option<ErrorKind>, bool); 7] = [
            (401, Some(ErrorKind::Unauthenticated), false),
            (403, Some(ErrorKind::PermissionDenied), false),
            (404, Some(ErrorKind::NotFound), false),
            (429, Some(ErrorKind::RateLimited), true),
            (500, Some(ErrorKind::Provider), true),
            (503, Some(ErrorKind::Provider), true),
            (200, None, false),
        ];
        let name = self.name();
        for (status, kind, retryable) in cases {
            let secrets = self.secrets.clone();
            let server = ScriptedServer::start(move |request| {
                let mut text = String::from("echo:");
                for s in &secrets {
                    text.push_str(&format!(" {s} Bearer {s} {}", BASE64.encode(s)));
                }
                for (_, value) in &request.headers {
                    text.push_str(&format!(" {value}"));
                }
                Reply::text(status, "text/html", &text)
            })
            .await
            .expect("server");
            let updater = self.provider(server.url(), Self::no_retries());
            let id = TicketId::new("tk-5").expect("valid id");
            let err = updater
                .update(&id, &self.update)
                .await
                .expect_err("an error");
            let preview = updater.preview(&id, &self.update).expect("preview");
            let mut kind = kind.unwrap_or(ErrorKind::MalformedResponse);
            let mut retryable = retryable;
            // A 5xx to an update that is not idempotent (a Feishu comment) may have applied:
            // it comes back as a transport error whose request may have been sent, and which
            // must not be repeated.
            if status >= 500 && !updater.capabilities().is_idempotent(self.update.fields()) {
                kind = ErrorKind::Transport;
                retryable = false;
                assert!(err.may_have_applied(), "[errors] {name}: HTTP {status}");
            }
            assert_eq!(
                err.kind(),
                kind,
                "[errors] {name}: HTTP {status} gave {err}"
            );
            assert_eq!(
                err.is_retryable(),
                retryable,
                "[errors] {name}: HTTP {status}"
            );
            // A transport error carries the server's answer as its source, not as `server()`.
            if status != 200 && kind != ErrorKind::Transport {
                assert_eq!(
                    err.server().map(|s| s.status),
                    Some(status),
                    "[errors] {name}"
                );
            }
            let sent = only(&server.requests(), "errors");
            let mut forbidden = self.secrets.clone();
            for (header, value) in &preview.headers {
                if value == RequestPreview::REDACTED {
                    let real = sent.header(header).unwrap_or_default();
                    forbidden.push(real.to_owned());
                    forbidden.extend(real.split(' ').nth(1).map(str::to_owned));
                }
            }
            let outputs = format!("{err} {err:?} {preview} {preview:?} {updater:?}");
            for secret in forbidden.iter().filter(|s| s.len() >= 4) {
                assert!(
                    !outputs.contains(secret.as_str()),
                    "[secrets] {name}, HTTP {status}: a secret leaked in {outputs}"
                );
            }
        }
    }

    /// A 503 then success is retried once; a wait longer than the budget is not waited.
    pub async fn retries_and_the_servers_wait(&self) {
        let calls = Arc::new(AtomicUsize::new(0));
        let success = self.success.clone();
        let server = ScriptedServer::start({
            let calls = Arc::clone(&calls);
            move |_| match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::text(503, "text/plain", "busy"),
                _ => success.clone(),
            }
        })
        .await
        .expect("server");
        // Opted in for updates that are not idempotent (a Feishu comment), which are otherwise
        // never retried after a 5xx; `error_kinds_and_no_secrets` checks that default.
        let retry = RetryPolicy::default()
            .max_retries(2)
            .initial_backoff(Duration::from_millis(1))
            .jitter(false)
            .retry_non_idempotent(true);
        let updater = self.provider(server.url(), HttpOptions::default().retry(retry));
        let id = TicketId::new("tk-4").expect("valid id");
        let receipt = updater
            .update(&id, &self.update)
            .await
            .expect("retried update");
        assert_eq!(receipt.attempts, 2, "[retries] {}", updater.provider());
        assert_eq!(server.requests().len(), 2);

        let limited = Reply::text(429, "text/plain", "slow down").header("retry-after", "60");
        let server = ScriptedServer::always(limited).await.expect("server");
        let updater = self.provider(
            server.url(),
            HttpOptions::default()
                .request_timeout(Duration::from_secs(2))
                .retry(retry.budget(Duration::from_secs(5))),
        );
        let err = updater
            .update(&id, &self.update)
            .await
            .expect_err("rate limited");
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(
            err.retry_after(),
            Some(Duration::from_secs(60)),
            "[retries] the wait"
        );
        assert_eq!(
            server.requests().len(),
            1,
            "[retries] retried before the wait"
        );
    }

    /// Ticket ids are one percent-encoded segment, and the preview says so too.
    pub async fn ticket_ids_are_one_segment(&self) {
        let server = ScriptedServer::always(self.success.clone())
            .await
            .expect("server");
        let updater = self.provider(server.url(), Self::no_retries());
        let plain = TicketId::new("plain").expect("valid id");
        updater.update(&plain, &self.update).await.expect("update");
        let base = only(&server.requests(), "ids").target;
        for (raw, encoded) in [
            ("a/b", "a%2Fb"),
            ("../x", "..%2Fx"),
            ("a?b#c", "a%3Fb%23c"),
            ("工單", "%E5%B7%A5%E5%96%AE"),
        ] {
            let id = TicketId::new(raw).expect("valid id");
            let preview = updater.preview(&id, &self.update).expect("preview");
            updater.update(&id, &self.update).await.expect("update");
            let sent = server.requests().pop().expect("a request").target;
            assert_eq!(sent, base.replace("plain", encoded), "[ids] {raw}");
            assert!(
                preview.url.ends_with(&sent),
                "[ids] preview {} vs {sent}",
                preview.url
            );
        }
    }

    fn name(&self) -> String {
        self.provider("http://127.0.0.1:9", Self::no_retries())
            .provider()
            .to_owned()
    }
}

fn with_field(b: TicketUpdateBuilder, field: Field) -> TicketUpdateBuilder {
    match field {
        Field::Title => b.title("conformance"),
        Field::Description => b.description("conformance"),
        Field::Priority => b.priority(Priority::High),
        Field::Kind => b.kind(TicketKind::Task),
        Field::Attachments => b.attachment("https://files.example.com/conformance.png"),
        Field::Status => b.status(TicketStatus::Closed),
        Field::Comment => b
            .comment("conformance")
            .comment_visibility(CommentVisibility::Public),
        _ => b.tag("conformance"),
    }
}

fn only(requests: &[RecordedRequest], check: &str) -> RecordedRequest {
    assert_eq!(requests.len(), 1, "[{check}] expected one request");
    requests[0].clone()
}

fn assert_request_matches(preview: &RequestPreview, sent: &RecordedRequest, provider: &str) {
    assert_eq!(preview.method, sent.method, "[preview] {provider}: method");
    assert!(
        preview.url.ends_with(&sent.target),
        "[preview] {provider}: url {} vs target {}",
        preview.url,
        sent.target
    );
    assert_eq!(
        preview.body.as_bytes(),
        sent.body,
        "[preview] {provider}: body"
    );
    for (name, value) in &preview.headers {
        let got = sent.header(name);
        let got = got.unwrap_or_else(|| panic!("[preview] {provider}: {name} not sent"));
        if value == RequestPreview::REDACTED {
            assert_ne!(
                got,
                RequestPreview::REDACTED,
                "[preview] {provider}: {name}"
            );
        } else {
            assert_eq!(got, value, "[preview] {provider}: header {name}");
        }
    }
    assert_eq!(
        preview.headers.len(),
        sent.headers.len(),
        "[preview] {provider}: headers"
    );
    let names = |headers: &[(String, String)]| {
        headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&preview.headers),
        names(&sent.headers),
        "[preview] {provider}: the headers' order on the wire"
    );
}
