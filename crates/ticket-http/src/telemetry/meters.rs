//! The metrics of the `telemetry` module (feature `metrics`), through the `metrics` facade:
//! whatever recorder the application installed receives them; without one, they go nowhere.

use std::sync::Arc;
use std::time::Instant;

use metrics::{
    Label, SharedString, Unit, counter, describe_counter, describe_histogram, histogram,
};
use reqwest::Method;
use ticket_core::TicketError;

use super::{
    Call, Outcome, RATE_BUDGET_FALLBACKS, RATE_LIMIT_WAIT_MILLISECONDS, RATE_LIMIT_WAITS, READS,
    REQUEST_DURATION, RETRIES, TOKEN_REFRESHES, TokenKind, TokenOutcome, UPDATES,
};

/// Describes every metric of this crate to the installed recorder: units and help texts (a
/// Prometheus exporter writes them as `# HELP` and `# TYPE`). Call it once, after installing
/// the recorder; the metrics work without it.
pub fn describe_metrics() {
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Duration of each HTTP attempt, from sending the request to reading the whole answer."
    );
    describe_counter!(UPDATES, "Ticket updates by outcome (ok, failed, unknown).");
    describe_counter!(READS, "Ticket reads by outcome (ok, failed, unknown).");
    describe_counter!(
        RETRIES,
        "Retries: attempts after the first one of an execution."
    );
    describe_counter!(
        TOKEN_REFRESHES,
        "Token refreshes by token (user, tenant) and outcome (ok, reused, failed)."
    );
    describe_counter!(
        RATE_LIMIT_WAITS,
        Unit::Count,
        "Requests the rate budget held (its pause gate, shared budget or limiter)."
    );
    describe_counter!(
        RATE_LIMIT_WAIT_MILLISECONDS,
        Unit::Milliseconds,
        "Total time requests waited for the rate budget, in whole milliseconds."
    );
    describe_counter!(
        RATE_BUDGET_FALLBACKS,
        Unit::Count,
        "Times the shared (Redis) rate budget fell back to the local share."
    );
}

/// The start of one attempt, for its duration.
pub(super) struct AttemptMeter {
    provider: SharedString,
    operation: &'static str,
    method: SharedString,
    started: Instant,
}

impl AttemptMeter {
    pub(super) fn start(provider: &Arc<str>, operation: &'static str, method: &Method) -> Self {
        Self {
            provider: SharedString::from(Arc::clone(provider)),
            operation,
            method: method_label(method),
            started: Instant::now(),
        }
    }

    /// Records the attempt's duration with its status and error type.
    pub(super) fn finish(self, status: Option<u16>, error: Option<&TicketError>) {
        let seconds = self.started.elapsed().as_secs_f64();
        let mut labels = Vec::with_capacity(5);
        labels.push(Label::new("provider", self.provider));
        labels.push(Label::new("operation", self.operation));
        labels.push(Label::new("http.request.method", self.method));
        if let Some(status) = status {
            labels.push(Label::new("http.response.status_code", status.to_string()));
        }
        if let Some(err) = error {
            labels.push(Label::new("error.type", err.kind().as_str()));
        }
        histogram!(REQUEST_DURATION, labels).record(seconds);
    }
}

/// The method as a label, without allocating for the usual ones.
fn method_label(method: &Method) -> SharedString {
    let known = [
        Method::GET,
        Method::PUT,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    const NAMES: [&str; 7] = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match known.iter().position(|m| m == method) {
        Some(i) => SharedString::const_str(NAMES[i]),
        None => SharedString::from_owned(method.as_str().to_owned()),
    }
}

pub(super) fn call_done(call: Call, provider: &'static str, outcome: Outcome) {
    let name = match call {
        Call::Update => UPDATES,
        Call::Get => READS,
    };
    counter!(name, "provider" => provider, "outcome" => outcome.as_str()).increment(1);
}

pub(super) fn retried(provider: &str, operation: &'static str) {
    counter!(RETRIES, "provider" => provider.to_owned(), "operation" => operation).increment(1);
}

pub(super) fn token_refreshed(provider: &'static str, token: TokenKind, outcome: TokenOutcome) {
    counter!(
        TOKEN_REFRESHES,
        "provider" => provider,
        "token" => token.as_str(),
        "outcome" => outcome.as_str()
    )
    .increment(1);
}

pub(super) fn budget_waited(provider: &str, operation: &'static str, millis: u64) {
    let labels = [
        Label::new("provider", provider.to_owned()),
        Label::new("operation", operation),
    ];
    counter!(RATE_LIMIT_WAITS, labels.iter()).increment(1);
    counter!(RATE_LIMIT_WAIT_MILLISECONDS, labels.iter()).increment(millis);
}

pub(super) fn budget_fell_back(provider: &str) {
    counter!(RATE_BUDGET_FALLBACKS, "provider" => provider.to_owned()).increment(1);
}
