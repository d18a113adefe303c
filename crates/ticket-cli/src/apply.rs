//! `helpdesk apply FILE`: check every line, then send them at the server's rate, journaled.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use ticket_facade::{TicketId, TicketUpdate, TicketUpdater};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::journal::{self, Journal, Record};
use crate::line::{line_hash, parse_line};
use crate::send::{self, Outcome};
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

/// Reads the input line by line as raw bytes: `(line number, text or the UTF-8 error)`.
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, Result<&str, String>) -> bool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        let text = std::str::from_utf8(&buf).map_err(|e| format!("not UTF-8: {e}"));
        if !f(n, text) {
            return Ok(());
        }
    }
}

/// What one line is, after the check.
enum Checked {
    Blank,
    Invalid(String),
    Valid,
}

fn check(updater: &dyn TicketUpdater, text: Result<&str, String>) -> Checked {
    let text = match text {
        Ok(t) => t,
        Err(e) => return Checked::Invalid(e),
    };
    if text.trim().is_empty() {
        return Checked::Blank;
    }
    match parse_line(text) {
        Err(e) => Checked::Invalid(e),
        Ok((id, update)) => match updater.check(&id, &update) {
            Ok(_) => Checked::Valid,
            Err(e) => Checked::Invalid(e.to_string()),
        },
    }
}

/// Ctrl-C presses, counted from when the listener is made.
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
            #[cfg(windows)]
            signal: tokio::signal::windows::ctrl_c()?,
        })
    }

    /// Waits for the next press; false if no more can come.
    async fn next(&mut self) -> bool {
        #[cfg(any(unix, windows))]
        return self.signal.recv().await.is_some();
        #[cfg(not(any(unix, windows)))]
        return false;
    }
}

/// Lines the check pass reads before it checks them, on several threads.
const CHECK_CHUNK: usize = 1024;

/// The check pass: every line parsed and checked (`TicketUpdater::check`), on as many threads
/// as there are CPUs (at most 4), the results handed to `f` in line order. The file is read a
/// chunk at a time, so memory stays flat.
fn check_lines(
    path: &Path,
    updater: &dyn TicketUpdater,
    mut f: impl FnMut(u64, &Result<String, String>, Checked),
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(4);
    let check_one = |text: &Result<String, String>| match text {
        Ok(t) => check(updater, Ok(t)),
        Err(e) => check(updater, Err(e.clone())),
    };
    let mut run = |chunk: &mut Vec<(u64, Result<String, String>)>| {
        let results: Vec<Checked> = if threads < 2 || chunk.len() < 256 {
            chunk.iter().map(|(_, t)| check_one(t)).collect()
        } else {
            let per = chunk.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let parts: Vec<_> = chunk
                    .chunks(per)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|(_, t)| check_one(t))
                                .collect::<Vec<Checked>>()
                        })
                    })
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect::<Vec<Checked>>()
            })
        };
        for ((n, text), checked) in chunk.drain(..).zip(results) {
            f(n, &text, checked);
        }
    };
    let mut chunk = Vec::with_capacity(CHECK_CHUNK);
    for_each_line(path, |n, text| {
        chunk.push((n, text.map(str::to_owned)));
        if chunk.len() == CHECK_CHUNK {
            run(&mut chunk);
        }
        true
    })?;
    run(&mut chunk);
    Ok(())
}

/// Counters shared by the workers.
#[derive(Default)]
struct Tally {
    applied: u64,
    failed: u64,
    skipped: u64,
    invalid: u64,
    unknown: Vec<Value>,
    errors: BTreeMap<String, u64>,
    latency: Histogram,
}

/// Latencies in buckets about 1% wide, so memory stays flat however long the file: bucket
/// `i` holds values `v` (µs) with `round(ln(v + 1) * 100) == i`.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        // ln(1e10 µs) * 100 ≈ 2303: up to about 3 hours.
        Self {
            counts: vec![0; 2304],
            total: 0,
        }
    }
}

impl Histogram {
    fn record(&mut self, micros: u64) {
        let idx = ((micros as f64 + 1.0).ln() * 100.0).round() as usize;
        let last = self.counts.len() - 1;
        self.counts[idx.min(last)] += 1;
        self.total += 1;
    }

    /// The `p` quantile in milliseconds (0 when empty), within about 1%.
    fn quantile_ms(&self, p: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((self.total as f64 - 1.0) * p).round() as u64 + 1;
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let micros = (i as f64 / 100.0).exp() - 1.0;
                return (micros / 10.0).round() / 100.0;
            }
        }
        0.0
    }
}

/// Parsed lines go to the workers in batches of this many, so the reader thread sleeps and
/// wakes once a batch rather than once a line.
const BATCH: usize = 64;
/// Batches waiting for the workers: enough that the reader seldom waits, few enough that
/// memory stays flat.
const BATCHES: usize = 4;

/// The updates waiting for a worker: batches from the reader, handed out one at a time. Only
/// the worker that finds the current batch empty waits for the next one, so the reader thread
/// and the workers wake each other once a batch, not once an update. (An MPMC channel crate
/// would hand out whole batches, or wake the reader for every update taken.)
struct Queue {
    rx: tokio::sync::Mutex<mpsc::Receiver<Vec<Job>>>,
    current: Mutex<std::collections::VecDeque<Job>>,
}

impl Queue {
    fn new(rx: mpsc::Receiver<Vec<Job>>) -> Self {
        Self {
            rx: tokio::sync::Mutex::new(rx),
            current: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    fn pop(&self) -> Option<Job> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
    }

    /// The next update, or `None` once the reader is done and every batch handed out.
    async fn next(&self) -> Option<Job> {
        if let Some(job) = self.pop() {
            return Some(job);
        }
        let mut rx = self.rx.lock().await;
        // Another worker may have fetched a batch while this one waited for the lock.
        if let Some(job) = self.pop() {
            return Some(job);
        }
        let mut batch = rx.recv().await?.into_iter();
        let first = batch.next();
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(batch);
        first
    }

    /// No more batches are taken: the reader's next send fails.
    async fn close(&self) {
        self.rx.lock().await.close();
    }
}

struct Job {
    line: u64,
    text: String,
    id: TicketId,
    update: TicketUpdate,
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

fn spool_stdin() -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::NamedTempFile::new()?;
    std::io::copy(&mut std::io::stdin().lock(), tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    Ok(tmp)
}

fn write_failure(failures: Option<&Mutex<File>>, raw: &str) {
    if let Some(f) = failures
        && let Ok(mut f) = f.lock()
    {
        let mut line = raw.to_owned();
        line.push('\n');
        if let Err(e) = f.write_all(line.as_bytes()) {
            eprintln!("helpdesk: cannot write the failures file: {e}");
        }
    }
}

fn journal_write(journal: Option<&Journal>, record: Option<&Record>) {
    if let (Some(j), Some(record)) = (journal, record)
        && let Err(e) = j.write(record)
    {
        eprintln!("helpdesk: cannot write the journal: {e}");
    }
}

async fn work(
    shared: &send::Shared,
    journal: Option<&Journal>,
    failures: Option<&Mutex<File>>,
    tally: &Mutex<Tally>,
    job: Job,
) {
    // Without a journal there is no record to keep.
    let mut record = journal.map(|_| Record {
        line: job.line,
        ticket_id: job.id.as_str().to_owned(),
        hash: line_hash(&job.text),
        outcome: "sending".to_owned(),
        error_kind: None,
        error: None,
        attempts: 0,
        request_id: None,
        comment: job.update.comment().is_some(),
    });
    // Written just before the first request leaves (after any wait for the rate limiter or
    // the gate): if the process dies from then on, the resumed run knows it may have landed.
    let (outcome, attempts, busy) = send::send(shared, &job.id, &job.update, || {
        journal_write(journal, record.as_ref())
    })
    .await;
    let latency = u64::try_from(busy.as_micros()).unwrap_or(u64::MAX);
    let mut t = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    t.latency.record(latency);
    match outcome {
        Outcome::Applied(receipt) => {
            if let Some(r) = &mut record {
                r.outcome = "applied".to_owned();
                r.request_id = receipt.request_id;
            }
            t.applied += 1;
        }
        Outcome::Failed(err) => {
            if let Some(r) = &mut record {
                r.outcome = "failed".to_owned();
                r.error_kind = Some(format!("{:?}", err.kind()));
                r.error = Some(err.to_string());
                r.request_id = err.server().and_then(|s| s.request_id.clone());
            }
            *t.errors.entry(format!("{:?}", err.kind())).or_default() += 1;
            t.failed += 1;
            eprintln!("line {}: ticket {}: {err}", job.line, job.id);
            write_failure(failures, &job.text);
        }
        Outcome::Unknown(err) => {
            if let Some(r) = &mut record {
                r.outcome = "unknown".to_owned();
                r.error_kind = Some(format!("{:?}", err.kind()));
                r.error = Some(err.to_string());
            }
            *t.errors.entry(format!("{:?}", err.kind())).or_default() += 1;
            t.unknown
                .push(json!({"line": job.line, "ticket_id": job.id.as_str(), "held": false}));
            eprintln!(
                "line {}: ticket {}: outcome unknown ({err}); it carries a comment, so it was not re-sent",
                job.line, job.id
            );
        }
    }
    drop(t);
    if let Some(r) = &mut record {
        r.attempts = attempts;
    }
    journal_write(journal, record.as_ref());
}

fn report(
    t: &Tally,
    total: u64,
    interrupted: bool,
    elapsed: Duration,
    rate_limited: u64,
    adopted_rate: Option<u32>,
) -> Value {
    let sent =
        t.applied + t.failed + t.unknown.iter().filter(|u| u["held"] == false).count() as u64;
    let secs = elapsed.as_secs_f64();
    json!({
        "lines": total + t.invalid,
        "invalid": t.invalid,
        "sent": sent,
        "applied": t.applied,
        "failed": t.failed,
        "unknown": t.unknown,
        "skipped_already_applied": t.skipped,
        "errors": t.errors,
        "rate_limited_answers": rate_limited,
        "adopted_rate_per_sec": adopted_rate,
        "interrupted": interrupted,
        "elapsed_ms": elapsed.as_millis() as u64,
        "rate_per_sec": if secs > 0.0 { (sent as f64 / secs * 10.0).round() / 10.0 } else { 0.0 },
        "latency_ms": {"p50": t.latency.quantile_ms(0.5), "p99": t.latency.quantile_ms(0.99)},
    })
}

fn print_summary(r: &Value) {
    let unknown = r["unknown"].as_array().map_or(0, Vec::len);
    println!(
        "{} applied, {} failed, {} unknown, {} skipped (already applied), {} invalid; {} sent in {:.1} s ({}/s), latency p50 {} ms, p99 {} ms; {} rate-limit answers{}{}",
        r["applied"],
        r["failed"],
        unknown,
        r["skipped_already_applied"],
        r["invalid"],
        r["sent"],
        r["elapsed_ms"].as_f64().unwrap_or_default() / 1000.0,
        r["rate_per_sec"],
        r["latency_ms"]["p50"],
        r["latency_ms"]["p99"],
        r["rate_limited_answers"],
        match r["adopted_rate_per_sec"].as_u64() {
            Some(rate) => format!(" (paced at the server's stated limit, {rate}/s)"),
            None => String::new(),
        },
        if r["interrupted"] == true {
            "; interrupted"
        } else {
            ""
        },
    );
    if let Some(errors) = r["errors"].as_object() {
        for (kind, n) in errors {
            println!("  {kind}: {n}");
        }
    }
    if unknown > 0 {
        println!("unknown outcome (not re-sent; check these tickets):");
        for u in r["unknown"].as_array().into_iter().flatten() {
            println!("  line {} ticket {}", u["line"], u["ticket_id"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_a_percent() {
        let mut h = Histogram::default();
        assert!(h.quantile_ms(0.5).abs() < f64::EPSILON);
        for ms in 1..=100u64 {
            h.record(ms * 1000);
        }
        let p50 = h.quantile_ms(0.5);
        let p99 = h.quantile_ms(0.99);
        // The middle value of 1..=100 ms is 50 or 51 ms; the bucket adds at most 1%.
        assert!((49.5..=51.6).contains(&p50), "{p50}");
        assert!((98.0..=101.0).contains(&p99), "{p99}");
        h.record(u64::MAX);
        assert!(h.quantile_ms(1.0) > 1e6);
    }
}
