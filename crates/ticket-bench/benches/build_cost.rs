//! Build cost: from a `TicketUpdate` to the bytes on the wire, per provider.
//!
//! `prepare` is what every `update` runs before any I/O: the plan (validation against the
//! provider's capabilities), the mapping to the provider's wire struct, JSON serialization,
//! the URL and the header map. Measured for a small update and a large one (50 tags, 50
//! custom fields, 10 KB of Markdown as EngageLab's description or Feishu's comment).
//!
//! The `parts` group times the pieces of `prepare` and of the send path on their own (see
//! `BENCHMARKS.md`). Criterion's median is in
//! `target/criterion/<group>/<name>/new/estimates.json`.
//!
//! Run: `cargo bench -p ticket-bench --bench build_cost`

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use secrecy::SecretString;
use ticket_bench::fixtures;
use ticket_core::{TicketError, UpdateReceipt};
use ticket_http::reqwest::Url;
use ticket_http::reqwest::header::HeaderMap;
use ticket_http::{Bytes, HttpOptions, RawResponse, RetryPolicy, encode_segment};

/// No request is sent: any loopback URL will do.
const BASE_URL: &str = "http://127.0.0.1:9";
const ENGAGELAB_PREFIX: &str = "http://127.0.0.1:9/api/v2/accounts/tickets/";

fn options() -> HttpOptions {
    HttpOptions::default().retry(RetryPolicy::default())
}

fn engagelab() -> EngageLabClient {
    let config = EngageLabConfig::new("sandbox-engagelab-key", "sandbox-engagelab-secret")
        .and_then(|c| c.with_base_url(BASE_URL))
        .expect("a valid config")
        .with_http_options(options());
    EngageLabClient::new(config).expect("a client")
}

fn feishu() -> FeishuClient {
    let config = FeishuConfig::with_static_token(
        "u-sandbox-feishu-user-token",
        "sandbox-helpdesk-id",
        "sandbox-helpdesk-token",
    )
    .and_then(|c| c.with_base_url(BASE_URL))
    .expect("a valid config")
    .with_http_options(options());
    FeishuClient::new(config).expect("a client")
}

/// The header map `EngageLabClient` keeps and clones on every `prepare`, taken from the client
/// itself so the bench measures the real thing.
fn engagelab_headers() -> HeaderMap {
    engagelab()
        .prepare(&fixtures::engagelab_id(), &fixtures::engagelab_small())
        .expect("prepare")
        .0
        .headers()
        .clone()
}

fn prepare(c: &mut Criterion) {
    let engagelab = engagelab();
    let feishu = feishu();
    let token = SecretString::from("u-sandbox-feishu-user-token");
    let el_id = fixtures::engagelab_id();
    let fs_id = fixtures::feishu_id();

    let mut group = c.benchmark_group("build_cost");
    for (size, update) in [
        ("small", fixtures::engagelab_small()),
        ("large", fixtures::engagelab_large()),
    ] {
        let bytes = engagelab
            .prepare(&el_id, &update)
            .expect("prepare")
            .0
            .body()
            .len();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::new("engagelab", size), &update, |b, u| {
            b.iter(|| {
                engagelab
                    .prepare(black_box(&el_id), black_box(u))
                    .expect("prepare")
            });
        });
    }
    for (size, update) in [
        ("small", fixtures::feishu_small()),
        ("large", fixtures::feishu_large()),
    ] {
        let bytes = feishu
            .prepare_with_token(&fs_id, &update, &token)
            .expect("prepare")
            .0
            .body()
            .len();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::new("feishu", size), &update, |b, u| {
            b.iter(|| {
                feishu
                    .prepare_with_token(black_box(&fs_id), black_box(u), &token)
                    .expect("prepare")
            });
        });
    }
    group.finish();
}

/// The pieces of EngageLab's `prepare`, one at a time.
fn parts(c: &mut Criterion) {
    let id = fixtures::engagelab_id();
    let headers = engagelab_headers();
    let mut group = c.benchmark_group("parts");
    for (size, update) in [
        ("small", fixtures::engagelab_small()),
        ("large", fixtures::engagelab_large()),
    ] {
        group.bench_with_input(BenchmarkId::new("plan", size), &update, |b, u| {
            b.iter(|| {
                black_box(u)
                    .plan(
                        provider_engagelab::PROVIDER,
                        &provider_engagelab::CAPABILITIES,
                        // The fixtures carry no raw provider fields, so no key is checked.
                        &[],
                    )
                    .expect("plan")
            });
        });
    }
    group.bench_function("url_format", |b| {
        b.iter(|| {
            format!(
                "{}{}",
                black_box(ENGAGELAB_PREFIX),
                encode_segment(black_box(&id))
            )
        });
    });
    // What `prepare` does now: the route is parsed once per client, each call clones it
    // and sets the path with the encoded id appended.
    let route = ticket_http::BaseUrl::parse(ENGAGELAB_PREFIX.trim_end_matches('/'))
        .expect("a base URL")
        .route("/");
    group.bench_function("route_url", |b| {
        b.iter(|| black_box(&route).url(black_box(&id)));
    });
    group.bench_function("headers_clone", |b| {
        b.iter(|| black_box(&headers).clone());
    });
    // What reqwest did with the `String` URL the transport handed it before routes were
    // parsed once per client.
    let url = format!("{ENGAGELAB_PREFIX}{}", encode_segment(&id));
    group.bench_function("url_parse", |b| {
        b.iter(|| Url::parse(black_box(&url)).expect("a URL"));
    });
    let base = Url::parse(ENGAGELAB_PREFIX.trim_end_matches('/')).expect("a URL");
    group.bench_function("url_clone_push", |b| {
        b.iter(|| {
            let mut u = black_box(&base).clone();
            u.path_segments_mut()
                .expect("a base")
                .push(black_box(&id).as_str());
            u
        });
    });
    // Reading the documented success answers with the providers' own decoders.
    let engagelab = engagelab();
    let el_answer = RawResponse::new(
        200,
        HeaderMap::new(),
        Bytes::from_static(fixtures::ENGAGELAB_SUCCESS.as_bytes()),
        None,
    );
    group.bench_function("decode_engagelab", |b| {
        b.iter(|| {
            engagelab
                .decode(&fixtures::engagelab_id(), black_box(&el_answer))
                .expect("success")
        });
    });
    let feishu = feishu();
    let fs_answer = RawResponse::new(
        200,
        HeaderMap::new(),
        Bytes::from_static(fixtures::FEISHU_SUCCESS.as_bytes()),
        None,
    );
    group.bench_function("decode_feishu", |b| {
        b.iter(|| {
            feishu
                .decode(&fixtures::feishu_id(), black_box(&fs_answer))
                .expect("success")
        });
    });
    group.bench_function("receipt", |b| {
        b.iter(|| {
            UpdateReceipt::new(provider_engagelab::PROVIDER, black_box(&id).clone())
                .with_request_id(None)
                .with_dropped(Vec::new())
        });
    });
    // The retry wrapper of `Transport::execute_counting` around an attempt that succeeds at
    // once, against the bare attempt (both polled by a current-thread runtime).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    group.bench_function("attempt_bare", |b| {
        b.iter(|| rt.block_on(async { Ok::<u32, TicketError>(black_box(1)) }));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Modest settings: the whole bench runs in about a minute on 2 cores.
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .noise_threshold(0.03);
    targets = prepare, parts
}
criterion_main!(benches);
