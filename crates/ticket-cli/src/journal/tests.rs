//! The journal's unit tests: writing, failing closed, reading torn records back.
#![allow(clippy::unwrap_used)]

use super::load::whole_fields;
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
