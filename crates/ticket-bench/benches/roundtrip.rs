//! Round trips over loopback: library overhead against a raw `reqwest` floor, sandbox
//! throughput, and memory over 100,000 updates. Prints Markdown tables; asserts nothing about
//! time, and stops by itself (fixed request counts).
//!
//! Run everything: `cargo bench -p ticket-bench --bench roundtrip` (about 4 minutes on 2
//! cores). One section: `cargo bench -p ticket-bench --bench roundtrip -- memory` (or
//! `overhead`, `sandbox`). Settings, from the environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `ROUNDTRIP_LAYOUTS` | `single,shared` | runtime layouts of the overhead section (also `split`) |
//! | `ROUNDTRIP_ROUNDS` | 5 | rounds per layout (the sandbox section runs at most 3) |
//! | `ROUNDTRIP_SEQ` | 20000 | requests per variant and round, sequentially |
//! | `ROUNDTRIP_PAR` | 50000 | requests per variant and round, with `ROUNDTRIP_INFLIGHT` in flight |
//! | `ROUNDTRIP_INFLIGHT` | 64 | requests in flight |
//! | `ROUNDTRIP_BLOCKS` | 10 | blocks a round is cut into, alternating between the variants |
//! | `ROUNDTRIP_MEMORY` | 100000 | updates of the memory section, per provider |
//!
//! Without the `--bench` argument that `cargo bench` passes (as under `cargo test --benches`)
//! the defaults shrink to a smoke test (tiny sizes, no waiting for a quiet machine): that is
//! what CI runs.
//!
//! # Sections
//!
//! - `memory` (first, so that the process is fresh): VmRSS / VmHWM after 1k, 10k, 50k and
//!   100k sequential updates through one facade client, per provider.
//! - `overhead`: against one minimal hyper server ([`FixedServer`]: hyper 1 + hyper-util,
//!   HTTP/1.1, the provider's success body for any request), per provider:
//!   (a) `raw reqwest`, the floor (`ticket_bench::floor`): the library's prepared request
//!   (URL, headers and body built once by the provider's own `prepare`), sent the cheapest
//!   way with reqwest on a bare client (`ticket_bench::hand::bare_client`: no default headers
//!   of ours, no timeout, no proxies); it checks the status and reads the body;
//!   (b) `provider`: `TicketUpdater::update` on the concrete provider client;
//!   (c) `facade`: `TicketUpdater::update` on the `Arc<dyn TicketUpdater>` that
//!   `helpdesk::connect` builds from a `Config`;
//!   (d) `hand-written`: reqwest + serde by hand on the bare client, request built and
//!   answer decoded per call (`ticket_bench::hand`);
//!   Every client uses `RetryPolicy::default()`. Sequentially and with 64 in flight; each
//!   round cuts every variant's requests into blocks that alternate between the variants, and
//!   waits first for other processes to go quiet. Layouts: `single` (server and client on one
//!   current-thread runtime: CPU-bound, the strictest), `split` (server on its own thread,
//!   client on a current-thread runtime: the client thread's CPU time is measured alone) and
//!   `shared` (one multi-thread runtime with 2 workers, as in the workspace's tests).
//! - `sandbox`: `ticket-sandbox` serving the facade clients at 64 in flight (and
//!   sequentially), both providers, on one multi-thread runtime with 2 workers; the minimal
//!   server on the same runtime for scale.
//! - `profile:<provider>:<variant>` (never by default): one variant alone, for `perf record`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use helpdesk::Config;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use ticket_bench::fixtures;
use ticket_bench::floor::{self, Floor, HeaderWay};
use ticket_bench::hand::Hand;
use ticket_bench::server::FixedServer;
use ticket_bench::stats::{self, CpuClock, LoadProbe, RunStats};
use ticket_core::{TicketId, TicketUpdate, TicketUpdater};
use ticket_http::{HttpOptions, RetryPolicy};
use ticket_sandbox::Sandbox;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

// ---------------------------------------------------------------------------------------
// Settings

struct Settings {
    sections: Vec<String>,
    rounds: usize,
    seq: usize,
    par: usize,
    inflight: usize,
    layouts: Vec<String>,
    memory_updates: usize,
    blocks: usize,
    /// Run by `cargo test` (no `--bench` argument): tiny sizes, a smoke test of the code.
    smoke: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Settings {
    fn from_env() -> Self {
        // `cargo bench` passes `--bench`; every other word picks a section. Without `--bench`
        // (`cargo test --benches`), the default sizes shrink to a smoke test, like
        // Criterion's test mode.
        let args: Vec<String> = std::env::args().skip(1).collect();
        let smoke = !args.iter().any(|a| a == "--bench");
        let size = |name: &str, full: usize, tiny: usize| {
            env_usize(name, if smoke { tiny } else { full }).max(1)
        };
        let mut sections: Vec<String> = args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .cloned()
            .collect();
        if sections.is_empty() {
            sections = vec!["memory".into(), "overhead".into(), "sandbox".into()];
        }
        let layouts = std::env::var("ROUNDTRIP_LAYOUTS")
            .unwrap_or_else(|_| "single,shared".into())
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        Self {
            sections,
            rounds: size("ROUNDTRIP_ROUNDS", 5, 1),
            seq: size("ROUNDTRIP_SEQ", 20_000, 200),
            par: size("ROUNDTRIP_PAR", 50_000, 1_000),
            inflight: size("ROUNDTRIP_INFLIGHT", 64, 64),
            layouts,
            memory_updates: size("ROUNDTRIP_MEMORY", 100_000, 2_000),
            blocks: size("ROUNDTRIP_BLOCKS", 10, 2),
            smoke,
        }
    }

    fn wants(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s == section)
    }
}

// ---------------------------------------------------------------------------------------
// Clients

fn options() -> HttpOptions {
    HttpOptions::default().retry(RetryPolicy::default())
}

/// What one measured request is.
enum Caller {
    /// (a) the floor: the library's request sent with reqwest, everything built once.
    Raw(Floor),
    /// (b) the EngageLab client, called directly.
    EngageLab(EngageLabClient, TicketId, TicketUpdate),
    /// (b) the Feishu client, called directly.
    Feishu(FeishuClient, TicketId, TicketUpdate),
    /// (c) the facade's `Arc<dyn TicketUpdater>`.
    Facade(Arc<dyn TicketUpdater>, TicketId, TicketUpdate),
    /// (d) reqwest + serde by hand, on the bare client.
    Hand(Hand, TicketId),
}

impl Caller {
    async fn call(&self) -> Result<(), String> {
        match self {
            Caller::Raw(floor) => floor.send().await,
            Caller::EngageLab(client, id, update) => client
                .update(id, update)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Caller::Feishu(client, id, update) => client
                .update(id, update)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Caller::Facade(client, id, update) => client
                .update(id, update)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Caller::Hand(hand, id) => hand.update(id.as_str()).await,
        }
    }
}

fn engagelab_client(base_url: &str) -> EngageLabClient {
    let config = EngageLabConfig::new("sandbox-engagelab-key", "sandbox-engagelab-secret")
        .and_then(|c| c.with_base_url(base_url))
        .expect("a valid EngageLab config")
        .with_http_options(options());
    EngageLabClient::new(config).expect("an EngageLab client")
}

fn feishu_client(base_url: &str) -> FeishuClient {
    let config = FeishuConfig::with_static_token(
        "u-sandbox-feishu-user-token",
        "sandbox-helpdesk-id",
        "sandbox-helpdesk-token",
    )
    .and_then(|c| c.with_base_url(base_url))
    .expect("a valid Feishu config")
    .with_http_options(options());
    FeishuClient::new(config).expect("a Feishu client")
}

fn facade(
    provider: &str,
    base_url: &str,
    creds: &ticket_sandbox::Credentials,
) -> Arc<dyn TicketUpdater> {
    let config = match provider {
        "engagelab" => Config::from_map([
            ("provider", "engagelab"),
            ("engagelab.api_key", creds.engagelab_api_key.as_str()),
            ("engagelab.api_secret", creds.engagelab_api_secret.as_str()),
            ("engagelab.base_url", base_url),
        ]),
        _ => Config::from_map([
            ("provider", "feishu"),
            (
                "feishu.user_access_token",
                creds.feishu_user_access_token.as_str(),
            ),
            ("feishu.helpdesk_id", creds.feishu_helpdesk_id.as_str()),
            (
                "feishu.helpdesk_token",
                creds.feishu_helpdesk_token.as_str(),
            ),
            ("feishu.base_url", base_url),
        ]),
    };
    helpdesk::connect(&config).expect("a facade client")
}

/// The floor for `provider` (`ticket_bench::floor`): the very request the provider client
/// sends, built once and sent with a bare `reqwest` client.
fn raw(provider: &str, base_url: &str) -> Caller {
    Caller::Raw(Floor::new(
        &floor::library_request(provider, base_url),
        HeaderWay::CHEAPEST,
    ))
}

/// The hand-written contestant for `provider`: the credentials' header values from the
/// provider's own `prepare` (computed once, as a hand-written client would).
fn hand_written(provider: &str, base_url: &str) -> Caller {
    let id = match provider {
        "engagelab" => fixtures::engagelab_id(),
        _ => fixtures::feishu_id(),
    };
    let request = floor::library_request(provider, base_url);
    Caller::Hand(Hand::new(provider, base_url, &request), id)
}

/// Labelled callers.
type Variants = Vec<(&'static str, Arc<Caller>)>;

/// The variants for `provider` against `base_url`, labelled.
fn variants(provider: &str, base_url: &str, update: TicketUpdate) -> Variants {
    let creds = ticket_sandbox::Credentials::default();
    let (direct, id) = match provider {
        "engagelab" => {
            let id = fixtures::engagelab_id();
            (
                Caller::EngageLab(engagelab_client(base_url), id.clone(), update.clone()),
                id,
            )
        }
        _ => {
            let id = fixtures::feishu_id();
            (
                Caller::Feishu(feishu_client(base_url), id.clone(), update.clone()),
                id,
            )
        }
    };
    let list = vec![
        ("a raw reqwest", Arc::new(raw(provider, base_url))),
        ("b provider", Arc::new(direct)),
        (
            "c facade",
            Arc::new(Caller::Facade(
                facade(provider, base_url, &creds),
                id.clone(),
                update.clone(),
            )),
        ),
        ("d hand-written", Arc::new(hand_written(provider, base_url))),
    ];
    list
}

fn small_update(provider: &str) -> TicketUpdate {
    match provider {
        "engagelab" => fixtures::engagelab_small(),
        _ => fixtures::feishu_small(),
    }
}

// ---------------------------------------------------------------------------------------
// Runners

/// Latencies (ns) and wall-clock seconds of one run.
type Run = (Vec<u64>, f64);

/// `n` requests one after the other.
async fn run_seq(caller: Arc<Caller>, n: usize) -> Run {
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        caller.call().await.expect("the request succeeds");
        latencies.push(t.elapsed().as_nanos() as u64);
    }
    (latencies, start.elapsed().as_secs_f64())
}

/// `n` requests by `inflight` tasks, each looping until the shared count is reached.
async fn run_par(caller: Arc<Caller>, n: usize, inflight: usize) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..inflight {
        let caller = Arc::clone(&caller);
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(n / inflight + 1);
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                caller.call().await.expect("the request succeeds");
                latencies.push(t.elapsed().as_nanos() as u64);
            }
            latencies
        });
    }
    let mut parts = Vec::with_capacity(inflight);
    while let Some(part) = tasks.join_next().await {
        parts.push(part.expect("a task ends normally"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    (parts.into_iter().flatten().collect(), elapsed)
}

/// Runs `future` as a task of `rt` (on a worker of a multi-thread runtime, not on the thread
/// that blocks on it).
fn on_worker<F>(rt: &Runtime, future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(async move { tokio::spawn(future).await.expect("the task ends normally") })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Seq,
    Par,
}

impl Mode {
    fn label(self, inflight: usize) -> String {
        match self {
            Mode::Seq => "sequential".into(),
            Mode::Par => format!("{inflight} in flight"),
        }
    }
}

/// One run: latencies, wall-clock seconds, and the CPU time `clock` counted.
fn measure(
    rt: &Runtime,
    caller: &Arc<Caller>,
    mode: Mode,
    n: usize,
    inflight: usize,
    clock: CpuClock,
) -> (Vec<u64>, f64, Duration) {
    let caller = Arc::clone(caller);
    let cpu = clock.now();
    let (latencies, secs) = match mode {
        Mode::Seq => on_worker(rt, run_seq(caller, n)),
        Mode::Par => on_worker(rt, run_par(caller, n, inflight)),
    };
    (latencies, secs, clock.now().saturating_sub(cpu))
}

fn measure_stats(
    rt: &Runtime,
    caller: &Arc<Caller>,
    mode: Mode,
    n: usize,
    inflight: usize,
    clock: CpuClock,
) -> RunStats {
    let (mut latencies, secs, cpu) = measure(rt, caller, mode, n, inflight, clock);
    RunStats::from_latencies(&mut latencies, secs).with_cpu(cpu)
}

/// One round: every variant runs `n` requests, in `blocks` blocks that alternate between the
/// variants (the order rotating with the round and the block), so that a change in the
/// machine's background load hits every variant alike.
#[allow(clippy::too_many_arguments)]
fn round(
    rt: &Runtime,
    callers: &[Arc<Caller>],
    mode: Mode,
    n: usize,
    blocks: usize,
    inflight: usize,
    rotation: usize,
    clock: CpuClock,
) -> Vec<RunStats> {
    let mut acc: Vec<(Vec<u64>, f64, Duration)> = callers
        .iter()
        .map(|_| (Vec::with_capacity(n), 0.0, Duration::ZERO))
        .collect();
    let blocks = blocks.clamp(1, n);
    for b in 0..blocks {
        let size = n / blocks + usize::from(b < n % blocks);
        for k in 0..callers.len() {
            let vi = (k + rotation + b) % callers.len();
            let (latencies, secs, cpu) = measure(rt, &callers[vi], mode, size, inflight, clock);
            let slot = &mut acc[vi];
            slot.0.extend(latencies);
            slot.1 += secs;
            slot.2 += cpu;
        }
    }
    acc.into_iter()
        .map(|(mut latencies, secs, cpu)| {
            RunStats::from_latencies(&mut latencies, secs).with_cpu(cpu)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Sections

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Other processes' load (cores) above which a round waits, and for how long at most.
const QUIET_CORES: f64 = 0.25;
const QUIET_WAIT: Duration = Duration::from_secs(30);

fn memory_section(settings: &Settings) {
    println!(
        "## Memory: RSS over {} sequential updates through one client\n",
        settings.memory_updates
    );
    let start = stats::memory();
    let server = FixedServer::start_dedicated().expect("a server");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let base = server.base_url();
    let creds = ticket_sandbox::Credentials::default();
    if let Some(m) = start {
        println!(
            "Process at start: VmRSS {:.1} MiB, VmHWM {:.1} MiB (before the server and clients exist). Server on its own thread, client (the facade's `Arc<dyn TicketUpdater>`) on a current-thread runtime, small updates.\n",
            mib(m.rss_kib),
            mib(m.hwm_kib)
        );
    }
    println!("| provider | updates | VmRSS (MiB) | VmHWM (MiB) | elapsed (s) |");
    println!("|---|---:|---:|---:|---:|");
    let checkpoints = [0, 1_000, 10_000, 50_000, 100_000];
    for provider in ["engagelab", "feishu"] {
        let client = facade(provider, &base, &creds);
        let id = match provider {
            "engagelab" => fixtures::engagelab_id(),
            _ => fixtures::feishu_id(),
        };
        let update = small_update(provider);
        let total = settings.memory_updates;
        let mut marks: Vec<usize> = checkpoints.iter().copied().filter(|&c| c < total).collect();
        marks.push(total);
        rt.block_on(async {
            let start = Instant::now();
            let mut done = 0;
            for &mark in &marks {
                while done < mark {
                    client
                        .update(&id, &update)
                        .await
                        .expect("the update succeeds");
                    done += 1;
                }
                if let Some(m) = stats::memory() {
                    println!(
                        "| {provider} | {done} | {:.1} | {:.1} | {:.1} |",
                        mib(m.rss_kib),
                        mib(m.hwm_kib),
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        });
    }
    println!("\nServer answered {} requests.\n", server.requests());
}

/// Per-round figures of one variant.
#[derive(Default)]
struct Cell {
    per_sec: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    cpu: Vec<f64>,
}

/// A runtime layout: where the server and the client run, and which CPU clock is read.
struct Layout {
    rt: Runtime,
    server: FixedServer,
    clock: CpuClock,
    describe: &'static str,
    cpu_note: &'static str,
}

fn layout(name: &str) -> Option<Layout> {
    let current = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    Some(match name {
        "single" => {
            let rt = current();
            let server = rt
                .block_on(FixedServer::start_on_current_runtime())
                .expect("a server");
            Layout {
                rt,
                server,
                clock: CpuClock::Process,
                describe: "server and client on one current-thread runtime: one core, no cross-thread wake-ups; every cycle the client spends shows in throughput (the strictest comparison)",
                cpu_note: "CPU per request is the process's (client + server, one thread)",
            }
        }
        "split" => {
            let server = FixedServer::start_dedicated().expect("a server");
            Layout {
                rt: current(),
                server,
                clock: CpuClock::Thread,
                describe: "server on its own thread (current-thread runtime), client on a current-thread runtime: one core each, no work stealing",
                cpu_note: "CPU per request is the client thread's alone",
            }
        }
        "shared" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let server = rt
                .block_on(FixedServer::start_on_current_runtime())
                .expect("a server");
            Layout {
                rt,
                server,
                clock: CpuClock::Process,
                describe: "server and client on one multi-thread runtime with 2 workers, as in the workspace's tests",
                cpu_note: "CPU per request is the process's (client + server)",
            }
        }
        _ => return None,
    })
}

fn overhead_section(settings: &Settings) {
    for name in &settings.layouts {
        let Some(Layout {
            rt,
            server,
            clock,
            describe,
            cpu_note,
        }) = layout(name)
        else {
            println!("(unknown layout {name:?} skipped)\n");
            continue;
        };
        println!(
            "## Overhead, layout `{name}`: {describe}\n\n{} rounds; per round, every variant sends {} sequential requests and {} with {} in flight, in {} blocks alternating between the variants (order rotating). Figures are medians of the rounds; {cpu_note}.\n",
            settings.rounds, settings.seq, settings.par, settings.inflight, settings.blocks
        );
        let base = server.base_url();
        let started = Instant::now();
        // Clients are built inside the runtime so their connection pools belong to it.
        let providers: Vec<(&str, Variants)> = rt.block_on(async {
            ["engagelab", "feishu"]
                .into_iter()
                .map(|p| (p, variants(p, &base, small_update(p))))
                .collect()
        });
        // Warm-up: open every connection and fill every cache once.
        for (_, callers) in &providers {
            for (_, caller) in callers {
                measure(&rt, caller, Mode::Seq, 1_000, 1, clock);
                let n = 5_000.max(settings.inflight * 50);
                measure(&rt, caller, Mode::Par, n, settings.inflight, clock);
            }
        }
        let modes = [Mode::Seq, Mode::Par];
        // cells[mode][provider][variant]
        let mut cells: Vec<Vec<Vec<Cell>>> = modes
            .iter()
            .map(|_| {
                providers
                    .iter()
                    .map(|(_, v)| v.iter().map(|_| Cell::default()).collect())
                    .collect()
            })
            .collect();
        let mut loads = Vec::new();
        for r in 0..settings.rounds {
            if !settings.smoke {
                stats::wait_for_quiet(QUIET_CORES, QUIET_WAIT);
            }
            let probe = LoadProbe::now();
            for (mi, &mode) in modes.iter().enumerate() {
                let n = match mode {
                    Mode::Seq => settings.seq,
                    Mode::Par => settings.par,
                };
                for (pi, (_, callers)) in providers.iter().enumerate() {
                    let list: Vec<Arc<Caller>> =
                        callers.iter().map(|(_, c)| Arc::clone(c)).collect();
                    let results = round(
                        &rt,
                        &list,
                        mode,
                        n,
                        settings.blocks,
                        settings.inflight,
                        r,
                        clock,
                    );
                    for (vi, s) in results.into_iter().enumerate() {
                        let cell = &mut cells[mi][pi][vi];
                        cell.per_sec.push(s.per_sec);
                        cell.p50.push(s.p50_us);
                        cell.p99.push(s.p99_us);
                        cell.cpu.push(s.cpu_us);
                    }
                }
            }
            if let Some(load) = probe.and_then(|p| p.foreign_cores_since()) {
                loads.push(load);
            }
        }
        let mut summary = Vec::new();
        for (mi, &mode) in modes.iter().enumerate() {
            println!("### {} (`{name}`)\n", mode.label(settings.inflight));
            println!(
                "| provider | variant | req/s | req/s min–max | p50 (µs) | p99 (µs) | CPU/req (µs) | req/s ÷ raw | CPU/req − raw (µs) |"
            );
            println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
            for (pi, (provider, callers)) in providers.iter().enumerate() {
                let raw = &cells[mi][pi][0];
                let mut ratios_line = Vec::new();
                for (vi, (label, _)) in callers.iter().enumerate() {
                    let cell = &cells[mi][pi][vi];
                    let (lo, hi) = stats::min_max(&cell.per_sec);
                    let per_round = |f: &dyn Fn(f64, f64) -> f64, a: &[f64], b: &[f64]| {
                        stats::median(&a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect::<Vec<_>>())
                    };
                    let ratio = per_round(&|v, r| v / r, &cell.per_sec, &raw.per_sec);
                    let extra_cpu = per_round(&|v, r| v - r, &cell.cpu, &raw.cpu);
                    let (ratio_text, cpu_text) = if vi == 0 {
                        ("1 (floor)".to_owned(), "—".to_owned())
                    } else {
                        ratios_line.push(format!("{}/a = {ratio:.3}", &label[..1]));
                        (format!("{ratio:.3}"), format!("{extra_cpu:+.2}"))
                    };
                    println!(
                        "| {provider} | {label} | {:.0} | {lo:.0}–{hi:.0} | {:.1} | {:.1} | {:.2} | {ratio_text} | {cpu_text} |",
                        stats::median(&cell.per_sec),
                        stats::median(&cell.p50),
                        stats::median(&cell.p99),
                        stats::median(&cell.cpu),
                    );
                }
                summary.push(format!(
                    "- `{name}`, {}, {provider}: throughput {}",
                    mode.label(settings.inflight),
                    ratios_line.join(", ")
                ));
            }
            println!();
        }
        println!("Ratios (median of per-round ratios; target: c/a ≥ 0.97):\n");
        for line in summary {
            println!("{line}");
        }
        let (lo, hi) = stats::min_max(&loads);
        println!(
            "\nOther processes' load during the rounds: median {:.2} cores (min {lo:.2}, max {hi:.2}). Server answered {} requests; layout took {:.1} s.\n",
            stats::median(&loads),
            server.requests(),
            started.elapsed().as_secs_f64()
        );
        drop(providers);
        drop(server);
        drop(rt);
    }
}

fn sandbox_section(settings: &Settings) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let sandbox = rt
        .block_on(
            Sandbox::builder()
                .seed_engagelab_default(fixtures::ENGAGELAB_TICKET)
                .seed_feishu_default(fixtures::FEISHU_TICKET)
                .start(),
        )
        .expect("a sandbox");
    let fixed = rt
        .block_on(FixedServer::start_on_current_runtime())
        .expect("a server");
    let rounds = settings.rounds.min(3);
    println!(
        "## Sandbox throughput\n\n`ticket-sandbox` and the facade clients on one multi-thread runtime with 2 workers (as in the workspace's tests); for scale, the same clients against the minimal fixed-response server on the same runtime. Median of {rounds} rounds of {} requests with {} in flight, and of {} sequential requests. The Feishu update is status + tags (no comment, so the sandbox's ticket does not grow).\n",
        settings.par, settings.inflight, settings.seq
    );
    let creds = sandbox.credentials().clone();
    let targets = [
        ("ticket-sandbox", sandbox.base_url()),
        ("minimal server", fixed.base_url()),
    ];
    let callers: Vec<(&str, &str, Arc<Caller>)> = rt.block_on(async {
        let mut v = Vec::new();
        for (server, base) in &targets {
            for provider in ["engagelab", "feishu"] {
                let (id, update) = match provider {
                    "engagelab" => (fixtures::engagelab_id(), fixtures::engagelab_small()),
                    _ => (fixtures::feishu_id(), fixtures::feishu_small_no_comment()),
                };
                v.push((
                    *server,
                    provider,
                    Arc::new(Caller::Facade(facade(provider, base, &creds), id, update)),
                ));
            }
        }
        v
    });
    for (_, _, caller) in &callers {
        let n = 5_000.max(settings.inflight * 50);
        measure(
            &rt,
            caller,
            Mode::Par,
            n,
            settings.inflight,
            CpuClock::Process,
        );
    }
    let before = sandbox.stats();
    println!(
        "| server | provider | mode | req/s (median) | p50 (µs) | p99 (µs) | process CPU/req (µs) |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for mode in [Mode::Par, Mode::Seq] {
        let n = if mode == Mode::Seq {
            settings.seq
        } else {
            settings.par
        };
        for (server, provider, caller) in &callers {
            let runs: Vec<RunStats> = (0..rounds)
                .map(|_| {
                    if !settings.smoke {
                        stats::wait_for_quiet(QUIET_CORES, QUIET_WAIT);
                    }
                    measure_stats(&rt, caller, mode, n, settings.inflight, CpuClock::Process)
                })
                .collect();
            let pick =
                |f: fn(&RunStats) -> f64| stats::median(&runs.iter().map(f).collect::<Vec<_>>());
            println!(
                "| {server} | {provider} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
                mode.label(settings.inflight),
                pick(|r| r.per_sec),
                pick(|r| r.p50_us),
                pick(|r| r.p99_us),
                pick(|r| r.cpu_us),
            );
        }
    }
    let after = sandbox.stats();
    println!(
        "\nSandbox counted {} EngageLab and {} Feishu requests in the measured runs, over {} connections in all; {} faults applied.\n",
        after.engagelab_requests - before.engagelab_requests,
        after.feishu_requests - before.feishu_requests,
        after.connections,
        after.faults_applied,
    );
    drop(callers);
    rt.block_on(sandbox.shutdown());
    drop(fixed);
}

/// For `perf record`: one variant (`engagelab:raw`, `feishu:facade`, …) alone, sequentially,
/// `ROUNDTRIP_SEQ` × `ROUNDTRIP_ROUNDS` requests in the `single` layout. Not run by default.
fn profile_section(settings: &Settings, target: &str) {
    let (provider, variant) = target.split_once(':').unwrap_or((target, "facade"));
    let Some(layout) = layout("single") else {
        return;
    };
    let base = layout.server.base_url();
    let callers = layout
        .rt
        .block_on(async { variants(provider, &base, small_update(provider)) });
    let Some((label, caller)) = callers.iter().find(|(l, _)| l.contains(variant)) else {
        println!("no variant {variant:?}");
        return;
    };
    let n = settings.seq * settings.rounds;
    let s = measure_stats(&layout.rt, caller, Mode::Seq, n, 1, layout.clock);
    println!(
        "profile {provider} {label}: {n} requests, {:.0} req/s, CPU/req {:.2} µs",
        s.per_sec, s.cpu_us
    );
}

fn main() {
    let settings = Settings::from_env();
    println!("# ticket-bench roundtrip\n");
    if settings.smoke {
        println!(
            "(Smoke run with tiny sizes: no `--bench` argument. Use `cargo bench` for figures.)\n"
        );
    }
    let total = Instant::now();
    if settings.wants("memory") {
        memory_section(&settings);
    }
    if settings.wants("overhead") {
        overhead_section(&settings);
    }
    if settings.wants("sandbox") {
        sandbox_section(&settings);
    }
    if let Some(target) = settings
        .sections
        .iter()
        .find_map(|s| s.strip_prefix("profile:"))
    {
        profile_section(&settings, target);
    }
    println!("Total: {:.1} s.", total.elapsed().as_secs_f64());
}
