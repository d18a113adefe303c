//! `apply --metrics-addr`: the library's metrics (see `helpdesk::telemetry`) served for
//! Prometheus while the run lasts, by `metrics-exporter-prometheus`'s own HTTP listener.

use std::net::SocketAddr;

use helpdesk::telemetry;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// The buckets of `http.client.request.duration`, in seconds: OpenTelemetry's advice for it.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Installs the Prometheus recorder and serves its text format at `addr` (every path answers,
/// `/metrics` included), in the current runtime. An address that cannot be bound is an error
/// before anything is sent.
pub(super) fn serve(addr: SocketAddr) -> Result<(), String> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            Matcher::Full(telemetry::REQUEST_DURATION.to_owned()),
            &DURATION_BUCKETS,
        )
        .and_then(PrometheusBuilder::install)
        .map_err(|e| format!("cannot serve the metrics at {addr}: {e}"))?;
    telemetry::describe_metrics();
    Ok(())
}
