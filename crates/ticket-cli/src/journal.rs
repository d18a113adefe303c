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

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// Opens (or creates) the journal for appending. `repair`, from [`load`], first makes a
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

/// A journal as read by [`load`].
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// The last record of each input line.
    pub(crate) last: HashMap<u64, Record>,
    /// Torn records found, in order.
    pub(crate) torn: Vec<Torn>,
    /// How to make a torn end whole before appending, if it is torn.
    pub(crate) repair: Option<Repair>,
}

/// A torn record: where, and what was made of it.
#[derive(Debug)]
pub(crate) struct Torn {
    /// Its line in the journal (1-based).
    pub(crate) at: u64,
    /// The record made from it (`torn` set), or `None` if it was cut before its input line
    /// number: then it names no update, though one may have been sent.
    pub(crate) record: Option<Record>,
}

/// How [`Journal::open`] makes a torn end whole: cut the file to `keep` bytes, then append
/// `records` (the whole and torn records of the last line, each on a line of its own).
#[derive(Debug)]
pub(crate) struct Repair {
    keep: u64,
    records: Vec<Record>,
    /// The bytes cut, put back if the records cannot be written.
    was: Vec<u8>,
}

/// Every record begins so (the field order of [`Record`]); a string cannot hold it unescaped,
/// so it marks where a record starts even inside a line that two writes glued together.
const RECORD_START: &[u8] = br#"{"line":"#;

/// Reads a journal: the last record of each line number. A torn record (its run died
/// mid-write, or an older run kept appending after a failed write) is read as far as it goes
/// and reported in [`Loaded::torn`]; any other unreadable line is an error.
pub(crate) fn load(path: &Path) -> Result<Loaded, String> {
    let cannot = |e: io::Error| format!("cannot read journal {}: {e}", path.display());
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(cannot(e)),
    };
    let mut loaded = Loaded::default();
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let (mut offset, mut at) = (0u64, 0u64);
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(cannot)?;
        if read == 0 {
            return Ok(loaded);
        }
        let start = offset;
        offset += read as u64;
        at += 1;
        let ended = buf.last() == Some(&b'\n');
        let last_line = reader.fill_buf().map_err(cannot)?.is_empty();
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if body.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Ok(r) = serde_json::from_slice::<Record>(body) {
            if !ended {
                // Whole but for its end of line: written again, with it.
                loaded.repair = Some(Repair {
                    keep: start,
                    records: vec![r.clone()],
                    was: buf.clone(),
                });
            }
            loaded.last.insert(r.line, r);
            continue;
        }
        // Not one record: pieces, each starting where a record starts.
        if !body.starts_with(RECORD_START) && !last_line {
            let e = serde_json::from_slice::<Record>(body)
                .err()
                .map_or_else(String::new, |e| e.to_string());
            return Err(format!(
                "journal {} line {at}: not a journal record: {e}",
                path.display()
            ));
        }
        let mut records = Vec::new();
        for piece in pieces(body) {
            match serde_json::from_slice::<Record>(piece) {
                Ok(r) => records.push(r),
                Err(_) => {
                    let record = salvage(piece);
                    records.extend(record.clone());
                    loaded.torn.push(Torn { at, record });
                }
            }
        }
        for r in &records {
            loaded.last.insert(r.line, r.clone());
        }
        if last_line {
            loaded.repair = Some(Repair {
                keep: start,
                records,
                was: buf.clone(),
            });
        }
    }
}

/// `line` cut where each record starts.
fn pieces(line: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<usize> = line
        .windows(RECORD_START.len())
        .enumerate()
        .filter(|(_, w)| *w == RECORD_START)
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .zip(starts.iter().skip(1).chain([&line.len()]))
        .map(|(a, b)| &line[*a..*b])
        .collect()
}

/// The record a torn piece was becoming, if it got as far as its input line number. Its
/// outcome is the one it names if that name is whole and final (`applied`, `failed` and
/// `unknown` are written only once known); otherwise `sending`: the update may have been
/// sent (a torn `sending` record, or a final one cut before its outcome, whose `sending`
/// record came first).
fn salvage(piece: &[u8]) -> Option<Record> {
    let fields = whole_fields(&String::from_utf8_lossy(piece));
    let line = fields.get("line")?.as_u64()?;
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let outcome = fields
        .get("outcome")
        .and_then(Value::as_str)
        .filter(|o| matches!(*o, "applied" | "failed" | "unknown"))
        .unwrap_or("sending");
    Some(Record {
        line,
        ticket_id: text("ticket_id"),
        hash: text("hash"),
        outcome: outcome.to_owned(),
        error_kind: None,
        error: None,
        attempts: 0,
        request_id: None,
        comment: fields
            .get("comment")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        torn: true,
        verification: None,
    })
}

/// The fields of a JSON object cut short, up to the last one that is certainly whole (a value
/// followed by `,` or `}`: a number cut short would still parse).
fn whole_fields(text: &str) -> Map<String, Value> {
    fn one<T: serde::de::DeserializeOwned>(text: &str) -> Option<(T, &str)> {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<T>();
        let value = values.next()?.ok()?;
        Some((value, &text[values.byte_offset()..]))
    }
    let mut fields = Map::new();
    let Some(mut rest) = text.trim_start().strip_prefix('{') else {
        return fields;
    };
    while let Some((key, after)) = one::<String>(rest) {
        let Some(after) = after.trim_start().strip_prefix(':') else {
            break;
        };
        let Some((value, after)) = one::<Value>(after) else {
            break;
        };
        let after = after.trim_start();
        let Some(more) = after.strip_prefix(',') else {
            if after.starts_with('}') {
                fields.insert(key, value);
            }
            break;
        };
        fields.insert(key, value);
        rest = more;
    }
    fields
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(line: u64, outcome: &str) -> Record {
        Record {
            line,
            ticket_id: format!("t{line}"),
            hash: "0123456789abcdef".to_owned(),
            outcome: outcome.to_owned(),
            error_kind: None,
            error: None,
            attempts: 1,
            request_id: None,
            comment: true,
            torn: false,
            verification: None,
        }
    }

    fn text(records: &[Record]) -> String {
        records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect()
    }

    /// Loads `content`, repairs it as a resumed run would, and loads it again.
    fn load_and_repair(content: &str) -> (Loaded, String, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, content).unwrap();
        let first = load(&path).unwrap();
        Journal::open(&path, first.repair.as_ref()).unwrap();
        let repaired = std::fs::read_to_string(&path).unwrap();
        let second = load(&path).unwrap();
        (first, repaired, second)
    }

    #[test]
    fn a_torn_sending_record_reads_as_sending_and_is_rewritten_whole() {
        let whole = text(&[record(1, "sending"), record(1, "applied")]);
        let sending = serde_json::to_string(&record(2, "sending")).unwrap();
        let (first, repaired, second) = load_and_repair(&(whole.clone() + &sending[..40]));
        assert_eq!(first.torn.len(), 1);
        assert_eq!(first.torn[0].at, 3);
        let made = first.torn[0].record.clone().unwrap();
        assert_eq!((made.line, made.outcome.as_str()), (2, "sending"));
        assert_eq!(made.ticket_id, "t2");
        assert!(made.torn);
        // Whole lines only, and the next append starts on a line of its own.
        assert!(repaired.starts_with(&whole) && repaired.ends_with('\n'));
        assert!(second.torn.is_empty() && second.repair.is_none());
        assert_eq!(second.last[&2], made);
        assert_eq!(second.last[&1].outcome, "applied");
    }

    #[test]
    fn a_torn_outcome_keeps_its_line_unknown_unless_it_names_a_final_outcome() {
        let whole = text(&[record(3, "sending")]);
        let applied = serde_json::to_string(&record(3, "applied")).unwrap();
        // Cut inside "applied": the line stays in flight (`sending`).
        let cut = applied.find("applied").unwrap() + 3;
        let (first, _, second) = load_and_repair(&(whole.clone() + &applied[..cut]));
        assert_eq!(first.last[&3].outcome, "sending");
        assert_eq!(second.last[&3].outcome, "sending");
        // Cut after it: the update is known to have been applied.
        let cut = applied.find("applied").unwrap() + "applied\",".len();
        let (first, _, _) = load_and_repair(&(whole + &applied[..cut]));
        assert_eq!(first.last[&3].outcome, "applied");
    }

    #[test]
    fn a_line_number_cut_short_is_not_trusted() {
        let sending = serde_json::to_string(&record(123, "sending")).unwrap();
        // `{"line":12` could be 12, 123, 1234…
        let (first, repaired, second) = load_and_repair(&sending[..10]);
        assert_eq!(first.torn.len(), 1);
        assert!(first.torn[0].record.is_none());
        assert!(first.last.is_empty());
        assert_eq!(repaired, "");
        assert!(second.torn.is_empty());
    }

    #[test]
    fn a_whole_record_without_its_end_of_line_is_ended() {
        let r = serde_json::to_string(&record(4, "applied")).unwrap();
        let (first, repaired, _) = load_and_repair(&r);
        assert!(first.torn.is_empty());
        assert_eq!(first.last[&4].outcome, "applied");
        assert_eq!(repaired, r + "\n");
    }

    #[test]
    fn records_glued_to_a_torn_one_are_read() {
        // What an older helpdesk left after a failed write: half a record, then the next.
        let half = serde_json::to_string(&record(5, "sending")).unwrap();
        let glued = format!(
            "{}{}{}",
            &half[..30],
            text(&[record(6, "sending")]),
            text(&[record(6, "applied")])
        );
        let (first, repaired, _) = load_and_repair(&glued);
        assert_eq!(first.torn.len(), 1);
        assert_eq!(first.torn[0].at, 1);
        assert_eq!(first.last[&5].outcome, "sending");
        assert_eq!(first.last[&6].outcome, "applied");
        // Only a torn end is rewritten; one in the middle is read again each time.
        assert_eq!(repaired, glued);
    }

    #[test]
    fn other_garbage_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, format!("garbage\n{}", text(&[record(1, "sending")]))).unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.contains("line 1: not a journal record"), "{err}");
    }

    #[test]
    fn a_failed_write_stops_the_run_and_keeps_the_outcomes_it_could_not_write() {
        // /dev/full fails every write with ENOSPC, as a full disk does.
        let path = Path::new("/dev/full");
        if !path.exists() {
            return;
        }
        let j = Journal::open(path, None).unwrap();
        assert!(!j.begin(&record(1, "sending")));
        assert!(j.failed());
        j.finish(&record(2, "applied"));
        let failure = j.close().unwrap();
        assert!(failure.error.contains("No space left"), "{}", failure.error);
        assert_eq!(failure.unrecorded, [record(2, "applied")]);
    }

    #[test]
    fn whole_fields_stop_at_the_first_piece_cut_short() {
        let f = whole_fields(r#"{"line":12,"ticket_id":"a\"b","hash":"01"#);
        assert_eq!(f["line"], 12);
        assert_eq!(f["ticket_id"], "a\"b");
        assert!(!f.contains_key("hash"));
        assert!(whole_fields(r#"{"line":12"#).is_empty());
        assert_eq!(whole_fields(r#"{"line":1}"#)["line"], 1);
    }
}
