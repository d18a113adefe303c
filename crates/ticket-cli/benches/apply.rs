//! `helpdesk apply` against the sandbox: at a server's rate limit (with `--rate`, without, and a
//! naive library loop), throughput against an unlimited sandbox beside the library's own loop,
//! and peak RSS as the file grows.
//!
//! ```sh
//! cargo bench -p helpdesk-ticket-cli --bench apply -- --updates 10000 --rate 200 --rss-lines 10000,1000000
//! ```
//!
//! `--repeats K` runs the unlimited comparison K times (the median ratio and its range are
//! printed); `--unlimited-updates N` gives it its own size. A round during which the host
//! stole more than `--max-steal P` percent of the CPU time (default 5; read from /proc/stat) is
//! printed, left out of the medians and run again, up to 3K rounds in all.
//!
//! Every figure of one run comes from that run; it prints Markdown rows for BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ticket_facade::{Config, TicketId, TicketStatus, TicketUpdate};
use ticket_sandbox::{Provider, Sandbox, SandboxBuilder};

const CONCURRENCY: usize = 8;
/// Distinct tickets the lines cycle through (so a million lines need no million tickets).
const TICKETS: usize = 1000;

struct Opts {
    updates: usize,
    rate: u32,
    rss_lines: Vec<usize>,
    /// Rounds of the unlimited comparison (the library loop and `helpdesk` alternate).
    repeats: usize,
    /// Updates of the unlimited comparison (default: `updates`).
    unlimited: Option<usize>,
    /// A round during which the host stole more than this share of the CPU time (percent) is
    /// printed but left out of the medians and run again, up to 3 × `repeats` rounds in all.
    max_steal: f64,
}

fn opts() -> Opts {
    let mut o = Opts {
        updates: 1000,
        rate: 200,
        rss_lines: vec![2000, 20_000],
        repeats: 1,
        unlimited: None,
        max_steal: 5.0,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let next = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--updates" => o.updates = next.parse().expect("--updates N"),
            "--rate" => o.rate = next.parse().expect("--rate R"),
            "--repeats" => o.repeats = next.parse().expect("--repeats K"),
            "--max-steal" => o.max_steal = next.parse().expect("--max-steal PERCENT"),
            "--unlimited-updates" => {
                o.unlimited = Some(next.parse().expect("--unlimited-updates N"))
            }
            "--rss-lines" => {
                o.rss_lines = next
                    .split(',')
                    .map(|n| n.parse().expect("--rss-lines A,B"))
                    .collect();
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

fn builder() -> SandboxBuilder {
    (0..TICKETS)
        .fold(Sandbox::builder(), |b, i| {
            b.seed_feishu_default(format!("t{i}"))
        })
        .request_log_capacity(0)
}

fn write_lines(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(
            f,
            r#"{{"ticket_id":"t{}","status":"in_progress","tags":["bulk"]}}"#,
            i % TICKETS
        )
        .unwrap();
    }
    f.flush().unwrap();
}

fn envs(sb: &Sandbox) -> Vec<(&'static str, String)> {
    let c = sb.credentials();
    vec![
        ("TICKET_PROVIDER", "feishu".to_owned()),
        ("TICKET_FEISHU_BASE_URL", sb.base_url()),
        ("TICKET_FEISHU_HELPDESK_ID", c.feishu_helpdesk_id.clone()),
        (
            "TICKET_FEISHU_HELPDESK_TOKEN",
            c.feishu_helpdesk_token.clone(),
        ),
        (
            "TICKET_FEISHU_USER_ACCESS_TOKEN",
            c.feishu_user_access_token.clone(),
        ),
    ]
}

/// CPU time the host took from this virtual machine ("steal", `/proc/stat`), in seconds summed
/// over all CPUs; `None` off Linux. Counted in USER_HZ ticks, 100 a second in the kernel ABI.
fn steal_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: u64 = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .nth(7)?
        .parse()
        .ok()?;
    Some(ticks as f64 / 100.0)
}

/// Peak resident set of a running process, from /proc (Linux), in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct CliRun {
    secs: f64,
    report: serde_json::Value,
    peak_rss_kib: u64,
}

fn run_cli(sb: &Sandbox, file: &Path, extra: &[&str]) -> CliRun {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .env_clear()
        .envs(envs(sb))
        .arg("apply")
        .arg(file)
        .args([
            "--concurrency",
            &CONCURRENCY.to_string(),
            "--output",
            "json",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = start.elapsed().as_secs_f64();
    let out = child.wait_with_output().unwrap();
    let report = serde_json::from_slice(&out.stdout).expect("a JSON report");
    CliRun {
        secs,
        report,
        peak_rss_kib: peak,
    }
}

/// The library's own loop: `CONCURRENCY` tasks, default retries (which honour the server's
/// wait each on its own). Returns (seconds, failures).
async fn library_loop(sb: &Sandbox, n: usize) -> (f64, u64) {
    let config = Config::from_map(envs(sb).into_iter().map(|(k, v)| {
        let key = k
            .strip_prefix("TICKET_FEISHU_")
            .map(|k| format!("feishu.{}", k.to_ascii_lowercase()))
            .unwrap_or_else(|| "provider".to_owned());
        (key, v)
    }));
    library_loop_with(config, n).await
}

async fn library_loop_with(mut config: Config, n: usize) -> (f64, u64) {
    config.set("feishu", "retry_budget_ms", "60000");
    let updater = ticket_facade::connect(&config).unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let updater = Arc::clone(&updater);
        let next = Arc::clone(&next);
        let failures = Arc::clone(&failures);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let id = TicketId::new(format!("t{}", i % TICKETS)).unwrap();
                let update = TicketUpdate::builder()
                    .status(TicketStatus::InProgress)
                    .tags(["bulk"])
                    .build()
                    .unwrap();
                if updater.update(&id, &update).await.is_err() {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (
        start.elapsed().as_secs_f64(),
        failures.load(Ordering::Relaxed),
    )
}

/// `--child-library-loop BASE_URL N`: the library loop in its own process (this benchmark
/// re-runs itself), so that it pays for a process of its own as `helpdesk` does.
fn child_library_loop() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some(pos) = args.iter().position(|a| a == "--child-library-loop") else {
        return false;
    };
    let base = args[pos + 1].clone();
    let n: usize = args[pos + 2].parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = ticket_sandbox::Credentials::default();
    let config = Config::from_map([
        ("provider", "feishu".to_owned()),
        ("feishu.base_url", base),
        ("feishu.helpdesk_id", c.feishu_helpdesk_id.clone()),
        ("feishu.helpdesk_token", c.feishu_helpdesk_token.clone()),
        (
            "feishu.user_access_token",
            c.feishu_user_access_token.clone(),
        ),
    ]);
    let (secs, failed) = rt.block_on(library_loop_with(config, n));
    println!("{secs} {failed}");
    true
}

fn main() {
    if child_library_loop() {
        return;
    }
    let o = opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("updates.jsonl");
    write_lines(&file, o.updates);
    let n = o.updates as f64;
    let ideal = n / f64::from(o.rate);

    println!(
        "## helpdesk apply: {} updates, concurrency {CONCURRENCY}, sandbox limited to {}/s (N/R = {ideal:.2} s)\n",
        o.updates, o.rate
    );
    println!("| run | seconds | × N/R | 429 answers | applied | failed |");
    println!("|---|---|---|---|---|---|");
    let limited = || {
        rt.block_on(builder().rate_limit(Provider::Feishu, o.rate).start())
            .unwrap()
    };
    let rate_arg = format!("{}/s", o.rate);
    for (name, extra) in [
        (
            format!("`helpdesk apply --rate {}`", o.rate),
            vec!["--rate", rate_arg.as_str()],
        ),
        ("`helpdesk apply` (no `--rate`)".to_owned(), vec![]),
    ] {
        let sb = limited();
        let r = run_cli(&sb, &file, &extra);
        println!(
            "| {name} | {:.2} | {:.3} | {} | {} | {} |",
            r.secs,
            r.secs / ideal,
            sb.stats().rate_limited,
            r.report["applied"],
            r.report["failed"]
        );
        drop(sb);
    }
    {
        let sb = limited();
        let (secs, failed) = rt.block_on(library_loop(&sb, o.updates));
        println!(
            "| naive loop (library, {CONCURRENCY} tasks, its own retries) | {secs:.2} | {:.3} | {} | {} | {failed} |",
            secs / ideal,
            sb.stats().rate_limited,
            o.updates as u64 - failed,
        );
    }

    let un = o.unlimited.unwrap_or(o.updates);
    let un_file = if un == o.updates {
        file.clone()
    } else {
        let p = dir.path().join("unlimited.jsonl");
        write_lines(&p, un);
        p
    };
    let n = un as f64;
    println!(
        "\n## Unlimited sandbox: {un} updates, concurrency {CONCURRENCY}, {} round(s)\n",
        o.repeats
    );
    println!(
        "| round | library loop (s) | `helpdesk apply`, whole process (s) | its send pass (s) | library loop in its own process, whole / loop (s) | `helpdesk` / library loop | both whole processes | host steal |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) as f64;
    let sb = rt.block_on(builder().start()).unwrap();
    // Per round: (helpdesk ÷ in-process loop, ÷ loop in its own process, kept).
    let mut rounds: Vec<(f64, f64, bool)> = Vec::new();
    let kept = |rounds: &[(f64, f64, bool)]| rounds.iter().filter(|r| r.2).count();
    while kept(&rounds) < o.repeats && rounds.len() < 3 * o.repeats {
        let round = rounds.len() + 1;
        let (round_start, steal_start) = (Instant::now(), steal_secs());
        let (lib_secs, lib_failed) = rt.block_on(library_loop(&sb, un));
        assert_eq!(lib_failed, 0);
        let cli = run_cli(&sb, &un_file, &[]);
        assert_eq!(cli.report["applied"], un);
        // The same loop in a process of its own, started and timed like `helpdesk`.
        let start = Instant::now();
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--child-library-loop", &sb.base_url(), &un.to_string()])
            .output()
            .unwrap();
        let proc_secs = start.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let loop_secs: f64 = parts.next().unwrap().parse().unwrap();
        assert_eq!(
            parts.next(),
            Some("0"),
            "the library loop failed some updates"
        );
        let send_secs = cli.report["elapsed_ms"].as_f64().unwrap() / 1000.0;
        // The share of the machine's CPU time the host took during the round. A round that
        // lost much of it measures the host: two processes talking over loopback (helpdesk
        // and the sandbox) stall on it far more than the in-process loop does.
        let steal = match (steal_start, steal_secs()) {
            (Some(a), Some(b)) => {
                Some(100.0 * (b - a) / (round_start.elapsed().as_secs_f64() * cpus))
            }
            _ => None,
        };
        let keep = steal.is_none_or(|p| p <= o.max_steal);
        rounds.push((lib_secs / cli.secs, proc_secs / cli.secs, keep));
        let steal = match steal {
            Some(p) if keep => format!("{p:.1} %"),
            Some(p) => format!("{p:.1} % (left out)"),
            None => "n/a".to_owned(),
        };
        println!(
            "| {round} | {lib_secs:.2} ({:.0}/s) | {:.2} ({:.0}/s) | {send_secs:.2} | {proc_secs:.2} / {loop_secs:.2} | {:.2} | {:.2} | {steal} |",
            n / lib_secs,
            cli.secs,
            n / cli.secs,
            lib_secs / cli.secs,
            proc_secs / cli.secs,
        );
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (total, kept) = (rounds.len(), kept(&rounds));
    let which = if kept == 0 {
        // Every round lost more than `max_steal`: say so, and give the medians of them all.
        rounds.iter_mut().for_each(|r| r.2 = true);
        format!("all {total} rounds, none under {}% host steal", o.max_steal)
    } else {
        format!(
            "{kept} round(s) under {}% host steal, of {total}",
            o.max_steal
        )
    };
    let used = rounds.iter().filter(|r| r.2);
    let (m, lo, hi) = median(used.clone().map(|r| r.0).collect());
    let (pm, plo, phi) = median(used.map(|r| r.1).collect());
    println!(
        "\n`helpdesk apply` / library loop throughput ({which}): median {m:.2} (range {lo:.2}–{hi:.2}); both whole processes: median {pm:.2} (range {plo:.2}–{phi:.2})"
    );

    println!("\n## Peak RSS of `helpdesk apply` (unlimited sandbox)\n");
    println!("| lines | seconds | peak RSS (MiB) |");
    println!("|---|---|---|");
    for lines in &o.rss_lines {
        let path = dir.path().join(format!("rss-{lines}.jsonl"));
        write_lines(&path, *lines);
        let r = run_cli(&sb, &path, &[]);
        assert_eq!(r.report["applied"], *lines);
        println!(
            "| {lines} | {:.1} | {:.1} |",
            r.secs,
            r.peak_rss_kib as f64 / 1024.0
        );
        std::fs::remove_file(&path).unwrap();
    }
}
