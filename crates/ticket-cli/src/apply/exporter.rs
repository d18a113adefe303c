//! `apply --metrics-addr`: the library's metrics (see `helpdesk::telemetry`) served for
//! Prometheus while the run lasts: `metrics-exporter-prometheus` keeps and renders them, and
//! a small HTTP/1.1 listener (hyper, which reqwest already brings) answers every request with
//! the text format.
//!
//! Not the exporter's own `http-listener` feature: that one serves HTTP/2 as well, which turns
//! on hyper's `http2` for the whole binary, reqwest's client included, and every update then
//! pays for an HTTP/2 branch it never takes (BENCHMARKS.md section 9).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use helpdesk::telemetry;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The buckets of `http.client.request.duration`, in seconds: OpenTelemetry's advice for it.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// How often the recorder's upkeep runs (the exporter's own default).
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder and serves its text format at `addr` (every path answers,
/// `/metrics` included), in the current runtime. An address that cannot be bound is an error
/// before anything is sent.
pub(super) fn serve(addr: SocketAddr) -> Result<(), String> {
    let refused = |e: &dyn std::fmt::Display| format!("cannot serve the metrics at {addr}: {e}");
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| {
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)
        })
        .map_err(|e| refused(&e))?;
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(telemetry::REQUEST_DURATION.to_owned()),
            &DURATION_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| refused(&e))?;
    telemetry::describe_metrics();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP).await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(async move {
        loop {
            // A failed accept (too many open files, say) is not the run's end.
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_: Request<Incoming>| {
                    let response = render(&handle);
                    async move { Ok::<_, Infallible>(response) }
                });
                // A scraper that goes away mid-answer is its own business.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(())
}

/// The metrics in Prometheus' text format.
fn render(handle: &PrometheusHandle) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(handle.render())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
