//! The journal: one JSON line per event, appended with one `write` each (so a killed process
//! loses nothing it wrote), synced regularly.
//!
//! Before an update is sent a `sending` record is written; after it, its outcome. A line whose
//! last record is `sending` was in flight when the run died: its outcome is unknown.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Record {
    /// 1-based line number in the input.
    pub(crate) line: u64,
    pub(crate) ticket_id: String,
    /// [`crate::line::line_hash`] of the line.
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
}

/// An open journal.
#[derive(Debug)]
pub(crate) struct Journal {
    file: Mutex<File>,
}

impl Journal {
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Appends one record with a single `write`.
    pub(crate) fn write(&self, record: &Record) -> std::io::Result<()> {
        let mut text = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&text)
    }

    /// Flushes the journal to disk.
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        self.file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sync_data()
    }
}

/// Reads a journal: the last record of each line number. A torn last line (the process died
/// mid-write) is ignored; any other unreadable line is an error.
pub(crate) fn load(path: &Path) -> Result<HashMap<u64, Record>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(format!("cannot read journal {}: {e}", path.display())),
    };
    let mut last = HashMap::new();
    let mut lines = BufReader::new(file).lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let line = line.map_err(|e| format!("cannot read journal {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(r) => {
                last.insert(r.line, r);
            }
            Err(_) if lines.peek().is_none() => {}
            Err(e) => {
                return Err(format!(
                    "journal {} line {}: not a journal record: {e}",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    Ok(last)
}
