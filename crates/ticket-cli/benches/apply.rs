//! `helpdesk apply` against the sandbox: at a server's rate limit (with `--rate`, without, and a
//! naive library loop), and peak RSS as the file grows.
//!
//! ```sh
//! cargo bench -p helpdesk-ticket-cli --bench apply -- --updates 10000 --rate 200 --rss-lines 10000,1000000
//! ```
//!
//! Throughput against the library's own loop is `crates/ticket-bench/scripts/apply.sh`: both
//! as processes of their own against one sandbox process (a loop sharing this process's
//! runtime with the sandbox would be a contestant slowed by its server).
//!
//! Every figure of one run comes from that run; it prints Markdown rows for BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ticket_bench::apply_loop::{self, CONCURRENCY, TICKETS};
use ticket_sandbox::{Provider, Sandbox, SandboxBuilder};

struct Opts {
    updates: usize,
    rate: u32,
    rss_lines: Vec<usize>,
}

fn opts() -> Opts {
    let mut o = Opts {
        updates: 1000,
        rate: 200,
        rss_lines: vec![2000, 20_000],
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let next = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--updates" => o.updates = next.parse().expect("--updates N"),
            "--rate" => o.rate = next.parse().expect("--rate R"),
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
        writeln!(f, "{}", apply_loop::line(i)).unwrap();
    }
    f.flush().unwrap();
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
        .envs(sb.env_vars(Provider::Feishu))
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

/// The library's own loop (`ticket_bench::apply_loop`, the one `scripts/apply.sh` runs as a
/// process), with a retry budget that outlasts the sandbox's rate-limit waits. Returns
/// (seconds, failures).
async fn library_loop(sb: &Sandbox, n: usize) -> (f64, u64) {
    let mut config = apply_loop::sandbox_config(&sb.base_url());
    config.set("feishu", "retry_budget_ms", "60000");
    let (took, failed) = apply_loop::run(&config, n).await;
    (took.as_secs_f64(), failed)
}

fn main() {
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

    let sb = rt.block_on(builder().start()).unwrap();
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
