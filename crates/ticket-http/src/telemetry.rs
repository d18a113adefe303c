//! What an operator sees of the updates: `tracing` spans under OpenTelemetry's names, and
//! (feature `metrics`) metrics through the [`metrics`](https://docs.rs/metrics) facade, so that
//! the application picks the subscriber and the exporter. No field, event or label holds a
//! secret: ids, names, numbers and kinds only; `url.full` and request ids pass through the
//! client's [`Secrets`] first.
//!
//! # Spans
//!
//! An application whose subscriber takes INFO sees one span per update (and per read); at
//! DEBUG, each attempt and wait inside it. Without a subscriber, a span costs a check of the
//! level, nothing more.
//!
//! | span | level | fields |
//! |---|---|---|
//! | `ticket.update` | INFO | `ticket.provider`, `ticket.id`, `ticket.attempts`, `ticket.request_id`, `ticket.outcome` (`ok`, `failed`, `unknown`: may have applied), `error.type`, `otel.status_code` (`ERROR` on failure) |
//! | `ticket.get` | INFO | the same, for a read ([`TicketUpdater::read`](ticket_core::TicketUpdater::read), and the reads of merge mode and verification, inside their update's span) |
//! | `ticket_http.send` | DEBUG | one per attempt: `otel.kind` (`client`), `otel.name` (`PUT /route/{id}`), `ticket.provider`, `ticket.operation`, `http.request.method`, `server.address`, `server.port`, `url.template`, `url.full`, `http.request.resend_count` (from the second attempt: 1, 2, …), `http.response.status_code`, `ticket.request_id`, `error.type` |
//! | `ticket.wait` | DEBUG | the time an [`AttemptHook`](crate::AttemptHook) held an attempt (a gate, the [`RateBudget`](crate::RateBudget)): `ticket.wait.reason` (`attempt_hook`), `ticket.attempt` |
//! | `ticket.token.refresh` | INFO | a token source's refresh (Feishu's user token, tenant token): `ticket.provider`, `ticket.token` (`user`, `tenant`), `ticket.outcome` (`ok`, `reused`: another process had refreshed, `failed`), `error.type` |
//!
//! Events inside them: `retrying` (INFO, before each retry: `error.type`, `wait_ms`, the
//! backoff or the server's wait), `bearer token refreshed after refusal` (INFO), `response
//! read` and `request failed` (DEBUG, per attempt); from the [`RateBudget`](crate::RateBudget):
//! `rate budget wait` (DEBUG, inside `ticket.wait`: `ticket.operation`, `wait_ms`, each time it
//! held a request) and `rate budget paused` (INFO: `ticket.operation`, `wait_ms`, after a
//! rate-limit answer, which pauses every request of the operation).
//!
//! `error.type` is the error's kind ([`ErrorKind::as_str`](ticket_core::ErrorKind::as_str):
//! `rate_limited`, `timeout`, `not_found`, …), also on attempts, whose errors include what the
//! provider said in a body (Feishu's codes with HTTP 200).
//!
//! # Metrics (feature `metrics`)
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http.client.request.duration` | histogram, seconds | `provider`, `operation` (`update`, `get`, `tenant_token`, `send`), `http.request.method`, `http.response.status_code` (when an answer came), `error.type` (when the attempt failed) |
//! | `ticket.updates` | counter | `provider`, `outcome` |
//! | `ticket.reads` | counter | `provider`, `outcome` |
//! | `ticket.retries` | counter | `provider`, `operation` |
//! | `ticket.token.refreshes` | counter | `provider`, `token`, `outcome` |
//! | `ticket.rate_limit.waits` | counter | `provider`, `operation`: requests the rate budget held |
//! | `ticket.rate_limit.wait_milliseconds` | counter, whole ms | `provider`, `operation`: their total wait (the facade's counters are integers) |
//! | `ticket.rate_budget.fallbacks` | counter | `provider`: the shared (Redis) budget fell back to the local share |
//!
//! Describe them to the recorder with `describe_metrics` (units and help texts). Prometheus
//! exporters write the dots as underscores (`ticket_updates`).

use std::time::Duration;

use ticket_core::{TicketError, TicketId};
use tracing::Span;
use tracing::field::Empty;

use crate::{PreparedRequest, RawResponse, Secrets};

#[cfg(feature = "metrics")]
mod meters;

#[cfg(feature = "metrics")]
pub use self::meters::describe_metrics;

/// The span of one update.
pub const UPDATE_SPAN: &str = "ticket.update";
/// The span of one read.
pub const GET_SPAN: &str = "ticket.get";
/// The span of one attempt (one HTTP request).
pub const ATTEMPT_SPAN: &str = "ticket_http.send";
/// The span of a wait an attempt hook imposed.
pub const WAIT_SPAN: &str = "ticket.wait";
/// The span of a token refresh.
pub const TOKEN_REFRESH_SPAN: &str = "ticket.token.refresh";

/// Histogram of attempt durations, in seconds (OpenTelemetry's name).
pub const REQUEST_DURATION: &str = "http.client.request.duration";
/// Counter of updates by outcome.
pub const UPDATES: &str = "ticket.updates";
/// Counter of reads by outcome.
pub const READS: &str = "ticket.reads";
/// Counter of retries (attempts after the first of an execution).
pub const RETRIES: &str = "ticket.retries";
/// Counter of token refreshes by token and outcome.
pub const TOKEN_REFRESHES: &str = "ticket.token.refreshes";
/// Counter of requests the rate budget held.
pub const RATE_LIMIT_WAITS: &str = "ticket.rate_limit.waits";
/// Counter of the time requests waited for the rate budget, in whole milliseconds.
pub const RATE_LIMIT_WAIT_MILLISECONDS: &str = "ticket.rate_limit.wait_milliseconds";
/// Counter of the shared rate budget's fallbacks to the local share.
pub const RATE_BUDGET_FALLBACKS: &str = "ticket.rate_budget.fallbacks";

/// How an update or read ended, as spans and metrics say it (`ticket.outcome`, `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed and did not apply.
    Failed,
    /// It failed, but may have applied ([`TicketError::may_have_applied`]).
    Unknown,
}

impl Outcome {
    /// The outcome of `result`.
    pub fn of<T>(result: &Result<T, TicketError>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(err) if err.may_have_applied() => Self::Unknown,
            Err(_) => Self::Failed,
        }
    }

    /// `"ok"`, `"failed"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

/// Which token a refresh was for (`ticket.token`, `token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// A user access token (Feishu's update token).
    User,
    /// A tenant access token (Feishu's read token).
    Tenant,
}

impl TokenKind {
    /// `"user"` or `"tenant"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Tenant => "tenant",
        }
    }
}

/// How a token refresh ended (`ticket.outcome`, `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenOutcome {
    /// A new token was fetched.
    Refreshed,
    /// No request was needed: another process had refreshed already (a shared token store).
    Reused,
    /// The refresh failed.
    Failed,
}

impl TokenOutcome {
    /// `"ok"`, `"reused"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refreshed => "ok",
            Self::Reused => "reused",
            Self::Failed => "failed",
        }
    }
}

/// The span of a refresh of `token` for `provider` ([`TOKEN_REFRESH_SPAN`]), a child of the
/// current span (the update that needed the token). Run the refresh in it
/// (`tracing::Instrument`), then end it with [`token_refreshed`].
pub fn token_refresh_span(provider: &'static str, token: TokenKind) -> Span {
    tracing::info_span!(
        TOKEN_REFRESH_SPAN,
        "ticket.provider" = provider,
        "ticket.token" = token.as_str(),
        "ticket.outcome" = Empty,
        "error.type" = Empty,
    )
}

/// Ends a token refresh: records its outcome on `span` (from [`token_refresh_span`]), says it
/// in an INFO event, and counts it (`ticket.token.refreshes`, feature `metrics`).
pub fn token_refreshed(
    span: &Span,
    provider: &'static str,
    token: TokenKind,
    result: Result<TokenOutcome, &TicketError>,
) {
    let outcome = result.unwrap_or(TokenOutcome::Failed);
    span.record("ticket.outcome", outcome.as_str());
    match result {
        Ok(_) => tracing::info!(
            parent: span,
            ticket.outcome = outcome.as_str(),
            "token refresh done"
        ),
        Err(err) => {
            span.record("error.type", err.kind().as_str());
            tracing::info!(
                parent: span,
                ticket.outcome = outcome.as_str(),
                error.type = err.kind().as_str(),
                "token refresh failed"
            );
        }
    }
    #[cfg(feature = "metrics")]
    meters::token_refreshed(provider, token, outcome);
    #[cfg(not(feature = "metrics"))]
    let _ = (provider, token);
}

/// What a span covers: an update or a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    Update,
    Get,
}

/// The span of one update or read of ticket `id`.
pub(crate) fn call_span(call: Call, provider: &'static str, id: &TicketId) -> Span {
    // One callsite per name: a span's name is static.
    match call {
        Call::Update => tracing::info_span!(
            UPDATE_SPAN,
            "ticket.provider" = provider,
            "ticket.id" = id.as_str(),
            "ticket.attempts" = Empty,
            "ticket.request_id" = Empty,
            "ticket.outcome" = Empty,
            "error.type" = Empty,
            "otel.status_code" = Empty,
        ),
        Call::Get => tracing::info_span!(
            GET_SPAN,
            "ticket.provider" = provider,
            "ticket.id" = id.as_str(),
            "ticket.attempts" = Empty,
            "ticket.request_id" = Empty,
            "ticket.outcome" = Empty,
            "error.type" = Empty,
            "otel.status_code" = Empty,
        ),
    }
}

/// `span`, unless it is disabled (no subscriber takes it).
pub(crate) fn enabled(span: Span) -> Option<Span> {
    (!span.is_disabled()).then_some(span)
}

/// Ends an update or read: its attempts, request id (the answer's, or the error's) and outcome
/// on `span`, and its count (`ticket.updates`, `ticket.reads`; feature `metrics`).
pub(crate) fn call_done(
    span: &Span,
    call: Call,
    provider: &'static str,
    attempts: u32,
    result: Result<Option<&str>, &TicketError>,
) {
    let outcome = match result {
        Ok(_) => Outcome::Ok,
        Err(err) if err.may_have_applied() => Outcome::Unknown,
        Err(_) => Outcome::Failed,
    };
    if !span.is_disabled() {
        span.record("ticket.attempts", attempts);
        span.record("ticket.outcome", outcome.as_str());
        let request_id = match result {
            Ok(id) => id,
            Err(err) => {
                span.record("error.type", err.kind().as_str());
                span.record("otel.status_code", "ERROR");
                err.request_id()
            }
        };
        if let Some(id) = request_id {
            span.record("ticket.request_id", id);
        }
    }
    #[cfg(feature = "metrics")]
    meters::call_done(call, provider, outcome);
    #[cfg(not(feature = "metrics"))]
    let _ = (call, provider);
}

/// The span of a wait an attempt hook imposes before attempt `number`.
pub(crate) fn wait_span(number: u32) -> Span {
    tracing::debug_span!(
        WAIT_SPAN,
        "ticket.wait.reason" = "attempt_hook",
        "ticket.attempt" = number
    )
}

/// Says that an execution retries after `err`, in `wait`: an INFO event, and the count
/// (`ticket.retries`; feature `metrics`).
pub(crate) fn retrying(provider: &str, operation: &'static str, err: &TicketError, wait: Duration) {
    tracing::info!(
        ticket.provider = provider,
        ticket.operation = operation,
        error.type = err.kind().as_str(),
        error = %err,
        wait_ms = millis(wait),
        "retrying"
    );
    #[cfg(feature = "metrics")]
    meters::retried(provider, operation);
}

/// Says that the rate budget held a request of `operation` for `wait`: a DEBUG event (inside
/// the `ticket.wait` span of the attempt), and the counts (`ticket.rate_limit.waits`,
/// `ticket.rate_limit.wait_milliseconds`; feature `metrics`).
pub(crate) fn budget_waited(provider: &str, operation: &'static str, wait: Duration) {
    tracing::debug!(
        ticket.provider = provider,
        ticket.operation = operation,
        wait_ms = millis(wait),
        "rate budget wait"
    );
    #[cfg(feature = "metrics")]
    meters::budget_waited(provider, operation, millis(wait));
}

/// Says that a rate-limit answer paused every request of `operation` for `wait`: an INFO
/// event, inside the update that got the answer.
pub(crate) fn budget_paused(provider: &str, operation: &'static str, wait: Duration) {
    tracing::info!(
        ticket.provider = provider,
        ticket.operation = operation,
        wait_ms = millis(wait),
        "rate budget paused"
    );
}

/// Counts a fallback of the shared budget to the local share (`ticket.rate_budget.fallbacks`;
/// feature `metrics`); the budget says why in its warning.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn budget_fell_back(provider: &str) {
    #[cfg(feature = "metrics")]
    meters::budget_fell_back(provider);
    #[cfg(not(feature = "metrics"))]
    let _ = provider;
}

/// `wait` in whole milliseconds.
fn millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
}

/// One attempt's span and measures: started before the request is sent, ended with what
/// became of it (the answer's status, the decoded error).
pub(crate) struct AttemptTrace {
    pub(crate) span: Span,
    /// Boxed: an attempt's future holds its trace, and an update's future must stay small
    /// (`tests/update_future.rs`); the metrics' own recording allocates more than this.
    #[cfg(feature = "metrics")]
    meter: Box<meters::AttemptMeter>,
}

impl AttemptTrace {
    /// The span of an attempt at `request` for `provider` (`operation`: what it does), the
    /// `resend_count`-th resend of it (0 for the first attempt).
    pub(crate) fn start(
        provider: &std::sync::Arc<str>,
        secrets: &Secrets,
        request: &PreparedRequest,
        operation: &'static str,
        resend_count: u32,
    ) -> Self {
        let url = &request.url;
        let span = tracing::debug_span!(
            ATTEMPT_SPAN,
            "otel.kind" = "client",
            "otel.name" = Empty,
            "ticket.provider" = &**provider,
            "ticket.operation" = operation,
            "http.request.method" = request.method.as_str(),
            "server.address" = url.host_str(),
            "server.port" = url.port_or_known_default(),
            "url.template" = request.url_template.as_deref(),
            "url.full" = Empty,
            "http.request.resend_count" = Empty,
            "http.response.status_code" = Empty,
            "ticket.request_id" = Empty,
            "error.type" = Empty,
        );
        // Formatted only for a subscriber that takes the span.
        if !span.is_disabled() {
            // A URL holds no credential (`BaseUrl` refuses them), but a downstream read path
            // might carry one in its query: scrubbed like everything else.
            span.record("url.full", secrets.scrub(url.as_str()).as_str());
            let name = match &request.url_template {
                Some(template) => format!("{} {template}", request.method),
                None => request.method.to_string(),
            };
            span.record("otel.name", name.as_str());
            if resend_count > 0 {
                span.record("http.request.resend_count", resend_count);
            }
        }
        Self {
            span,
            #[cfg(feature = "metrics")]
            meter: Box::new(meters::AttemptMeter::start(
                provider,
                operation,
                &request.method,
            )),
        }
    }

    /// Records what the answer says (status, request id, already scrubbed).
    pub(crate) fn answered(&self, response: &RawResponse) {
        if self.span.is_disabled() {
            return;
        }
        self.span
            .record("http.response.status_code", response.status);
        if let Some(id) = &response.request_id {
            self.span.record("ticket.request_id", id.as_str());
        }
        tracing::debug!(
            parent: &self.span,
            http.response.status_code = response.status,
            bytes = response.body.len(),
            "response read"
        );
    }

    /// Ends the attempt: `status` of the answer, if one came, and the attempt's error, if it
    /// failed (in transport or in decoding).
    pub(crate) fn finish(self, status: Option<u16>, error: Option<&TicketError>) {
        if let Some(err) = error
            && !self.span.is_disabled()
        {
            self.span.record("error.type", err.kind().as_str());
            tracing::debug!(
                parent: &self.span,
                error.type = err.kind().as_str(),
                error = %err,
                "request failed"
            );
        }
        #[cfg(feature = "metrics")]
        self.meter.finish(status, error);
        #[cfg(not(feature = "metrics"))]
        let _ = status;
    }
}
