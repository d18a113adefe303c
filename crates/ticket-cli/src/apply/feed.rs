//! The send pass's reader: every line read again and compared with what the check pass read,
//! parsed, skipped or held as the journal says, and handed to the workers in batches.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::mpsc;

use super::Halt;
use super::input::{Input, Line, Replay};
use super::queue::{BATCH, BATCH_BYTES, Job, write_failure};
use super::report::Tally;
use crate::journal::Record;
use crate::line::{Flags, parse_line_with};

/// What the send pass's reader needs.
pub(super) struct Feed {
    pub(super) input: Input,
    /// `--max-line-bytes`.
    pub(super) max: usize,
    /// The check pass's fingerprints.
    pub(super) checked: Replay,
    /// Lines the check refused (only sent on with `--skip-invalid`).
    pub(super) invalid_lines: BTreeSet<u64>,
    /// The resumed journal's last record of each line.
    pub(super) previous: HashMap<u64, Record>,
    pub(super) resend_unknown: bool,
    pub(super) halt: Arc<Halt>,
    pub(super) tally: Arc<Mutex<Tally>>,
    pub(super) failures: Option<Arc<Mutex<File>>>,
    /// `--merge`, `--verify`.
    pub(super) flags: Flags,
}

impl Feed {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads every line (until the run stops) and hands the ones to send to `tx`.
    pub(super) fn run(mut self, tx: &mpsc::Sender<Vec<Job>>) -> std::io::Result<()> {
        let mut lines = self.input.lines(self.max)?;
        let mut batch = Vec::with_capacity(BATCH);
        let mut bytes = 0;
        let mut last = 0;
        loop {
            if self.halt.halted() {
                return Ok(());
            }
            let Some((n, line)) = lines.next_line()? else {
                break;
            };
            last = n;
            let fingerprint = line.fingerprint();
            let checked = self.checked.next_fingerprint()?;
            // Only what was checked is sent: a line edited (or added) since is not.
            if checked != Some(fingerprint) {
                if checked.is_none() && fingerprint == 0 {
                    continue;
                }
                eprintln!("line {n}: changed since the check; not sent");
                self.tally().changed.push(n);
                match line {
                    Line::Text { raw, .. } => write_failure(self.failures.as_deref(), raw),
                    Line::TooLong => self.copy_too_long(&mut lines),
                }
                continue;
            }
            let (raw, text, hash) = match line {
                Line::TooLong => {
                    // Refused by the check: only reached with --skip-invalid.
                    self.tally().invalid += 1;
                    self.copy_too_long(&mut lines);
                    continue;
                }
                Line::Text { raw, text, hash } => (raw, text, hash),
            };
            let Some(job) = self.admit(n, raw, text, fingerprint, hash) else {
                continue;
            };
            bytes += job.text.len();
            batch.push(job);
            if batch.len() < BATCH && bytes < BATCH_BYTES {
                continue;
            }
            bytes = 0;
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(full).is_err() {
                // The workers stopped.
                return Ok(());
            }
        }
        // Lines checked that are no longer there.
        while let Some(fingerprint) = self.checked.next_fingerprint()? {
            last += 1;
            if fingerprint != 0 {
                eprintln!("line {last}: no longer in the file (it was when checked); not sent");
                self.tally().changed.push(last);
            }
        }
        if !batch.is_empty() && !self.halt.halted() {
            let _ = tx.blocking_send(batch);
        }
        Ok(())
    }

    /// The job for a checked line of text, or `None` when it is not to be sent: refused by
    /// the check (with `--skip-invalid`), blank, changed since, already applied, or of unknown
    /// outcome with a comment (held unless `--resend-unknown`). Counts each line it skips.
    fn admit(
        &self,
        n: u64,
        raw: &[u8],
        text: Result<&str, String>,
        fingerprint: u64,
        hash: u64,
    ) -> Option<Job> {
        if self.invalid_lines.contains(&n) {
            // Only reached with --skip-invalid.
            self.tally().invalid += 1;
            write_failure(self.failures.as_deref(), raw);
            return None;
        }
        // Checked, so UTF-8 and not blank unless blank when checked too.
        let text = text.ok()?;
        if fingerprint == 0 {
            return None;
        }
        let (id, update) = match parse_line_with(text, self.flags) {
            Ok(pair) => pair,
            Err(reason) => {
                // The same bytes parsed in the check pass: a 2⁻⁶⁴ hash collision.
                eprintln!("line {n}: changed since the check: {reason}");
                self.tally().changed.push(n);
                write_failure(self.failures.as_deref(), raw);
                return None;
            }
        };
        if let Some(prev) = self.previous.get(&n) {
            match prev.outcome.as_str() {
                "applied" => {
                    self.tally().skipped += 1;
                    return None;
                }
                "sending" | "unknown" if update.comment().is_some() && !self.resend_unknown => {
                    eprintln!(
                        "line {n}: ticket {id}: outcome unknown and it carries a comment; not re-sent (check the ticket, then use --resend-unknown or edit the file)"
                    );
                    self.tally()
                        .unknown
                        .push(json!({"line": n, "ticket_id": id.as_str(), "held": true}));
                    return None;
                }
                _ => {}
            }
        }
        Some(Job {
            line: n,
            text: text.to_owned(),
            hash,
            id,
            update,
        })
    }

    fn copy_too_long(&self, lines: &mut super::input::Lines<'_>) {
        let Some(f) = &self.failures else { return };
        let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = lines.copy_too_long(&mut *f) {
            eprintln!("helpdesk: cannot write the failures file: {e}");
        }
    }
}
