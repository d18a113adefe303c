//! The send pass's queue and its workers: batches of parsed updates from the reader, each
//! sent by one of `--concurrency` workers, journaled.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

use helpdesk::{TicketId, TicketUpdate};
use serde_json::json;
use tokio::sync::mpsc;

use super::Halt;
use super::report::Tally;
use crate::journal::{Journal, Record};
use crate::line::hash_hex;
use crate::reads;
use crate::send::{self, Outcome};

/// Parsed lines go to the workers in batches of this many, so the reader thread sleeps and
/// wakes once a batch rather than once a line.
pub(super) const BATCH: usize = 64;
/// ... or fewer, once their lines hold this many bytes: long lines (up to `--max-line-bytes`
/// each) must not multiply into large batches.
pub(super) const BATCH_BYTES: usize = 1 << 20;
/// Batches waiting for the workers: enough that the reader seldom waits, few enough that
/// memory stays flat.
pub(super) const BATCHES: usize = 4;

/// The updates waiting for a worker: batches from the reader, handed out one at a time. Only
/// the worker that finds the current batch empty waits for the next one, so the reader thread
/// and the workers wake each other once a batch, not once an update. (An MPMC channel crate
/// would hand out whole batches, or wake the reader for every update taken.)
pub(super) struct Queue {
    rx: tokio::sync::Mutex<mpsc::Receiver<Vec<Job>>>,
    current: Mutex<std::collections::VecDeque<Job>>,
}

impl Queue {
    pub(super) fn new(rx: mpsc::Receiver<Vec<Job>>) -> Self {
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
    pub(super) async fn next(&self) -> Option<Job> {
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
    pub(super) async fn close(&self) {
        self.rx.lock().await.close();
    }
}

/// One update for a worker.
pub(super) struct Job {
    /// Its line number.
    pub(super) line: u64,
    /// The line, for the failures file.
    pub(super) text: String,
    /// [`crate::line::line_hash`] of the line, for the journal.
    pub(super) hash: u64,
    pub(super) id: TicketId,
    /// Boxed, as [`crate::line::parse_line`] returns it: a job moves through a batch and a
    /// queue.
    pub(super) update: Box<TicketUpdate>,
}

/// Appends a line to the failures file, verbatim.
pub(super) fn write_failure(failures: Option<&Mutex<File>>, raw: &[u8]) {
    if let Some(f) = failures {
        let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = f.write_all(raw).and_then(|()| f.write_all(b"\n")) {
            eprintln!("helpdesk: cannot write the failures file: {e}");
        }
    }
}

/// Sends one update, journaled: false if it was not started (the run is stopping, or the
/// journal could not record that it was about to be sent).
pub(super) async fn work(
    shared: &send::Shared,
    halt: &Arc<Halt>,
    journal: Option<&Journal>,
    failures: Option<&Mutex<File>>,
    tally: &Mutex<Tally>,
    job: Job,
) -> bool {
    // Without a journal there is no record to keep.
    let mut record = journal.map(|_| Record {
        line: job.line,
        ticket_id: job.id.as_str().to_owned(),
        hash: hash_hex(job.hash),
        outcome: "sending".to_owned(),
        error_kind: None,
        error: None,
        attempts: 0,
        request_id: None,
        comment: job.update.comment().is_some(),
        torn: false,
        verification: None,
    });
    // Written just before the first request leaves (after any wait for the rate limiter or
    // the gate): if the process dies from then on, the resumed run knows it may have landed.
    // Write-ahead: if it cannot be written, the update is not sent; nor once the run stops.
    let before_sending = {
        let halt = Arc::clone(halt);
        let sending = record.clone();
        move || {
            !halt.halted()
                && match (halt.journal.as_deref(), &sending) {
                    (Some(j), Some(r)) => j.begin(r),
                    _ => true,
                }
        }
    };
    // With `--merge` or `--verify`, the reads go around it (`reads::send`).
    let (outcome, attempts, busy) = reads::send(shared, &job.id, &job.update, before_sending).await;
    let latency = u64::try_from(busy.as_micros()).unwrap_or(u64::MAX);
    let mut t = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !settle(&mut t, record.as_mut(), &job, outcome, failures) {
        return false;
    }
    t.latency.record(latency);
    drop(t);
    if let (Some(j), Some(r)) = (journal, &mut record) {
        r.attempts = attempts;
        j.finish(r);
    }
    true
}

/// Counts one update's outcome in the tally and its journal record, and reports a failure:
/// false if it was not sent at all.
fn settle(
    t: &mut Tally,
    record: Option<&mut Record>,
    job: &Job,
    outcome: Outcome,
    failures: Option<&Mutex<File>>,
) -> bool {
    match outcome {
        Outcome::NotSent => return false,
        Outcome::Applied(receipt) => {
            if let Some(v) = &receipt.verification {
                t.verification(job.line, &job.id, v);
            }
            if let Some(r) = record {
                r.outcome = "applied".to_owned();
                r.verification = receipt
                    .verification
                    .as_deref()
                    .and_then(|v| serde_json::to_value(v).ok());
                r.request_id = receipt.request_id;
            }
            t.applied += 1;
        }
        Outcome::Failed(err) => {
            if let Some(r) = record {
                r.outcome = "failed".to_owned();
                r.error_kind = Some(format!("{:?}", err.kind()));
                r.error = Some(err.to_string());
                r.request_id = err.server().and_then(|s| s.request_id.clone());
            }
            *t.errors.entry(format!("{:?}", err.kind())).or_default() += 1;
            t.failed += 1;
            eprintln!("line {}: ticket {}: {err}", job.line, job.id);
            write_failure(failures, job.text.as_bytes());
        }
        Outcome::Unknown(err) => {
            if let Some(r) = record {
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
    true
}

/// `concurrency` workers, each sending one update at a time until the queue is empty or the
/// run stops; when they are all done the queue closes, so the reader stops too.
pub(super) fn spawn_workers(
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
