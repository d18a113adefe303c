//! The journal: one JSON line per event, appended with one `write` each (so a killed process
//! loses nothing it wrote), synced every second.
//!
//! Before an update is sent a `sending` record is written; after it, its outcome. A line whose
//! last record is `sending` was in flight when the run died: its outcome is unknown.
//!
//! It fails closed. Once a write or a sync has failed, no `sending` record is written again,
//! so no update starts that the journal could not record (outcomes of the updates in flight
//! are still tried). A write that failed part-way is cut back to the last whole record, so
//! nothing is ever appended to half a record. A journal torn by a run that died mid-write (or
//! by an older `helpdesk` that kept appending after a failed write) is read piece by piece;
//! what a torn piece says is taken as conservatively as its text allows, and the torn end is
//! rewritten as whole records before anything is appended.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Record {
    /// 1-based line number in the input.
    pub(crate) line: u64,
    /// Empty only in a record made from a torn one that was cut before it.
    #[serde(default)]
    pub(crate) ticket_id: String,
    /// [`crate::line::hash_hex`] of the line's [`crate::line::line_hash`]; empty only in a
    /// record made from a torn one that was cut before it.
    #[serde(default)]
    pub(crate) hash: String,
    /// `sending`, `applied`, `failed` or `unknown`.
    pub(crate) outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<String>,
    /// Whether the update carries a comment (not idempotent).
    #[serde(default)]
    pub(crate) comment: bool,
    /// Made from a torn record: what could be read of it, its outcome `sending` unless the
    /// torn text still named a final one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) torn: bool,
    /// With `--verify`: what reading the ticket back found (the library's `Verification` in
    /// its JSON form: `verified`, `drifted` with what was sent and found, `not_verifiable`,
    /// `concurrent`, `read_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) verification: Option<Value>,
}

/// An open journal.
pub(crate) struct Journal {
    path: PathBuf,
    /// Set with the first failed write or sync: no update may start any more.
    failed: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    /// Bytes of whole records: where a failed write is cut back to.
    len: u64,
    /// The first failure.
    error: Option<String>,
    /// Cutting back a failed write failed too: the file may end in part of a record, so
    /// nothing more is appended (a resumed run repairs it).
    torn: bool,
    /// Outcomes that could not be written.
    unrecorded: Vec<Record>,
}

/// How a journal failed, at the end of the run.
pub(crate) struct Failure {
    /// The first error.
    pub(crate) error: String,
    /// The outcomes it could not take.
    pub(crate) unrecorded: Vec<Record>,
}

impl Journal {
    /// Opens (or creates) the journal for appending. `repair`, from [`load()`], first makes a
    /// torn end whole; if that fails, the torn end is put back as it was (what it says about
    /// an update that may have been sent must not be lost), and the error returned.
    pub(crate) fn open(path: &Path, repair: Option<&Repair>) -> io::Result<Self> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        if let Some(r) = repair {
            file.set_len(r.keep)?;
        }
        if let Some(r) = repair
            && let Err(e) = Self::rewrite(&file, r)
        {
            if file
                .set_len(r.keep)
                .and_then(|()| file.write_all(&r.was))
                .is_err()
            {
                eprintln!(
                    "helpdesk: journal {}: its torn end could not be put back ({} bytes were cut)",
                    path.display(),
                    r.was.len()
                );
            }
            return Err(e);
        }
        let len = file.metadata()?.len();
        let journal = Self {
            path: path.to_owned(),
            failed: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                file,
                len,
                error: None,
                torn: false,
                unrecorded: Vec::new(),
            }),
        };
        Ok(journal)
    }

    /// Appends a repair's records, each on a line of its own, and syncs.
    fn rewrite(mut file: &File, repair: &Repair) -> io::Result<()> {
        let mut text = Vec::new();
        for record in &repair.records {
            serde_json::to_writer(&mut text, record).map_err(io::Error::other)?;
            text.push(b'\n');
        }
        file.write_all(&text)?;
        file.sync_data()
    }

    /// The journal's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a write or a sync has failed: then no update may start.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Writes the `sending` record that must precede an update's first request. False (and
    /// the update must not be sent) once the journal has failed, or if this write fails.
    pub(crate) fn begin(&self, record: &Record) -> bool {
        let mut inner = self.lock();
        if inner.error.is_some() {
            return false;
        }
        match append(&mut inner, record) {
            Ok(()) => true,
            Err(e) => {
                self.fail(&mut inner, &e);
                false
            }
        }
    }

    /// Writes an outcome. Tried even after a failure (an update in flight has finished,
    /// and its outcome is worth keeping if there is room again); one that cannot be written
    /// is kept for the summary.
    pub(crate) fn finish(&self, record: &Record) {
        let mut inner = self.lock();
        if !inner.torn {
            match append(&mut inner, record) {
                Ok(()) => return,
                Err(e) => self.fail(&mut inner, &e),
            }
        }
        inner.unrecorded.push(record.clone());
    }

    /// Flushes the journal to disk; a failure stops the run like a failed write.
    pub(crate) fn sync(&self) {
        let mut inner = self.lock();
        if inner.torn {
            return;
        }
        if let Err(e) = inner.file.sync_data() {
            self.fail(&mut inner, &e);
        }
    }

    /// At the end of the run: one more try at the outcomes not yet written, a sync, and the
    /// failure if there was one.
    pub(crate) fn close(&self) -> Option<Failure> {
        {
            let mut inner = self.lock();
            let pending = std::mem::take(&mut inner.unrecorded);
            for record in pending {
                if inner.torn || append(&mut inner, &record).is_err() {
                    inner.unrecorded.push(record);
                }
            }
        }
        self.sync();
        let mut inner = self.lock();
        inner.error.clone().map(|error| Failure {
            error,
            unrecorded: std::mem::take(&mut inner.unrecorded),
        })
    }

    fn fail(&self, inner: &mut Inner, e: &io::Error) {
        if inner.error.is_none() {
            eprintln!(
                "helpdesk: cannot write the journal {}: {e}; no update is started from now on (those in flight finish)",
                self.path.display()
            );
            inner.error = Some(e.to_string());
            self.failed.store(true, Ordering::SeqCst);
        }
    }
}

/// Appends one record with a single `write`; if that fails, cuts the file back to its last
/// whole record, so the next record starts on a line of its own.
fn append(inner: &mut Inner, record: &Record) -> io::Result<()> {
    let mut text = serde_json::to_vec(record).map_err(io::Error::other)?;
    text.push(b'\n');
    match inner.file.write_all(&text) {
        Ok(()) => {
            inner.len += text.len() as u64;
            Ok(())
        }
        Err(e) => {
            if inner.file.set_len(inner.len).is_err() {
                inner.torn = true;
            }
            Err(e)
        }
    }
}

mod load;
#[cfg(test)]
mod tests;

pub(crate) use self::load::{Loaded, Repair, load};
