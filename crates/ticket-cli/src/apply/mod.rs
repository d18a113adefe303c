//! `helpdesk apply FILE`: check every line, then send them at the server's rate, journaled.

mod check;
mod input;
mod queue;
mod report;
mod signals;

use std::io::{IsTerminal, Write};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use self::check::{Checked, check_lines};
use self::input::{for_each_line, spool_stdin};
use self::queue::{BATCH, BATCHES, Job, Queue, work, write_failure};
use self::report::{Tally, print_summary, report};
use self::signals::Interrupts;
use crate::journal::{self, Journal};
use crate::line::{line_hash, parse_line};
use crate::send;
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Global, Output};

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The JSON Lines file, one update a line (`-` for stdin). Blank lines are ignored.
    file: String,
    /// Updates in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// At most this many requests a second, shared by all workers (`R/s` or `R`). Without it,
    /// the first rate-limit answer that states the server's limit (Feishu's
    /// `x-ogw-ratelimit-limit`) sets this rate for the rest of the run; EngageLab states none,
    /// so there every refusal's wait is shared by all workers, and nothing more.
    #[arg(long, value_name = "R/s", value_parser = parse_rate)]
    rate: Option<NonZeroU32>,
    /// Append one JSON line per event to this file (needed for --resume).
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Skip the lines the journal records as applied; list, rather than re-send, those whose
    /// outcome is unknown and that carry a comment.
    #[arg(long, requires = "journal")]
    resume: bool,
    /// With --resume: send the updates of unknown outcome anyway (a comment may be posted
    /// twice).
    #[arg(long, requires = "resume")]
    resend_unknown: bool,
    /// Write each failed (or invalid, with --skip-invalid) line here, verbatim.
    #[arg(long, value_name = "FILE")]
    failures: Option<PathBuf>,
    /// Send the valid lines even when some are invalid (the invalid ones count as failed).
    #[arg(long)]
    skip_invalid: bool,
    /// Retries after a failure that may be retried (rate limits are always waited out).
    #[arg(long, default_value_t = 3, value_name = "N")]
    max_retries: u32,
    /// Seconds between plain progress lines when stderr is not a terminal.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    progress_every: u64,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

fn parse_rate(text: &str) -> Result<NonZeroU32, String> {
    let number = text.trim().strip_suffix("/s").unwrap_or(text.trim());
    number
        .parse::<NonZeroU32>()
        .map_err(|_| format!("{text:?} must be R/s with R a positive integer, such as 200/s"))
}

pub(crate) async fn run(global: &Global, args: ApplyArgs) -> u8 {
    let updater = match crate::connect(global) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("helpdesk: {e}");
            return EXIT_USAGE;
        }
    };

    // Stdin is spooled to a temporary file: the check pass and the send pass both read it.
    let _spool;
    let path: PathBuf = if args.file == "-" {
        match spool_stdin() {
            Ok(tmp) => {
                let p = tmp.path().to_owned();
                _spool = tmp;
                p
            }
            Err(e) => {
                eprintln!("helpdesk: cannot read stdin: {e}");
                return EXIT_USAGE;
            }
        }
    } else {
        PathBuf::from(&args.file)
    };

    let previous = match (&args.journal, args.resume) {
        (Some(j), true) => match journal::load(j) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("helpdesk: {e}");
                return EXIT_USAGE;
            }
        },
        (Some(j), false) => {
            if std::fs::metadata(j).is_ok_and(|m| m.len() > 0) {
                eprintln!(
                    "helpdesk: journal {} already exists: pass --resume to continue that run, or remove it",
                    j.display()
                );
                return EXIT_USAGE;
            }
            Default::default()
        }
        _ => Default::default(),
    };

    // Check first: every line, before anything is sent.
    let mut total = 0u64;
    let mut invalid = 0u64;
    // Only the invalid lines are remembered, so memory does not grow with the file.
    let mut invalid_lines = std::collections::BTreeSet::new();
    let res = check_lines(&path, updater.as_ref(), |n, text, checked| {
        // Only a resumed run compares hashes: computed for the lines the journal knows.
        let hash = match (text, previous.contains_key(&n)) {
            (Ok(t), true) => Some(line_hash(t)),
            _ => None,
        };
        match checked {
            Checked::Blank => {}
            Checked::Invalid(reason) => {
                invalid += 1;
                invalid_lines.insert(n);
                eprintln!("line {n}: {reason}");
            }
            Checked::Valid => {
                if let (Some(prev), Some(hash)) = (previous.get(&n), hash)
                    && prev.hash != hash
                {
                    invalid += 1;
                    invalid_lines.insert(n);
                    eprintln!(
                        "line {n}: changed since the journal recorded it (ticket {}); resume needs the same file",
                        prev.ticket_id
                    );
                    return;
                }
                total += 1;
            }
        }
    });
    if let Err(e) = res {
        eprintln!("helpdesk: cannot read {}: {e}", args.file);
        return EXIT_USAGE;
    }
    if invalid > 0 && !args.skip_invalid {
        eprintln!("helpdesk: {invalid} invalid line(s); nothing was sent");
        if args.output == Output::Json {
            crate::print_json(&json!({"invalid": invalid, "sent": 0}));
        }
        return EXIT_USAGE;
    }

    let journal = match &args.journal {
        Some(p) => match Journal::open(p) {
            Ok(j) => Some(Arc::new(j)),
            Err(e) => {
                eprintln!("helpdesk: cannot open journal {}: {e}", p.display());
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    let failures = match &args.failures {
        Some(p) => match std::fs::OpenOptions::new()
            .create(true)
            .append(args.resume)
            .write(true)
            .truncate(!args.resume)
            .open(p)
        {
            Ok(f) => Some(Arc::new(Mutex::new(f))),
            Err(e) => {
                eprintln!("helpdesk: cannot open {}: {e}", p.display());
                return EXIT_USAGE;
            }
        },
        None => None,
    };

    let shared = Arc::new(send::Shared::new(
        updater.clone(),
        args.rate,
        args.max_retries,
    ));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // Ctrl-C: the first stops scheduling, the second aborts. One listener, registered before
    // anything is sent, sees both: a second press that lands just after the first is not lost.
    match Interrupts::new() {
        Ok(mut interrupts) => {
            let stop = Arc::clone(&stop);
            let journal = journal.clone();
            tokio::spawn(async move {
                if interrupts.next().await {
                    stop.store(true, Ordering::SeqCst);
                    eprintln!(
                        "helpdesk: interrupted; finishing the updates in flight (Ctrl-C again to abort)"
                    );
                    if interrupts.next().await {
                        if let Some(j) = &journal {
                            let _ = j.sync();
                        }
                        eprintln!("helpdesk: aborted");
                        std::process::exit(i32::from(EXIT_INTERRUPTED));
                    }
                }
            });
        }
        Err(e) => eprintln!("helpdesk: cannot listen for Ctrl-C ({e}); it will kill the run"),
    }

    // Progress, and a regular journal sync.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} ETA {eta} {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let ticker = {
        let journal = journal.clone();
        let done = Arc::clone(&done);
        let tally = Arc::clone(&tally);
        let bar = bar.clone();
        let every = Duration::from_secs(args.progress_every.max(1));
        tokio::spawn(async move {
            let mut last_line = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some(j) = &journal {
                    let _ = j.sync();
                }
                let d = done.load(Ordering::Relaxed);
                let failed = tally.lock().map(|t| t.failed).unwrap_or_default();
                match &bar {
                    Some(bar) => {
                        bar.set_position(d);
                        bar.set_message(format!("failures: {failed}"));
                    }
                    None if last_line.elapsed() >= every => {
                        last_line = Instant::now();
                        let secs = started.elapsed().as_secs_f64().max(1e-9);
                        eprintln!(
                            "progress: {d}/{total} done, {failed} failed, {:.1}/s",
                            d as f64 / secs
                        );
                    }
                    None => {}
                }
            }
        })
    };

    // The reader parses each line again and hands batches of updates to `--concurrency`
    // workers, each sending one update at a time. Both stop scheduling on Ctrl-C: an update
    // not yet started is not started. (Workers that live for the whole run, rather than a
    // task and a semaphore permit per update, halve the process's context switches; on 2
    // cores shared with the server that was most of its gap to the library's own loop.
    // BENCHMARKS.md section 9 has the figures.)
    let (tx, rx) = mpsc::channel::<Vec<Job>>(BATCHES);
    let queue = Arc::new(Queue::new(rx));
    let pool = {
        let mut workers = JoinSet::new();
        for _ in 0..args.concurrency {
            let queue = Arc::clone(&queue);
            let stop = Arc::clone(&stop);
            let shared = Arc::clone(&shared);
            let journal = journal.clone();
            let failures = failures.clone();
            let tally = Arc::clone(&tally);
            let done = Arc::clone(&done);
            workers.spawn(async move {
                while let Some(job) = queue.next().await {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    work(
                        &shared,
                        journal.as_deref(),
                        failures.as_deref(),
                        &tally,
                        job,
                    )
                    .await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let queue = Arc::clone(&queue);
        tokio::spawn(async move {
            while workers.join_next().await.is_some() {}
            // Stopped: the reader's next send fails, and it stops too.
            queue.close().await;
        })
    };

    let reader = {
        let stop = Arc::clone(&stop);
        let tally = Arc::clone(&tally);
        let failures = failures.clone();
        let resend_unknown = args.resend_unknown;
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let result = for_each_line(&path, |n, text| {
                if stop.load(Ordering::SeqCst) {
                    return false;
                }
                let raw = text.as_ref().map(|t| (*t).to_owned()).unwrap_or_default();
                if invalid_lines.contains(&n) {
                    // Only reached with --skip-invalid.
                    if let Ok(mut t) = tally.lock() {
                        t.invalid += 1;
                    }
                    write_failure(failures.as_deref(), &raw);
                    return true;
                }
                if raw.trim().is_empty() {
                    return true;
                }
                // Planned in the first pass. If the file changed since, a line that no longer
                // parses is refused here, and one the provider cannot carry is refused by the
                // library before any request (it plans every update again).
                let (id, update) = match parse_line(&raw) {
                    Ok(pair) => pair,
                    Err(reason) => {
                        eprintln!("line {n}: changed since the check: {reason}");
                        if let Ok(mut t) = tally.lock() {
                            t.invalid += 1;
                        }
                        write_failure(failures.as_deref(), &raw);
                        return true;
                    }
                };
                if let Some(prev) = previous.get(&n) {
                    match prev.outcome.as_str() {
                        "applied" => {
                            if let Ok(mut t) = tally.lock() {
                                t.skipped += 1;
                            }
                            return true;
                        }
                        "sending" | "unknown" if update.comment().is_some() && !resend_unknown => {
                            eprintln!(
                                "line {n}: ticket {id}: outcome unknown and it carries a comment; not re-sent (check the ticket, then use --resend-unknown or edit the file)"
                            );
                            if let Ok(mut t) = tally.lock() {
                                t.unknown.push(
                                    json!({"line": n, "ticket_id": id.as_str(), "held": true}),
                                );
                            }
                            return true;
                        }
                        _ => {}
                    }
                }
                batch.push(Job {
                    line: n,
                    text: raw,
                    id,
                    update,
                });
                if batch.len() < BATCH {
                    return true;
                }
                tx.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .is_ok()
            });
            if !batch.is_empty() && !stop.load(Ordering::SeqCst) {
                let _ = tx.blocking_send(batch);
            }
            result
        })
    };
    let read_result = reader.await;
    let _ = pool.await;
    ticker.abort();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(j) = &journal
        && let Err(e) = j.sync()
    {
        eprintln!("helpdesk: cannot sync the journal: {e}");
    }
    if let Some(f) = &failures
        && let Ok(mut f) = f.lock()
    {
        let _ = f.flush();
        let _ = f.sync_data();
    }
    if let Ok(Err(e)) = read_result {
        eprintln!("helpdesk: reading {} failed midway: {e}", args.file);
    }

    let interrupted = stop.load(Ordering::SeqCst);
    let elapsed = started.elapsed();
    let tally = match Arc::try_unwrap(tally) {
        Ok(m) => m
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        Err(arc) => std::mem::take(
            &mut *arc
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ),
    };
    let rate_limited = shared.rate_limited.load(Ordering::Relaxed);
    let report = report(
        &tally,
        total,
        interrupted,
        elapsed,
        rate_limited,
        shared.adopted_rate(),
    );
    match args.output {
        Output::Json => crate::print_json(&report),
        Output::Text => print_summary(&report),
    }
    if interrupted {
        EXIT_INTERRUPTED
    } else if tally.failed > 0 || !tally.unknown.is_empty() || tally.invalid > 0 {
        EXIT_FAILED
    } else {
        0
    }
}
