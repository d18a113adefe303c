//! `helpdesk apply --journal` when the journal's store fails: a filesystem that fills up
//! during the run (a real tmpfs), then has room again; and a journal torn mid-record, resumed
//! again and again.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use ticket_sandbox::Sandbox;

fn seeded(n: usize) -> ticket_sandbox::SandboxBuilder {
    (1..=n).fold(Sandbox::builder(), |b, i| {
        b.seed_feishu_default(format!("t{i}"))
    })
}

fn commented(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!(r#"{{"ticket_id":"t{i}","status":"in_progress","comment":"note {i}"}}"#))
        .collect()
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (the test is skipped) where mounting is not possible (not root, no tmpfs),
    /// unless `CI` is set: there it must work.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Self { dir }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var_os("CI").is_none(),
                    "cannot mount a tmpfs (root is needed): {why}"
                );
                eprintln!("skipped: cannot mount a tmpfs (root is needed): {why}");
                None
            }
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the filesystem of `path` with one file, then gives `room` bytes back.
fn fill_leaving(path: &Path, room: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xa5u8; 4096];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    f.sync_all().unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - room).unwrap();
}

/// Each journal line is a whole record (or blank), and the file ends with an end of line.
fn assert_whole_records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the journal ends mid-line: {text:?}"
    );
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not a record {l:?}: {e}"))
        })
        .collect()
}

fn last_outcomes(records: &[Value]) -> BTreeMap<u64, String> {
    records
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_full_journal_stops_the_run_and_resume_posts_nothing_twice() {
    const LINES: usize = 60;
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    let env = Env::start(seeded(LINES));
    let path = env.path("in.jsonl");
    write_lines(&path, &commented(LINES));
    // Room for one page of journal: about 16 updates' records.
    let filler = fs.path("filler");
    fill_leaving(&filler, 4096);
    let journal_path = fs.path("journal.jsonl");

    let out = env
        .helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            "4",
            "--journal",
        ])
        .arg(&journal_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    // One message when it happens and one at the end, naming the file and what to do.
    assert_eq!(
        stderr.matches("cannot write the journal").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains(journal_path.to_str().unwrap()), "{stderr}");
    assert!(
        stderr.contains("Free space on its filesystem") && stderr.contains("--resume"),
        "{stderr}"
    );
    // Cut back to whole records: nothing to glue the next one onto.
    let records = assert_whole_records(&journal_path);
    // Write-ahead: exactly the updates with a `sending` record were sent, so none was
    // started after the first failed write (its record was refused, and every later one).
    let sending: BTreeSet<String> = records
        .iter()
        .filter(|r| r["outcome"] == "sending")
        .map(|r| r["ticket_id"].as_str().unwrap().to_owned())
        .collect();
    let sent = put_tickets(&env);
    assert_eq!(sent, sending);
    assert!(
        !sent.is_empty() && sent.len() < LINES,
        "the run stopped part-way: {} sent",
        sent.len()
    );
    // Outcomes that did not fit: in flight when the disk filled, so applied (the sandbox is
    // healthy) but not recorded. The summary names them.
    let unrecorded: BTreeSet<u64> = last_outcomes(&records)
        .into_iter()
        .filter(|(_, o)| o == "sending")
        .map(|(n, _)| n)
        .collect();
    for n in &unrecorded {
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("line {n} ticket \"t{n}\"")),
            "line {n} unrecorded but not listed"
        );
    }

    eprintln!(
        "sent {}, unrecorded {unrecorded:?}, records {}",
        sent.len(),
        records.len()
    );
    // Room again: the rest is sent, nothing twice.
    std::fs::remove_file(&filler).unwrap();
    let out = env
        .helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--resume", "--journal"])
        .arg(&journal_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = if unrecorded.is_empty() { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    // Only the unrecorded ones are held (they carry a comment), and they had landed.
    assert_eq!(held(&stderr), unrecorded);
    let counts = env.sb.comment_counts();
    for i in 1..=LINES {
        assert_eq!(counts.get(&format!("t{i}")), Some(&1), "ticket t{i}");
    }
    assert_whole_records(&journal_path);
}

#[test]
fn a_torn_journal_on_a_full_disk_keeps_its_torn_end_until_there_is_room() {
    const LINES: usize = 8;
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    let env = Env::start(seeded(LINES));
    let lines = commented(LINES);
    let path = env.path("in.jsonl");
    write_lines(&path, &lines);
    let journal_path = fs.path("journal.jsonl");
    let first = env.path("first.jsonl");
    write_lines(&first, &lines[..2]);
    env.helpdesk("feishu")
        .args(["apply", first.to_str().unwrap(), "--journal"])
        .arg(&journal_path)
        .assert()
        .success();
    // Whole records up to byte 4000 (a blank line pads them), then half of line 3's
    // `sending` record (cut inside its hash): rewriting it whole needs bytes past 4096, a
    // second page.
    let mut text = std::fs::read(&journal_path).unwrap();
    let pad = 4000 - text.len() - 1;
    text.extend(std::iter::repeat_n(b' ', pad));
    text.push(b'\n');
    let record = r#"{"line":3,"ticket_id":"t3","hash":"0123456789abcdef","outcome":"sending","attempts":0,"comment":true}"#;
    text.extend_from_slice(&record.as_bytes()[..45]);
    std::fs::write(&journal_path, &text).unwrap();
    let filler = fs.path("filler");
    fill_leaving(&filler, 0);

    let resume = || {
        env.helpdesk("feishu")
            .args(["apply", path.to_str().unwrap(), "--resume", "--journal"])
            .arg(&journal_path)
            .output()
            .unwrap()
    };
    let sent = put_tickets(&env);
    let out = resume();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    // The torn end, which says line 3 may have been sent, is still there, byte for byte.
    assert!(
        std::fs::read(&journal_path).unwrap() == text,
        "the journal changed: {:?}",
        String::from_utf8_lossy(&std::fs::read(&journal_path).unwrap()).trim_end_matches(' ')
    );
    assert_eq!(put_tickets(&env), sent);

    std::fs::remove_file(&filler).unwrap();
    let out = resume();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Journal line 6: four records, the blank line, then the torn one.
    assert!(stderr.contains("line 6: a torn record"), "{stderr}");
    assert_eq!(held(&stderr), BTreeSet::from([3]));
    assert_whole_records(&journal_path);
    let counts = env.sb.comment_counts();
    for i in 1..=LINES {
        let want = usize::from(i != 3);
        assert_eq!(counts.get(&format!("t{i}")).copied().unwrap_or(0), want);
    }
}

/// Cuts the journal's last record at `cut` bytes into it.
fn tear_last_record(path: &Path, cut: impl Fn(&str) -> usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.strip_suffix('\n').unwrap();
    let start = body.rfind('\n').map_or(0, |i| i + 1);
    let at = start + cut(&body[start..]);
    std::fs::write(path, &text[..at]).unwrap();
}

#[test]
fn a_torn_sending_record_holds_its_update_through_three_resumes() {
    const LINES: usize = 10;
    let env = Env::start(seeded(LINES));
    let lines = commented(LINES);
    let path = env.path("in.jsonl");
    write_lines(&path, &lines);
    let journal_path = env.path("journal.jsonl");
    // A run that applied lines 1 to 4 and died while writing line 5's `sending` record (a
    // record torn so may have been written by a run that then sent it): the first four lines
    // of the same file, then half of the record.
    let first = env.path("first.jsonl");
    write_lines(&first, &lines[..4]);
    env.helpdesk("feishu")
        .args(["apply", first.to_str().unwrap(), "--journal"])
        .arg(&journal_path)
        .assert()
        .success();
    let record = r#"{"line":5,"ticket_id":"t5","hash":"0123456789abcdef","outcome":"sending","attempts":0,"comment":true}"#;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal_path)
        .unwrap();
    f.write_all(&record.as_bytes()[..record.len() / 2]).unwrap();
    drop(f);

    let resume = || {
        env.helpdesk("feishu")
            .args(["apply", path.to_str().unwrap(), "--resume", "--journal"])
            .arg(&journal_path)
            .output()
            .unwrap()
    };
    for round in 1..=3 {
        let out = resume();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "round {round}: {stderr}");
        assert_eq!(
            held(&stderr),
            BTreeSet::from([5]),
            "round {round}: {stderr}"
        );
        // Reported once, with its place, then rewritten as a whole record.
        assert_eq!(
            stderr.contains("line 9: a torn record"),
            round == 1,
            "round {round}: {stderr}"
        );
        let records = assert_whole_records(&journal_path);
        assert_eq!(last_outcomes(&records)[&5], "sending");
        let counts = env.sb.comment_counts();
        for i in 1..=LINES {
            let want = usize::from(i != 5);
            assert_eq!(counts.get(&format!("t{i}")).copied().unwrap_or(0), want);
        }
    }
    assert!(!put_tickets(&env).contains("t5"));
    // The operator checked t5: never sent. Only now is it sent, once.
    env.helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--resume",
            "--resend-unknown",
            "--journal",
        ])
        .arg(&journal_path)
        .assert()
        .success()
        .stdout(predicate::str::contains("1 applied"));
    assert!(env.sb.comment_counts().values().all(|n| *n == 1));
    assert_eq!(env.sb.comment_counts().len(), LINES);
}

#[test]
fn a_torn_outcome_record_keeps_its_update_unknown_through_three_resumes() {
    const LINES: usize = 6;
    let env = Env::start(seeded(LINES));
    let path = env.path("in.jsonl");
    write_lines(&path, &commented(LINES));
    let journal_path = env.path("journal.jsonl");
    // One worker: the last record is line 6's outcome.
    env.helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            "1",
            "--journal",
        ])
        .arg(&journal_path)
        .assert()
        .success();
    // Cut inside `"outcome":"applied"`: it could have been any outcome, so the update, known
    // to have been sent, has an unknown outcome.
    tear_last_record(&journal_path, |r| {
        assert!(r.starts_with(r#"{"line":6,"#), "{r}");
        r.find(r#""outcome":"app"#).unwrap() + r#""outcome":"app"#.len()
    });
    let puts = env.sb.requests().len();
    for round in 1..=3 {
        let out = env
            .helpdesk("feishu")
            .args(["apply", path.to_str().unwrap(), "--resume", "--journal"])
            .arg(&journal_path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "round {round}: {stderr}");
        assert_eq!(
            held(&stderr),
            BTreeSet::from([6]),
            "round {round}: {stderr}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("5 skipped (already applied)"),
            "round {round}"
        );
        assert_whole_records(&journal_path);
    }
    assert_eq!(env.sb.requests().len(), puts, "nothing was sent again");
    assert!(env.sb.comment_counts().values().all(|n| *n == 1));
}
