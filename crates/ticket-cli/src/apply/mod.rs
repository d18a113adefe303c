//! `helpdesk apply FILE`: check every line, then send them at the server's rate, journaled.
//!
//! By role: `input` reads the file (spooling what is not a regular file, fingerprinting each
//! line), `check` is the check pass, `feed` the send pass's reader, `queue` the queue and its
//! workers, `report` the counters and the summary, `signals` SIGINT and SIGTERM; the journal
//! is [`crate::journal`].

mod check;
mod feed;
mod input;
mod queue;
mod report;
mod signals;

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use ticket_facade::TicketUpdater;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use self::check::{Checked, LineCheck, check_lines};
use self::feed::Feed;
use self::input::{Fingerprints, Input, Replay};
use self::queue::{BATCHES, Job, Queue, work};
use self::report::{Facts, Tally, print_summary, report};
use self::signals::Interrupts;
use crate::journal::{self, Journal, Loaded, Record};
use crate::line::hash_hex;
use crate::send;
use crate::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_JOURNAL, EXIT_USAGE, Global, Output};
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
    /// Append one JSON line per event to this file (needed for --resume). If it cannot be
    /// written, no further update is started and the command exits 74.
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
    /// A line longer than this (in bytes, without its end of line) is refused by the check,
    /// without being read into memory whole.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_line_bytes: u64,
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

/// Whether the run may still start updates: not after a signal, nor once the journal failed.
pub(super) struct Halt {
    signalled: AtomicBool,
    journal: Option<Arc<Journal>>,
}

impl Halt {
    pub(super) fn halted(&self) -> bool {
        self.signalled.load(Ordering::SeqCst) || self.journal.as_ref().is_some_and(|j| j.failed())
    }
}

pub(crate) async fn run(global: &Global, args: ApplyArgs) -> u8 {
    let updater = match crate::connect(global) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("helpdesk: {e}");
            return EXIT_USAGE;
        }
    };
    // Open once: both passes read this same file (or its spooled copy).
    let input = match Input::open(&args.file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("helpdesk: cannot read {}: {e}", args.file);
            return EXIT_USAGE;
        }
    };
    let loaded = match previous_journal(&args) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let max = usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX);

    // Check first: every line, before anything is sent.
    let checked = match check_pass(&input, max, updater.as_ref(), &loaded.last) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("helpdesk: cannot read {}: {e}", args.file);
            return EXIT_USAGE;
        }
    };
    if checked.invalid > 0 && !args.skip_invalid {
        eprintln!(
            "helpdesk: {} invalid line(s); nothing was sent",
            checked.invalid
        );
        if args.output == Output::Json {
            crate::print_json(&json!({"invalid": checked.invalid, "sent": 0}));
        }
        return EXIT_USAGE;
    }

    let journal = match &args.journal {
        Some(p) => match Journal::open(p, loaded.repair.as_ref()) {
            Ok(j) => Some(Arc::new(j)),
            Err(e) => {
                eprintln!(
                    "helpdesk: cannot write the journal {}: {e}; nothing was sent",
                    p.display()
                );
                return EXIT_JOURNAL;
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
    let halt = Arc::new(Halt {
        signalled: AtomicBool::new(false),
        journal: journal.clone(),
    });
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let total = checked.total;

    listen_for_signals(&halt);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} ETA {eta} {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let ticker = tick(
        journal.clone(),
        Arc::clone(&done),
        Arc::clone(&tally),
        bar.clone(),
        Duration::from_secs(args.progress_every.max(1)),
        total,
        started,
    );

    // The reader parses each line again and hands batches of updates to `--concurrency`
    // workers, each sending one update at a time. Both stop scheduling on a signal or a
    // journal failure: an update not yet started is not started. (Workers that live for the
    // whole run, rather than a task and a semaphore permit per update, halve the process's
    // context switches; on 2 cores shared with the server that was most of its gap to the
    // library's own loop. BENCHMARKS.md section 9 has the figures.)
    let (tx, rx) = mpsc::channel::<Vec<Job>>(BATCHES);
    let queue = Arc::new(Queue::new(rx));
    let pool = spawn_workers(
        usize::from(args.concurrency),
        &queue,
        &shared,
        &halt,
        failures.clone(),
        &tally,
        &done,
    );
    let feed = Feed {
        input,
        max,
        checked: checked.fingerprints,
        invalid_lines: checked.invalid_lines,
        previous: loaded.last,
        resend_unknown: args.resend_unknown,
        halt: Arc::clone(&halt),
        tally: Arc::clone(&tally),
        failures: failures.clone(),
    };
    let read_result = tokio::task::spawn_blocking(move || feed.run(&tx)).await;
    let _ = pool.await;
    ticker.abort();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let journal_failure = journal.as_ref().and_then(|j| j.close().map(|f| (j, f)));
    if let Some(f) = &failures {
        let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = f.flush();
        let _ = f.sync_data();
    }
    let read_failed = match read_result {
        Ok(Ok(())) => false,
        Ok(Err(e)) => {
            eprintln!(
                "helpdesk: reading {} failed midway: {e}; the lines after were not sent",
                args.file
            );
            true
        }
        Err(e) => {
            eprintln!("helpdesk: the reader stopped: {e}");
            true
        }
    };

    let interrupted = halt.signalled.load(Ordering::SeqCst);
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
    let report = report(
        &tally,
        Facts {
            total,
            interrupted,
            elapsed: started.elapsed(),
            rate_limited: shared.rate_limited.load(Ordering::Relaxed),
            adopted_rate: shared.adopted_rate(),
            journal_error: journal_failure.as_ref().map(|(j, f)| {
                json!({
                    "file": j.path().display().to_string(),
                    "error": f.error,
                    "unrecorded": f.unrecorded.iter().map(|r| json!({
                        "line": r.line, "ticket_id": r.ticket_id, "outcome": r.outcome,
                    })).collect::<Vec<Value>>(),
                })
            }),
        },
    );
    match args.output {
        Output::Json => crate::print_json(&report),
        Output::Text => print_summary(&report),
    }
    if let Some((j, f)) = &journal_failure {
        explain_journal_failure(j.path(), &f.unrecorded);
        EXIT_JOURNAL
    } else if interrupted {
        EXIT_INTERRUPTED
    } else if tally.failed > 0
        || !tally.unknown.is_empty()
        || tally.invalid > 0
        || !tally.changed.is_empty()
        || read_failed
    {
        EXIT_FAILED
    } else {
        0
    }
}

/// The one message a stopped run ends with: what happened and what to do.
fn explain_journal_failure(path: &std::path::Path, unrecorded: &[Record]) {
    if !unrecorded.is_empty() {
        let lines: Vec<String> = unrecorded
            .iter()
            .map(|r| format!("line {} ({})", r.line, r.outcome))
            .collect();
        eprintln!(
            "helpdesk: these outcomes are not in the journal, so --resume will treat those updates as of unknown outcome (and hold those with a comment): {}",
            lines.join(", ")
        );
    }
    eprintln!(
        "helpdesk: stopped because the journal {} could not be written; no update was started after that. Free space on its filesystem (or fix the error above), then run the same command with --resume.",
        path.display()
    );
}

/// With `--resume`, the journal so far; without, checks that there is none.
fn previous_journal(args: &ApplyArgs) -> Result<Loaded, u8> {
    let Some(path) = &args.journal else {
        return Ok(Loaded::default());
    };
    if !args.resume {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            eprintln!(
                "helpdesk: journal {} already exists: pass --resume to continue that run, or remove it",
                path.display()
            );
            return Err(EXIT_USAGE);
        }
        return Ok(Loaded::default());
    }
    let loaded = journal::load(path).map_err(|e| {
        eprintln!("helpdesk: {e}");
        EXIT_USAGE
    })?;
    let mut nameless = false;
    for torn in &loaded.torn {
        let at = format!("helpdesk: journal {} line {}", path.display(), torn.at);
        match &torn.record {
            Some(r) if r.outcome == "sending" => eprintln!(
                "{at}: a torn record (its run stopped while writing it) of input line {}: that update may have been sent; taken as of unknown outcome",
                r.line
            ),
            Some(r) => eprintln!(
                "{at}: a torn record (its run stopped while writing it) of input line {}, read as `{}`",
                r.line, r.outcome
            ),
            None => {
                nameless = true;
                eprintln!(
                    "{at}: a torn record that was cut before its input line number: an update it does not name may have been sent"
                );
            }
        }
    }
    if nameless && !args.resend_unknown {
        let highest = loaded.last.keys().max().copied().unwrap_or(0);
        eprintln!(
            "helpdesk: nothing was sent: check the tickets of the lines after line {highest} (the last the journal names), then pass --resend-unknown to resume anyway"
        );
        return Err(EXIT_USAGE);
    }
    Ok(loaded)
}

/// What the check pass found.
struct CheckPass {
    /// Valid lines.
    total: u64,
    invalid: u64,
    /// Only the invalid lines are remembered, so memory does not grow with the file.
    invalid_lines: BTreeSet<u64>,
    /// Every line's fingerprint, for the send pass.
    fingerprints: Replay,
}

fn check_pass(
    input: &Input,
    max: usize,
    updater: &dyn TicketUpdater,
    previous: &HashMap<u64, Record>,
) -> std::io::Result<CheckPass> {
    let mut total = 0u64;
    let mut invalid_lines = BTreeSet::new();
    let mut fingerprints = Fingerprints::new()?;
    let mut kept = Ok(());
    check_lines(input, max, updater, |line| {
        let LineCheck {
            n,
            checked,
            fingerprint,
            hash,
        } = line;
        if kept.is_ok() {
            kept = fingerprints.push(fingerprint);
        }
        match checked {
            Checked::Blank => {}
            Checked::Invalid(reason) => {
                invalid_lines.insert(n);
                eprintln!("line {n}: {reason}");
            }
            Checked::Valid => {
                // A record made from a torn one may have lost the hash: nothing to compare.
                if let (Some(prev), Some(hash)) = (previous.get(&n), hash)
                    && !prev.hash.is_empty()
                    && prev.hash != hash_hex(hash)
                {
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
    })?;
    kept?;
    Ok(CheckPass {
        total,
        invalid: invalid_lines.len() as u64,
        invalid_lines,
        fingerprints: fingerprints.replay()?,
    })
}

/// SIGINT or SIGTERM: the first stops scheduling, the second aborts. One listener, registered
/// before anything is sent, sees both: a second signal that lands just after the first is not
/// lost.
fn listen_for_signals(halt: &Arc<Halt>) {
    match Interrupts::new() {
        Ok(mut interrupts) => {
            let halt = Arc::clone(halt);
            tokio::spawn(async move {
                if let Some(name) = interrupts.next().await {
                    halt.signalled.store(true, Ordering::SeqCst);
                    eprintln!(
                        "helpdesk: interrupted; finishing the updates in flight ({name}; Ctrl-C or SIGTERM again to abort)"
                    );
                    if interrupts.next().await.is_some() {
                        if let Some(j) = &halt.journal {
                            j.sync();
                        }
                        eprintln!("helpdesk: aborted");
                        std::process::exit(i32::from(EXIT_INTERRUPTED));
                    }
                }
            });
        }
        Err(e) => eprintln!("helpdesk: cannot listen for signals ({e}); they will kill the run"),
    }
}

/// Progress, and a journal sync every second (a failed one stops the run).
fn tick(
    journal: Option<Arc<Journal>>,
    done: Arc<AtomicU64>,
    tally: Arc<Mutex<Tally>>,
    bar: Option<ProgressBar>,
    every: Duration,
    total: u64,
    started: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_line = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(j) = &journal {
                j.sync();
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
}

/// `concurrency` workers, each sending one update at a time until the queue is empty or the
/// run stops; when they are all done the queue closes, so the reader stops too.
fn spawn_workers(
    concurrency: usize,
    queue: &Arc<Queue>,
    shared: &Arc<send::Shared>,
    halt: &Arc<Halt>,
    failures: Option<Arc<Mutex<File>>>,
    tally: &Arc<Mutex<Tally>>,
    done: &Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let queue = Arc::clone(queue);
        let shared = Arc::clone(shared);
        let halt = Arc::clone(halt);
        let failures = failures.clone();
        let tally = Arc::clone(tally);
        let done = Arc::clone(done);
        workers.spawn(async move {
            while let Some(job) = queue.next().await {
                if halt.halted() {
                    break;
                }
                let journal = halt.journal.as_deref();
                if !work(&shared, &halt, journal, failures.as_deref(), &tally, job).await {
                    break;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let queue = Arc::clone(queue);
    tokio::spawn(async move {
        while workers.join_next().await.is_some() {}
        // Stopped: the reader's next send fails, and it stops too.
        queue.close().await;
    })
}
