//! `helpdesk apply` reads an input it can trust: a pipe, a process substitution or a FIFO is
//! read once and both passes use that copy; a line edited after the check is not sent; a
//! line over `--max-line-bytes` is refused without being held; a leading BOM is skipped.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::FileExt;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use ticket_sandbox::{Fault, Sandbox, Scope};

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

fn assert_each_commented_once(env: &Env, n: usize) {
    let counts = env.sb.comment_counts();
    assert_eq!(counts.len(), n, "{counts:?}");
    assert!(counts.values().all(|c| *c == 1), "{counts:?}");
}

#[test]
fn a_process_substitution_is_read_once_and_every_line_sent() {
    const LINES: usize = 30;
    let env = Env::start(seeded(LINES));
    let path = env.path("in.jsonl");
    write_lines(&path, &commented(LINES));
    // bash hands helpdesk a pipe as /dev/fd/N: it can be read only once.
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            r#"exec "$0" apply <(cat "$1") --concurrency 4"#,
            assert_cmd::cargo::cargo_bin("helpdesk").to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.vars("feishu"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("{LINES} applied")), "{stdout}");
    assert_each_commented_once(&env, LINES);
}

#[test]
fn a_named_fifo_is_read_once_and_every_line_sent() {
    const LINES: usize = 30;
    let env = Env::start(seeded(LINES));
    let fifo = env.path("updates.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            // Opening blocks until helpdesk opens the other end.
            let mut text = commented(LINES).join("\n");
            text.push('\n');
            std::fs::write(&fifo, text).unwrap();
        })
    };
    env.helpdesk("feishu")
        .args(["apply", fifo.to_str().unwrap(), "--concurrency", "4"])
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{LINES} applied")));
    writer.join().unwrap();
    assert_each_commented_once(&env, LINES);
}

/// Stops the child on drop, so a failed assertion never leaves it stopped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_line_edited_after_the_check_is_not_sent() {
    const LINES: usize = 1300;
    const EDITED: usize = 1200;
    // How far the send pass's reader can be ahead of the updates started, at most: the one
    // update a worker took, a batch being handed out (64), four batches queued (256), one
    // being handed over (64), and a read buffer (8 KiB: under 120 of these lines). Rounded up.
    const READ_AHEAD: usize = 600;
    let env = Env::start(seeded(LINES));
    let lines = commented(LINES);
    let path = env.path("in.jsonl");
    write_lines(&path, &lines);
    let journal_path = env.path("journal.jsonl");
    let failures = env.path("failures.jsonl");
    // The first update is answered after 5 s: meanwhile the one worker waits, the queue
    // fills, and the reader waits too, far before the edited line.
    env.sb.inject(
        Fault::Latency(Duration::from_secs(5)),
        Scope::Ticket("t1".to_owned()),
        1,
    );
    let mut child = Child(
        env.helpdesk_std("feishu")
            .args([
                "apply",
                path.to_str().unwrap(),
                "--concurrency",
                "1",
                "--output",
                "json",
                "--journal",
            ])
            .arg(&journal_path)
            .arg("--failures")
            .arg(&failures)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The first `sending` record: the check pass is over (it read the whole file).
    wait_for_records(&journal_path, 1, "`sending` records", |r| {
        r["outcome"] == "sending"
    });
    // Frozen, the process reads nothing more while the line is edited; the journal says how
    // far it got, which bounds how far it read.
    signal(child.0.id(), "STOP");
    let started = journal(&journal_path)
        .iter()
        .filter(|r| r["outcome"] == "sending")
        .count();
    assert!(
        started + READ_AHEAD < EDITED,
        "the run got too far ({started} updates) before it was stopped to prove anything"
    );
    // In place (the same file, the same length), still a valid update.
    let offset: usize = lines[..EDITED - 1].iter().map(|l| l.len() + 1).sum();
    let edited = lines[EDITED - 1].replace("note", "EDIT");
    assert_eq!(edited.len(), lines[EDITED - 1].len());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .write_all_at(edited.as_bytes(), offset as u64)
        .unwrap();
    signal(child.0.id(), "CONT");

    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("line {EDITED}: changed since the check; not sent")),
        "{err}"
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["changed"], serde_json::json!([EDITED]));
    assert_eq!(report["applied"], LINES - 1);
    let counts = env.sb.comment_counts();
    assert_eq!(
        counts.get(&format!("t{EDITED}")),
        None,
        "the edited line was sent"
    );
    assert_eq!(counts.len(), LINES - 1);
    assert!(counts.values().all(|c| *c == 1));
    // The failures file has the line as it now is, to be fed back in.
    assert_eq!(
        std::fs::read_to_string(&failures).unwrap(),
        format!("{edited}\n")
    );
}

#[test]
fn a_line_over_the_limit_is_refused_with_its_number() {
    let env = Env::start(seeded(3));
    let path = env.path("in.jsonl");
    // 8 MiB of comment: a valid update, but over the 1 MiB default.
    let long = format!(
        r#"{{"ticket_id":"t2","comment":"{}"}}"#,
        "x".repeat(8 << 20)
    );
    let lines = [
        commented(1)[0].clone(),
        long.clone(),
        r#"{"ticket_id":"t3","status":"in_progress"}"#.to_owned(),
    ];
    write_lines(&path, &lines);
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 2: longer than 1048576 bytes (--max-line-bytes)",
        ))
        .stderr(predicate::str::contains(
            "1 invalid line(s); nothing was sent",
        ));
    assert_eq!(env.vendor_requests(), 0);

    // A limit of its own: the first line (60 bytes) is over 50, the third (41) is not.
    assert_eq!((lines[0].len(), lines[2].len()), (60, 41));
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--max-line-bytes", "50"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1: longer than 50 bytes"))
        .stderr(predicate::str::contains("line 2: longer than 50 bytes"))
        .stderr(predicate::str::contains("line 3:").not());

    // With --skip-invalid the others are sent and the long line is copied to the failures
    // file whole.
    let failures = env.path("failures.jsonl");
    env.helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--skip-invalid",
            "--failures",
        ])
        .arg(&failures)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 applied"));
    assert_eq!(
        std::fs::read_to_string(&failures).unwrap(),
        format!("{long}\n")
    );
    assert_eq!(env.sb.comment_count("t2"), 0);
}

#[test]
fn a_leading_bom_is_skipped() {
    let env = Env::start(seeded(2));
    let path = env.path("in.jsonl");
    let mut text = "\u{feff}".to_owned();
    text.push_str(&commented(2).join("\r\n"));
    text.push_str("\r\n");
    std::fs::write(&path, text).unwrap();
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 applied"));
    assert_each_commented_once(&env, 2);
}
