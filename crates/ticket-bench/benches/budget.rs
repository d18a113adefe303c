//! The rate budget across processes (issue 20): the aggregate throughput of replicas that share
//! one Redis budget of R against a sandbox limited to R, beside the same replicas each with a
//! local budget of R. Prints a Markdown table; asserts nothing about time.
//!
//! ```sh
//! cargo bench -p ticket-bench --bench budget            # 3 rounds of 2,000 updates at 50/s (~5 min)
//! BUDGET_ROUNDS=1 cargo bench -p ticket-bench --bench budget
//! ```
//!
//! Each round runs every kind once, one after the other: `BUDGET_REPLICAS` processes (this
//! binary run again with `BUDGET_CHILD` set; each the facade configured from `TICKET_*`
//! variables as a service's replica would be, Feishu with a static token, `rate_limit = R`)
//! send `BUDGET_UPDATES` updates in all, a share each, from `BUDGET_TASKS` tasks each. Before
//! each run the sandbox is reset (its bucket full again, counters at zero) and Redis flushed.
//! The sandbox (in this process) limits Feishu updates to R: a token bucket of R a second
//! holding one second's worth, full at start; a refusal is HTTP 429 with
//! `x-ogw-ratelimit-limit: R` and `x-ogw-ratelimit-reset`. `redis-server` must be installed.
//!
//! Columns: **span**, from the first update's start to the last one's end over all replicas
//! (the time issue 20 bounds by 1.05 × N/R); **× N/R** that span over N/R; **÷ R** the
//! aggregate throughput as a fraction of R, (N / span) / R (goal ≥ 0.97 with Redis, 0
//! refusals); **wall**, from the first spawn to the last exit (process start included); the
//! server's **429** answers; updates applied and failed (the replicas' own counts).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BUDGET_UPDATES` | 2000 | N, updates in all per run |
//! | `BUDGET_RATE` | 50 | R, the sandbox's limit and each replica's `rate_limit`, a second |
//! | `BUDGET_REPLICAS` | 4 | processes |
//! | `BUDGET_TASKS` | 4 | tasks updating in each process |
//! | `BUDGET_ROUNDS` | 3 | rounds |
//! | `BUDGET_KINDS` | `redis,local` | the budgets, in the order run |
//!
//! Without the `--bench` argument that `cargo bench` passes (as under `cargo test --benches`,
//! which CI runs) the defaults shrink to a smoke test: 200 updates at 200/s, one round.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use helpdesk::Config;
use ticket_bench::stats::{median, min_max};
use ticket_core::{TicketId, TicketStatus, TicketUpdate};
use ticket_sandbox::{Provider, RedisServer, Sandbox};

/// Tickets the updates cycle over.
const TICKETS: u64 = 20;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number"))
    })
}

fn micros_now() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    u64::try_from(since.as_micros()).expect("in range")
}

fn main() {
    if std::env::var_os("BUDGET_CHILD").is_some() {
        child();
        return;
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = env_or("BUDGET_UPDATES", if smoke { 200 } else { 2000 });
    let rate = env_or("BUDGET_RATE", if smoke { 200 } else { 50 });
    let replicas = env_or("BUDGET_REPLICAS", 4);
    let tasks = env_or("BUDGET_TASKS", 4);
    let rounds = env_or("BUDGET_ROUNDS", if smoke { 1 } else { 3 });
    let kinds = std::env::var("BUDGET_KINDS").unwrap_or_else(|_| "redis,local".to_owned());
    let kinds: Vec<&str> = kinds.split(',').map(str::trim).collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut builder = Sandbox::builder().rate_limit(
        Provider::Feishu,
        u32::try_from(rate).expect("a rate in range"),
    );
    for t in 0..TICKETS {
        builder = builder.seed_feishu_default(format!("t{t}"));
    }
    let sb = rt.block_on(builder.start()).expect("a sandbox");
    let redis = RedisServer::start(None, None)
        .unwrap_or_else(|why| panic!("redis-server must be installed: {why}"));

    let ideal = n as f64 / rate as f64;
    println!("# ticket-bench budget\n");
    if smoke {
        println!(
            "(Smoke run with tiny sizes: no `--bench` argument. Use `cargo bench` for figures.)\n"
        );
    }
    println!(
        "{replicas} replicas × {tasks} tasks, {n} updates in all, sandbox and each replica's `rate_limit` at R = {rate}/s (N/R = {ideal:.2} s)\n"
    );
    println!(
        "| round | budget | span (s) | × N/R | ÷ R | wall (s) | 429 answers | applied | failed | fallbacks |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut fractions: Vec<(String, f64, u64)> = Vec::new();
    for round in 1..=rounds {
        for kind in &kinds {
            sb.reset();
            redis.cli(&["FLUSHALL"]).expect("redis-cli FLUSHALL");
            let run = run(&sb, &redis, kind, n, rate, replicas, tasks);
            let fraction = ideal / run.span;
            println!(
                "| {round} | {kind} | {:.2} | {:.3} | {fraction:.3} | {:.2} | {} | {} | {} | {} |",
                run.span,
                run.span / ideal,
                run.wall,
                run.refused,
                run.ok,
                run.failed,
                run.fallbacks
            );
            fractions.push(((*kind).to_owned(), fraction, run.refused));
        }
    }
    println!();
    for kind in &kinds {
        let of: Vec<f64> = fractions
            .iter()
            .filter(|(k, _, _)| k == kind)
            .map(|(_, f, _)| *f)
            .collect();
        let refused: Vec<f64> = fractions
            .iter()
            .filter(|(k, _, _)| k == kind)
            .map(|(_, _, r)| *r as f64)
            .collect();
        let (lo, hi) = min_max(&of);
        let (rlo, rhi) = min_max(&refused);
        println!(
            "{kind}: throughput ÷ R median **{:.3}** ({lo:.3}–{hi:.3}), 429 answers median {} ({rlo}–{rhi}) over {} rounds",
            median(&of),
            median(&refused),
            of.len()
        );
    }
}

/// What one run of every replica did.
struct Run {
    span: f64,
    wall: f64,
    refused: u64,
    ok: u64,
    failed: u64,
    fallbacks: u64,
}

fn run(
    sb: &Sandbox,
    redis: &RedisServer,
    kind: &str,
    n: u64,
    rate: u64,
    replicas: u64,
    tasks: u64,
) -> Run {
    let mut vars = sb.env_vars(Provider::Feishu);
    vars.push(("TICKET_FEISHU_RATE_LIMIT".to_owned(), format!("{rate}/s")));
    vars.push(("TICKET_FEISHU_RATE_BUDGET".to_owned(), kind.to_owned()));
    if kind == "redis" {
        vars.push(("TICKET_FEISHU_REDIS_URL".to_owned(), redis.url().to_owned()));
    }
    let exe = std::env::current_exe().expect("this binary");
    let started = Instant::now();
    let children: Vec<_> = (0..replicas)
        .map(|i| {
            // The first replicas take the remainder: N in all.
            let share = n / replicas + u64::from(i < n % replicas);
            Command::new(&exe)
                .env("BUDGET_CHILD", "1")
                .env("BUDGET_SHARE", share.to_string())
                .env("BUDGET_TASKS", tasks.to_string())
                .envs(vars.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::piped())
                .spawn()
                .expect("a replica")
        })
        .collect();
    let (mut first, mut last) = (u64::MAX, 0);
    let (mut ok, mut failed, mut fallbacks) = (0, 0, 0);
    for mut child in children {
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Some(words) = line.strip_prefix("REPLICA ") else {
                continue;
            };
            for (key, value) in words.split_whitespace().filter_map(|w| w.split_once('=')) {
                let value: u64 = value.parse().expect("a number");
                match key {
                    "first" => first = first.min(value),
                    "last" => last = last.max(value),
                    "ok" => ok += value,
                    "failed" => failed += value,
                    "fallbacks" => fallbacks += value,
                    _ => {}
                }
            }
        }
        assert!(
            child.wait().expect("a replica").success(),
            "a replica failed"
        );
    }
    let wall = started.elapsed().as_secs_f64();
    Run {
        span: Duration::from_micros(last.saturating_sub(first)).as_secs_f64(),
        wall,
        refused: sb.stats().rate_limited,
        ok,
        failed,
        fallbacks,
    }
}

/// A replica: `BUDGET_SHARE` updates from `BUDGET_TASKS` tasks through the facade configured
/// from the environment; prints `REPLICA first=… last=… ok=… failed=… fallbacks=…` (times in
/// µs since the Unix epoch, comparable between processes).
fn child() {
    let share = env_or("BUDGET_SHARE", 0);
    let tasks = env_or("BUDGET_TASKS", 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let connected = helpdesk::connect_budgeted(&Config::from_env()).expect("a client");
        let update = TicketUpdate::builder()
            .status(TicketStatus::InProgress)
            .build()
            .expect("an update");
        let claimed = Arc::new(AtomicU64::new(0));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let first = micros_now();
        let workers: Vec<_> = (0..tasks)
            .map(|_| {
                let (updater, update) = (Arc::clone(&connected.updater), update.clone());
                let (claimed, ok, failed) =
                    (Arc::clone(&claimed), Arc::clone(&ok), Arc::clone(&failed));
                tokio::spawn(async move {
                    loop {
                        let i = claimed.fetch_add(1, Ordering::Relaxed);
                        if i >= share {
                            return;
                        }
                        let id = TicketId::new(format!("t{}", i % TICKETS)).expect("an id");
                        match updater.update(&id, &update).await {
                            Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(e) => {
                                eprintln!("replica: {e}");
                                failed.fetch_add(1, Ordering::Relaxed)
                            }
                        };
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.expect("a worker");
        }
        let last = micros_now();
        let fallbacks = connected.budget.map_or(0, |b| b.status().fallbacks);
        println!(
            "REPLICA first={first} last={last} ok={} failed={} fallbacks={fallbacks}",
            ok.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
    });
}
