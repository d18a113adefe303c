//! Reading a journal back: the last record of each input line, and what a torn record (a run
//! that died mid-write) still says, taken as conservatively as its text allows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::Record;

/// A journal as read by [`load()`].
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

/// How [`Journal::open`](super::Journal::open) makes a torn end whole: cut the file to `keep` bytes, then append
/// `records` (the whole and torn records of the last line, each on a line of its own).
#[derive(Debug)]
pub(crate) struct Repair {
    pub(super) keep: u64,
    pub(super) records: Vec<Record>,
    /// The bytes cut, put back if the records cannot be written.
    pub(super) was: Vec<u8>,
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
pub(super) fn whole_fields(text: &str) -> Map<String, Value> {
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
