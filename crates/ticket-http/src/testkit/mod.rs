//! The conformance suite every provider runs from its own tests (feature `testkit`), over real
//! loopback HTTP with the scripted server of [`test_server`](crate::test_server).
//!
//! Give [`Suite`] a factory that builds your provider against a base URL with the given HTTP
//! options, a success answer of your API (one that names no ticket), the route the update must
//! reach, the exact credential headers your factory configures, and the secrets behind them.
//! [`Suite::run`] then checks, building every update from the provider's
//! [`Capabilities`](ticket_core::Capabilities) (so it needs no knowledge of the wire):
//!
//! - `[body]` every field the provider claims reaches the body sent: a distinctive value
//!   (sentinel text, numbers, two tags, custom-field keys, ids and values, an attachment, a
//!   comment) set alone and with every other field at once must appear in it;
//! - `[enum]` changing an enumerated field changes the body: every priority, kind and
//!   solved value, and public or internal comments, give distinct bodies; the six unified
//!   statuses too, except that `open` and `in_progress` may share one wire value;
//! - `[preview]` the preview is exactly the request sent (method, full URL, every header, in
//!   order, body bytes); `[path]` the request goes to the stated route under the base URL's
//!   path, compared in full, with and without a gateway prefix; `[credentials]` the headers
//!   the preview redacts are the credentials stated, and each is sent with exactly the value
//!   stated (values are never printed);
//! - `[strict]` every field the provider cannot carry (including `solved`, custom-field ids
//!   and keys, comment visibility, and another provider's native status) is refused, naming
//!   exactly the unsupported fields, by `update` and `preview`, with nothing sent;
//!   `[lenient]` the same field is dropped: listed in the preview and the receipt, and the body
//!   sent is byte for byte the body of the same update without it;
//! - `[ids]` ticket ids are one percent-encoded path segment (`a/b`, `../x`, `a?b#c`, `%2F`,
//!   `工單 7`), in the request and the preview; `[receipt]` the receipt names the provider and
//!   the ticket requested, one attempt, nothing dropped;
//! - `[errors]` with the provider's normal retry policy, 401, 403, 404 and a garbled 200 map
//!   to their kinds and are sent once; 429, 500 and 503 are retried to the policy's limit, each
//!   retry the same request; a 5xx to an update that is not idempotent is sent once and may
//!   have applied; `[business]` the vendor's own error answers the test declares (such as
//!   HTTP-200 errors) map to their kinds, sent once unless the kind is worth retrying;
//! - `[secrets]` no secret, credential value or token part of one appears in any error,
//!   preview or `Debug` output, even when the server echoes them all back;
//! - `[retries]` a 503 then success is retried once, with the same request; `[wait]` a server
//!   wait inside the budget is honoured (the server refuses a retry that comes earlier), a wait
//!   beyond it is returned at once, after one request, with the server's figure.
//!
//! A provider that declares [`Capabilities::read`](ticket_core::Capabilities::read) states its
//! read route and an answer ([`Suite::read`]), how to preview a read
//! ([`Suite::read_preview`]), and, when reads carry other credentials than updates, those
//! ([`Suite::read_credential`]), its token refusal ([`Suite::read_token_refusal`]) and any other
//! endpoint it calls ([`Suite::serve`]); then:
//!
//! - `[read]` a read is one `GET`, without a body, to exactly the read route (with and without
//!   a gateway prefix, every test id one encoded segment), exactly as its preview shows it, with
//!   exactly the read's credentials and no update token that is not one of them;
//! - `[read-errors]` under the normal retry policy, a read answered 401, 403, 404 or a garbled
//!   200 fails with its kind, sent once; 429, 500 and 503 are retried to the limit; a wait
//!   beyond the budget comes back with the server's figure; an answer about another ticket is
//!   malformed; `[read-retries]` a 503 then success is read, and a refused read token is
//!   renewed once (twice sent in all when refusals go on);
//! - `[merge]` a merge update is checked without building its body and refused by `preview`;
//!   sent, it reads once and then writes exactly the preview of the update merged with the
//!   answer, the fields filled from the read in its body and on the receipt;
//! - `[verify]` an update with verification writes then reads back: the values the ticket holds
//!   are verified, the suite's are reported as drifted with what was sent and what was found,
//!   and a failed read back is kept on the receipt of the update that succeeded;
//! - `[read-secrets]` no secret is in a read's error, preview or log lines, nor in the read
//!   error of a verification, while the server echoes them back.
//!
//! A provider that cannot read refuses reads, merge mode and verification with
//! `UnsupportedOperation`, sending nothing (`[unsupported-read]`).
//!
//! No check measures time: the one wait honoured is enforced by the server, which answers a
//! retry that comes too early with another refusal, so a slow machine can only pass it later.
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! use ticket_core::{ErrorKind, TicketError, TicketUpdater};
//! use helpdesk_ticket_http::HttpOptions;
//! use helpdesk_ticket_http::testkit::{Reply, Suite};
//! # fn my_provider(_: &str, _: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> { todo!() }
//! Suite::new(my_provider, Reply::json(200, r#"{"ok": true}"#))
//!     .route("/api/tickets/{id}")
//!     // base64("agent:my-api-token"), as the factory configures it.
//!     .credential("authorization", "Basic YWdlbnQ6bXktYXBpLXRva2Vu")
//!     .secrets(&["my-api-token"])
//!     .business_error(Reply::json(200, r#"{"ok": false, "error": "auth"}"#), ErrorKind::Unauthenticated)
//!     .run()
//!     .await;
//! # }
//! ```

// A test kit reports a failed check by panicking, as `assert!` does: that is its contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod body;
mod errors;
mod logs;
mod merge;
mod policy;
mod read;
mod read_errors;
mod request;
mod updates;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use ticket_core::{ErrorKind, RequestPreview, TicketError, TicketId, TicketUpdate, TicketUpdater};

pub use crate::test_server::{RecordedRequest, Reply, ScriptedServer};
use crate::{HttpOptions, RetryPolicy};

/// Builds the provider under test against a base URL, with the given HTTP options.
pub type ProviderFactory =
    Arc<dyn Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> + Send + Sync>;

/// Shows the request a read of a ticket would send, for a provider built as the factory
/// builds it at a base URL with the given HTTP options (the kit's
/// [`JsonClient::preview_read`](crate::JsonClient::preview_read)).
pub type ReadPreviewer =
    Arc<dyn Fn(&str, HttpOptions, &TicketId) -> Result<RequestPreview, TicketError> + Send + Sync>;

/// The conformance suite for one provider. Every check panics, as `assert!` does, with a
/// message that starts with its tag (`[body]`, `[strict]` …) and names the provider.
pub struct Suite {
    factory: ProviderFactory,
    success: Reply,
    route: Option<String>,
    credentials: Vec<(String, String)>,
    secrets: Vec<String>,
    business: Vec<(Reply, ErrorKind)>,
    reading: Reading,
}

/// What the test states about reads (see [`Suite::read`]).
#[derive(Default)]
struct Reading {
    route: Option<String>,
    answer: Option<Reply>,
    preview: Option<ReadPreviewer>,
    credentials: Vec<(String, String)>,
    refusal: Option<Reply>,
    served: Vec<(String, Reply)>,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credential values and secrets are never printed.
        f.debug_struct("Suite")
            .field("route", &self.route)
            .field("business_errors", &self.business.len())
            .field("read_route", &self.reading.route)
            .field("served", &self.reading.served.len())
            .finish_non_exhaustive()
    }
}

impl Suite {
    /// A suite for the provider `factory` builds; `success` is an answer the provider reads
    /// as a successful update of any ticket (it must not name one).
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
            route: None,
            credentials: Vec::new(),
            secrets: Vec::new(),
            business: Vec::new(),
            reading: Reading::default(),
        }
    }

    /// The path an update must reach under the base URL, with one `{id}` for the encoded
    /// ticket id, such as `/api/v2/tickets/{id}.json` (required).
    #[must_use]
    pub fn route(mut self, template: &str) -> Self {
        self.route = Some(template.to_owned());
        self
    }

    /// A credential header the factory configures, with the exact value it must be sent with
    /// (`"authorization"`, `"Basic …"`). State each one (at least one): the headers the preview
    /// redacts must be exactly these. The values count as secrets too, and are never printed.
    #[must_use]
    pub fn credential(mut self, header: &str, value: &str) -> Self {
        self.credentials
            .push((header.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// The secrets the factory configures (raw: keys, tokens, passwords): none may appear in
    /// any output.
    #[must_use]
    pub fn secrets(mut self, secrets: &[&str]) -> Self {
        self.secrets = secrets.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// One of the vendor's own error answers (an HTTP-200 error, a code that means "not
    /// found"…) and the kind it must map to, under the provider's normal retry policy.
    #[must_use]
    pub fn business_error(mut self, reply: Reply, kind: ErrorKind) -> Self {
        self.business.push((reply, kind));
        self
    }

    /// A provider that declares [`Capabilities::read`](ticket_core::Capabilities::read): the
    /// path a read must reach under the base URL (one `{id}`, as [`route`](Self::route)), and a
    /// successful answer to a read, in the vendor's JSON, with `{id}` where it names the ticket
    /// (the suite puts the id read there, JSON-escaped, or another one to see that an answer
    /// about another ticket is refused).
    ///
    /// The ticket it describes is what merge mode and verification are checked against: it must
    /// show every field the provider's update must carry
    /// ([`Capabilities::must_carry`](ticket_core::Capabilities::must_carry)), and at least one
    /// of title, description, priority, kind and tags, with values other than the suite's
    /// (`cf-…`, priority `high`, kind `incident`). Required with a provider that reads, with
    /// [`read_preview`](Self::read_preview).
    #[must_use]
    pub fn read(mut self, route: &str, answer: Reply) -> Self {
        self.reading.route = Some(route.to_owned());
        self.reading.answer = Some(answer);
        self
    }

    /// How to preview a read with the provider the factory builds (for a provider on the kit:
    /// build the client and call
    /// [`JsonClient::preview_read`](crate::JsonClient::preview_read)). `[read]` compares it
    /// with the request the read sends.
    #[must_use]
    pub fn read_preview<F>(mut self, preview: F) -> Self
    where
        F: Fn(&str, HttpOptions, &TicketId) -> Result<RequestPreview, TicketError>
            + Send
            + Sync
            + 'static,
    {
        self.reading.preview = Some(Arc::new(preview));
        self
    }

    /// A credential header a read carries, with its exact value, when reads carry other
    /// credentials than updates (Feishu reads with a tenant token): state each one. Without
    /// any, reads must carry exactly the update's [`credential`](Self::credential)s. With
    /// some, no update credential that is not one of them may reach a read. The values count
    /// as secrets too, and are never printed.
    #[must_use]
    pub fn read_credential(mut self, header: &str, value: &str) -> Self {
        self.reading
            .credentials
            .push((header.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// The vendor's answer to a read whose token it refuses, for a provider whose read token
    /// can be refreshed: `[read-retries]` then checks that it is refreshed once, and the read
    /// sent once more (twice in all, when the refusals go on).
    #[must_use]
    pub fn read_token_refusal(mut self, reply: Reply) -> Self {
        self.reading.refusal = Some(reply);
        self
    }

    /// Another endpoint the provider calls under the same base URL (a token endpoint, a list
    /// of field definitions), answered with `reply` in every read, merge and verify check,
    /// whatever else the server is scripted to do, and left out of the requests counted. A
    /// request is served when its path ends with `path` (so that a gateway prefix is kept).
    #[must_use]
    pub fn serve(mut self, path: &str, reply: Reply) -> Self {
        self.reading.served.push((path.to_owned(), reply));
        self
    }

    /// Runs every check, in the order of the module's list.
    pub async fn run(&self) {
        self.body_carries_every_field().await;
        self.preview_is_the_exact_request().await;
        self.strict_and_lenient().await;
        self.ticket_ids_and_receipts().await;
        self.error_kinds_and_no_secrets().await;
        self.business_errors().await;
        self.retries_and_the_servers_wait().await;
        if self.reads() {
            self.read_is_the_exact_request().await;
            self.read_ids().await;
            self.read_error_kinds().await;
            self.read_retries_and_refreshes().await;
            self.merge_reads_then_writes().await;
            self.verification_reads_back().await;
            self.no_secrets_in_reads().await;
        } else {
            self.unsupported_reads().await;
        }
    }

    /// The provider built by the factory at `url` with `options`.
    fn provider(&self, url: &str, options: HttpOptions) -> Arc<dyn TicketUpdater> {
        (self.factory)(url, options).unwrap_or_else(|e| panic!("[setup] the factory failed: {e}"))
    }

    /// The provider's name, as it reports it.
    fn name(&self) -> String {
        self.provider("http://127.0.0.1:9", normal())
            .provider()
            .to_owned()
    }

    fn route_template(&self) -> &str {
        let route = self
            .route
            .as_deref()
            .expect("[setup] state the route with Suite::route");
        assert!(
            route.starts_with('/') && route.matches("{id}").count() == 1,
            "[setup] the route must start with `/` and hold `{{id}}` once"
        );
        route
    }

    /// The path an update of a ticket whose encoded id is `encoded` must reach.
    fn path(&self, encoded: &str) -> String {
        self.route_template().replace("{id}", encoded)
    }

    /// Every secret the test stated, every credential value (of updates and of reads), and
    /// the token part of each credential value (after its scheme: `Basic`, `Bearer`); forms
    /// shorter than four characters are left out (they would match ordinary words).
    fn forbidden(&self) -> Vec<String> {
        let mut all = self.secrets.clone();
        for (_, value) in self.credentials.iter().chain(&self.reading.credentials) {
            all.extend(forms(value));
        }
        // Each once, in the order stated (failures name a secret by its number).
        let mut seen = std::collections::HashSet::new();
        all.retain(|s| s.len() >= 4 && seen.insert(s.clone()));
        all
    }

    /// `text` with every secret and credential value replaced, for the messages of failed
    /// checks.
    fn shown(&self, text: &str) -> String {
        let mut forbidden = self.forbidden();
        // Longest first, so that a secret inside a credential value does not leave the rest.
        forbidden.sort_by_key(|s| std::cmp::Reverse(s.len()));
        forbidden
            .iter()
            .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "<secret>"))
    }

    /// A server that answers every request with the success answer.
    async fn success_server(&self) -> ScriptedServer {
        ScriptedServer::always(self.success.clone())
            .await
            .expect("[setup] a loopback server")
    }

    /// Sends `update` to a provider at `server`, which must accept it, and returns the one
    /// request it sent.
    async fn send_ok(
        &self,
        check: &str,
        updater: &dyn TicketUpdater,
        server: &ScriptedServer,
        update: &TicketUpdate,
        what: &str,
    ) -> RecordedRequest {
        let before = server.requests().len();
        let id = TicketId::new("tk-1").expect("valid id");
        if let Err(e) = updater.update(&id, update).await {
            panic!("[{check}] {}: {what} failed: {e}", updater.provider());
        }
        let requests = server.requests();
        assert_eq!(
            requests.len(),
            before + 1,
            "[{check}] {}: {what} sent {} requests, not one",
            updater.provider(),
            requests.len() - before
        );
        requests[before].clone()
    }
}

/// The provider's normal retry policy, with short backoffs: which errors are retried, how
/// often, and within which budget are the defaults; only the waits between attempts are cut
/// (the suite counts attempts, it does not time them). Timeouts are the defaults too.
pub(crate) fn normal_policy() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .jitter(false)
}

/// The HTTP options of every check: the defaults, with [`normal_policy`].
pub(crate) fn normal() -> HttpOptions {
    HttpOptions::default().retry(normal_policy())
}

/// A credential value and its token part (after its scheme: `Basic`, `Bearer`).
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_owned()];
    forms.extend(
        value
            .split_once(' ')
            .map(|(_, token)| token.trim().to_owned()),
    );
    forms
}

/// Whether two recorded requests are the same request (method, target, headers, body).
fn same_request(a: &RecordedRequest, b: &RecordedRequest) -> bool {
    a.method == b.method && a.target == b.target && a.headers == b.headers && a.body == b.body
}

/// The body of a request as text, for searching and messages (bodies hold no credential).
fn body_text(request: &RecordedRequest) -> String {
    request.body_text()
}
