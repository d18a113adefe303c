//! `helpdesk apply` interrupted twice, and its progress display: on a terminal (a real
//! pseudo-terminal, through util-linux `script`) and as plain lines when stderr is a pipe.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use predicates::prelude::*;
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

fn signal(name: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (a deadline, not a timed assertion) for a line of the child's stderr containing
/// `needle`; returns every line read so far.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(e) => panic!("no stderr line with {needle:?} ({e}); saw {seen:#?}"),
        }
    }
}

#[test]
fn a_second_ctrl_c_aborts_without_waiting_for_the_updates_in_flight() {
    a_second_signal_aborts_without_waiting_for_the_updates_in_flight("INT", "INT");
}

/// SIGTERM counts as Ctrl-C, the first and the second alike.
#[test]
fn sigterm_then_ctrl_c_aborts_without_waiting_for_the_updates_in_flight() {
    a_second_signal_aborts_without_waiting_for_the_updates_in_flight("TERM", "INT");
}

fn a_second_signal_aborts_without_waiting_for_the_updates_in_flight(first: &str, second: &str) {
    const CONCURRENCY: usize = 4;
    let env = Env::start(seeded(40));
    // The first tickets are answered at once; every later one hangs for a minute, so the
    // updates in flight when the signals land can only end by the abort.
    let path = env.path("in.jsonl");
    write_lines(&path, &commented(40));
    let journal_path = env.path("journal.jsonl");
    for i in CONCURRENCY + 1..=40 {
        env.sb.inject(
            Fault::Latency(Duration::from_secs(60)),
            Scope::Ticket(format!("t{i}")),
            1,
        );
    }
    let mut child = env
        .helpdesk_std("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            &CONCURRENCY.to_string(),
            "--journal",
        ])
        .arg(&journal_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The first tickets applied, and the next ones sent (each line has a `sending` record).
    wait_for_records(&journal_path, 2 * CONCURRENCY, "`sending` records", |r| {
        r["outcome"] == "sending"
    });
    let mut seen = Vec::new();
    signal(first, child.id());
    wait_for_line(&lines, "interrupted; finishing", &mut seen);
    signal(second, child.id());
    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(lines.try_iter());
    assert_eq!(status.code(), Some(130), "{seen:#?}");
    assert!(
        seen.iter().any(|l| l.contains("aborted")),
        "the abort says so: {seen:#?}"
    );

    // Every journal line is a whole record.
    let text = std::fs::read_to_string(&journal_path).unwrap();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("torn journal line {line:?}: {e}"));
    }
    let mut last: BTreeMap<u64, String> = BTreeMap::new();
    for r in journal(&journal_path) {
        last.insert(
            r["line"].as_u64().unwrap(),
            r["outcome"].as_str().unwrap().to_owned(),
        );
    }
    // It did not wait: the updates in flight have no outcome (a graceful stop would have
    // waited a minute for each and recorded it).
    let in_flight = last.values().filter(|o| *o == "sending").count();
    assert!(in_flight >= 1, "nothing was left in flight: {last:?}");
    assert!(
        last.values().any(|o| o == "applied"),
        "the quick tickets applied: {last:?}"
    );
    // Nothing is recorded as applied that the sandbox did not apply.
    let counts = env.sb.comment_counts();
    let applied: BTreeSet<u64> = last
        .iter()
        .filter(|(_, o)| *o == "applied")
        .map(|(n, _)| *n)
        .collect();
    for n in &applied {
        assert_eq!(counts.get(&format!("t{n}")), Some(&1), "line {n}");
    }
    assert!(counts.values().all(|c| *c == 1));
    // Nothing was started after the first signal: only lines the journal knows were sent.
    let put: BTreeSet<String> = env
        .sb
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    let known: BTreeSet<String> = last.keys().map(|n| format!("t{n}")).collect();
    assert!(put.is_subset(&known), "sent {put:?}, journal {known:?}");
}

/// Every request is slow, so a run of `n` lines at concurrency 2 lasts a few seconds; one
/// line names a ticket that does not exist.
fn slow_run(n: usize) -> (Env, std::path::PathBuf) {
    let env = Env::start(seeded(n));
    env.sb.inject(
        Fault::Latency(Duration::from_millis(250)),
        Scope::Feishu,
        1000,
    );
    let path = env.path("in.jsonl");
    let mut lines = commented(n);
    lines[0] = r#"{"ticket_id":"missing","status":"in_progress"}"#.to_owned();
    write_lines(&path, &lines);
    (env, path)
}

#[test]
fn plain_progress_lines_when_stderr_is_not_a_terminal() {
    let (env, path) = slow_run(16);
    env.helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            "2",
            "--progress-every",
            "1",
        ])
        .assert()
        .code(1)
        .stderr(predicate::function(|err: &str| {
            err.lines().any(|l| {
                l.strip_prefix("progress: ")
                    .and_then(|rest| rest.split_once("/16 done, 1 failed, "))
                    .is_some_and(|(done, rate)| {
                        done.parse::<u64>().is_ok_and(|d| d <= 16)
                            && rate
                                .strip_suffix("/s")
                                .is_some_and(|r| r.parse::<f64>().is_ok())
                    })
            })
        }))
        // No terminal: no bar, no cursor movement.
        .stderr(predicate::str::contains("\u{1b}[").not())
        .stdout(predicate::str::contains("15 applied, 1 failed"));
}

/// Single-quotes `s` for `sh`.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn a_progress_bar_on_a_terminal() {
    let (env, path) = slow_run(16);
    let bin = assert_cmd::cargo::cargo_bin("helpdesk");
    // util-linux `script` runs the command on a new pseudo-terminal and copies what it
    // writes there (stdout and stderr alike) to its own stdout.
    let command = format!(
        "stty cols 120 rows 40; {} apply {} --concurrency 2",
        quoted(bin.to_str().unwrap()),
        quoted(path.to_str().unwrap()),
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .envs(env.vars("feishu"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The bar: done/total, rate, ETA and the failures so far, redrawn in place.
    let bar = regex_lite(&text);
    assert!(bar, "no progress bar in {text:?}");
    assert!(text.contains("failures: 1"), "{text:?}");
    // No plain progress lines on a terminal.
    assert!(!text.contains("progress: "), "{text:?}");
    assert!(text.contains("15 applied, 1 failed"), "{text:?}");
}

/// Whether `text` holds a drawn bar: 40 cells of `█`/`░` followed by `N/16`, a rate and an
/// ETA (`{bar:40} {pos}/{len} {per_sec} ETA {eta} {msg}`).
fn regex_lite(text: &str) -> bool {
    text.match_indices("/16 ").any(|(at, _)| {
        let before = &text[..at];
        let digits: String = before
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        let cells: String = before[..before.len() - digits.len()]
            .chars()
            .rev()
            .skip(1)
            .take(40)
            .collect();
        !digits.is_empty()
            && cells.chars().count() == 40
            && cells.chars().all(|c| matches!(c, '█' | '░'))
            && text[at + 4..].split_once(" ETA ").is_some_and(|(rate, _)| {
                rate.strip_suffix("/s")
                    .is_some_and(|r| r.parse::<f64>().is_ok())
            })
    })
}
