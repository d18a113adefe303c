//! Observing a piece of async code in a test: its spans and events (the capturing layer of
//! [`super::spans`]) and its metrics (a `metrics-util` debugging recorder), each test with its
//! own, so that tests running in parallel do not see each other's.

use std::future::Future;

use helpdesk::telemetry;
use metrics::Unit;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshot};
use tracing_subscriber::layer::SubscriberExt as _;

use super::spans::Spans;

/// Runs `make()` on a current-thread runtime with a span capture and a metrics recorder of its
/// own (so that tests running in parallel do not see each other's): its output, the spans and
/// events, and the metrics.
pub fn observe<F: Future>(make: impl FnOnce() -> F) -> (F::Output, Spans, Snapshot) {
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

/// What a debugging recorder's snapshot holds.
pub type Recorded = [(
    metrics_util::CompositeKey,
    Option<Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)];

/// The value of the metric of `kind` named `name` with exactly `labels` (in any order).
pub fn metric<'a>(
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

pub fn samples(value: &DebugValue) -> Vec<f64> {
    match value {
        DebugValue::Histogram(values) => values.iter().map(|v| v.into_inner()).collect(),
        other => panic!("not a histogram: {other:?}"),
    }
}

/// The value of the counter `name` with `labels`, if it was recorded.
pub fn counter(snapshot: &Recorded, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    match metric(snapshot, MetricKind::Counter, name, labels) {
        Some((_, DebugValue::Counter(n))) => Some(*n),
        _ => None,
    }
}
