//! `helpdesk apply FILE`: check every line, then send them at the server's rate, journaled.
//!
//! By role: `input` reads the file (spooling what is not a regular file, fingerprinting each
//! line), `check` is the check pass, `feed` the send pass's reader, `queue` the queue and its
//! workers, `report` the counters and the summary, `signals` SIGINT and SIGTERM; the journal
//! is [`crate::journal`].

mod check;
mod exporter;
mod feed;
mod input;
mod plan;
mod queue;
mod report;
mod signals;

use std::collections::HashMap;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use self::check::{CheckPass, check_pass};
use self::feed::Feed;
use self::input::Input;
use self::queue::{BATCHES, Job, Queue, spawn_workers};
use self::report::{Facts, Tally, print_summary, report, tick};
use self::signals::listen_for_signals;
use crate::journal::{self, Journal, Loaded, Record};
use crate::line::Flags;
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
    /// Retries after a failure that may be retried, instead of the configuration's
    /// `max_retries` (default 3). Rate-limit answers do not use them up (see the README).
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// Seconds between plain progress lines when stderr is not a terminal.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    progress_every: u64,
    /// Change only the fields each line names: read each ticket first (one read per update)
    /// and keep what the provider's update would otherwise need or reset. Not atomic: see the
    /// README.
    #[arg(long)]
    merge: bool,
    /// Read each ticket back after its update and compare every field sent; the journal and
    /// the summary carry each verification, and a drift makes the exit code 1.
    #[arg(long, conflicts_with = "plan")]
    verify: bool,
    /// Read each ticket and show what its line would change (current → new), with a summary;
    /// send no update.
    #[arg(long, conflicts_with_all = ["journal", "failures", "resume"])]
    plan: bool,
    /// At most this many reads a second (`--merge`, `--verify`, `--plan`), beside `--rate`
    /// for updates. Default: the provider's documented read rate (Feishu: 10/s), else none.
    #[arg(long, value_name = "R/s", value_parser = parse_rate)]
    read_rate: Option<NonZeroU32>,
    /// Serve the run's metrics for Prometheus at http://HOST:PORT/metrics while it lasts:
    /// updates and reads by outcome, retries, request durations, rate-limit waits, token
    /// refreshes (see the README).
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<SocketAddr>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

impl ApplyArgs {
    fn flags(&self) -> Flags {
        Flags {
            merge: self.merge,
            verify: self.verify,
        }
    }
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
    // First, so that every request of the run is measured.
    if let Some(addr) = args.metrics_addr {
        if let Err(e) = exporter::serve(addr) {
            eprintln!("helpdesk: {e}");
            return EXIT_USAGE;
        }
        eprintln!("helpdesk: metrics at http://{addr}/metrics");
    }
    // The library retries; the pacer (gate, limiter, journal's write-ahead) is its hook.
    let shared = match send::Shared::connect(global, args.rate, args.max_retries, args.read_rate) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("helpdesk: {e}");
            return EXIT_USAGE;
        }
    };
    let updater = Arc::clone(&shared.updater);
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
    let checked = match check_pass(&input, max, updater.as_ref(), &loaded.last, args.flags()) {
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
    if args.plan {
        return plan::run(&args, updater, &input, max, &checked.invalid_lines).await;
    }

    let sinks = match Sinks::open(&args, &loaded) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let run = Run::start(&args, sinks, checked.total);
    let read_failed = send_pass(&args, &shared, &run, input, max, checked, loaded.last).await;
    finish(&args, &shared, run, read_failed)
}

/// The files a run writes besides its report: the journal and the failed lines.
struct Sinks {
    journal: Option<Arc<Journal>>,
    failures: Option<Arc<Mutex<File>>>,
}

impl Sinks {
    /// Opens both before anything is sent; either failing stops the run with its exit code.
    fn open(args: &ApplyArgs, loaded: &Loaded) -> Result<Self, u8> {
        let journal = match &args.journal {
            Some(p) => match Journal::open(p, loaded.repair.as_ref()) {
                Ok(j) => Some(Arc::new(j)),
                Err(e) => {
                    eprintln!(
                        "helpdesk: cannot write the journal {}: {e}; nothing was sent",
                        p.display()
                    );
                    return Err(EXIT_JOURNAL);
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
                    return Err(EXIT_USAGE);
                }
            },
            None => None,
        };
        Ok(Self { journal, failures })
    }
}

/// The state a send pass shares between its reader, its workers and its progress display.
struct Run {
    sinks: Sinks,
    tally: Arc<Mutex<Tally>>,
    halt: Arc<Halt>,
    done: Arc<AtomicU64>,
    started: Instant,
    total: u64,
    bar: Option<ProgressBar>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Run {
    /// Starts listening for signals and showing progress (a bar on a terminal, else a line
    /// every `--progress-every` seconds).
    fn start(args: &ApplyArgs, sinks: Sinks, total: u64) -> Self {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let halt = Arc::new(Halt {
            signalled: AtomicBool::new(false),
            journal: sinks.journal.clone(),
        });
        let done = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
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
            sinks.journal.clone(),
            Arc::clone(&done),
            Arc::clone(&tally),
            bar.clone(),
            Duration::from_secs(args.progress_every.max(1)),
            total,
            started,
        );
        Self {
            sinks,
            tally,
            halt,
            done,
            started,
            total,
            bar,
            ticker,
        }
    }
}

/// The send pass: the reader parses each line again and hands batches of updates to
/// `--concurrency` workers, each sending one update at a time. Both stop scheduling on a
/// signal or a journal failure: an update not yet started is not started. Returns whether
/// reading the input failed midway.
///
/// Workers that live for the whole run, rather than a task and a semaphore permit per
/// update, halve the process's context switches; on 2 cores shared with the server that was
/// most of its gap to the library's own loop (BENCHMARKS.md has the figures).
async fn send_pass(
    args: &ApplyArgs,
    shared: &Arc<send::Shared>,
    run: &Run,
    input: Input,
    max: usize,
    checked: CheckPass,
    previous: HashMap<u64, Record>,
) -> bool {
    let (tx, rx) = mpsc::channel::<Vec<Job>>(BATCHES);
    let queue = Arc::new(Queue::new(rx));
    let pool = spawn_workers(
        usize::from(args.concurrency),
        &queue,
        shared,
        &run.halt,
        run.sinks.failures.clone(),
        &run.tally,
        &run.done,
    );
    let feed = Feed {
        input,
        max,
        checked: checked.fingerprints,
        invalid_lines: checked.invalid_lines,
        previous,
        resend_unknown: args.resend_unknown,
        halt: Arc::clone(&run.halt),
        tally: Arc::clone(&run.tally),
        failures: run.sinks.failures.clone(),
        flags: args.flags(),
    };
    let read_result = tokio::task::spawn_blocking(move || feed.run(&tx)).await;
    let _ = pool.await;
    match read_result {
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
    }
}

/// Closes the journal and the failures file, prints the report and says the exit code.
fn finish(args: &ApplyArgs, shared: &send::Shared, run: Run, read_failed: bool) -> u8 {
    run.ticker.abort();
    if let Some(bar) = &run.bar {
        bar.finish_and_clear();
    }
    let journal = run.sinks.journal.as_ref();
    let journal_failure = journal.and_then(|j| j.close().map(|f| (j, f)));
    if let Some(f) = &run.sinks.failures {
        let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = f.flush();
        let _ = f.sync_data();
    }
    let interrupted = run.halt.signalled.load(Ordering::SeqCst);
    let tally = std::mem::take(
        &mut *run
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let report = report(
        &tally,
        Facts {
            total: run.total,
            interrupted,
            elapsed: run.started.elapsed(),
            rate_limited: shared.rate_limited(),
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
            verify: args.verify,
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
        || !tally.drifted.is_empty()
        || !tally.unverified.is_empty()
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
