//! `helpdesk apply` as a real process against a real sandbox.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use ticket_sandbox::{Fault, Provider, Sandbox, Scope};

fn feishu_lines(n: usize, comment: bool) -> Vec<String> {
    (1..=n)
        .map(|i| {
            if comment {
                format!(r#"{{"ticket_id":"t{i}","status":"in_progress","comment":"note {i}"}}"#)
            } else {
                format!(r#"{{"ticket_id":"t{i}","status":"in_progress","tags":["bulk"]}}"#)
            }
        })
        .collect()
}

fn seeded(n: usize) -> ticket_sandbox::SandboxBuilder {
    (1..=n).fold(Sandbox::builder(), |b, i| {
        b.seed_feishu_default(format!("t{i}"))
    })
}

/// Replaces the timing fields of a report, which differ run to run.
fn stable(mut report: Value) -> Value {
    for key in ["elapsed_ms", "rate_per_sec"] {
        report[key] = Value::from("[timing]");
    }
    report["latency_ms"] = Value::from("[timing]");
    report
}

#[test]
fn bad_lines_are_all_reported_and_nothing_is_sent() {
    let env = Env::start(seeded(3));
    let path = env.path("in.jsonl");
    write_lines(
        &path,
        &[
            r#"{"ticket_id":"t1","status":{"feishu":"queued"}}"#.to_owned(),
            r#"{"ticket_id":"t2","titel":"typo"}"#.to_owned(),
            String::new(),
            r#"{"ticket_id":"t3","title":"feishu has no title"}"#.to_owned(),
            "not json".to_owned(),
            r#"{"ticket_id":"t3","status":"nope"}"#.to_owned(),
        ],
    );
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2: unknown field `titel`"))
        .stderr(predicate::str::contains(
            "line 4: feishu cannot carry these fields: title",
        ))
        .stderr(predicate::str::contains("line 5: "))
        .stderr(predicate::str::contains("line 6: invalid status"))
        .stderr(predicate::str::contains("line 3:").not())
        .stderr(predicate::str::contains("line 1:").not())
        .stderr(predicate::str::contains(
            "4 invalid line(s); nothing was sent",
        ));
    assert_eq!(env.vendor_requests(), 0);

    // --skip-invalid sends the valid line; the invalid ones go to the failures file.
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
        .code(1);
    assert_eq!(env.sb.feishu_ticket("t1").unwrap().status, 3);
    assert_eq!(env.vendor_requests(), 1);
    let failed = std::fs::read_to_string(&failures).unwrap();
    assert_eq!(failed.lines().count(), 4);
    assert!(failed.contains(r#"{"ticket_id":"t2","titel":"typo"}"#));
}

#[test]
fn stdin_input_and_json_report() {
    let env = Env::start(seeded(20));
    let input = feishu_lines(20, true).join("\n");
    let out = env
        .helpdesk("feishu")
        .args(["apply", "-", "--concurrency", "4", "--output", "json"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_snapshot!(
        "all_applied",
        serde_json::to_string_pretty(&stable(report)).unwrap()
    );
    assert!(env.sb.comment_counts().values().all(|n| *n == 1));
    assert_eq!(env.sb.comment_counts().len(), 20);
}

#[test]
fn failures_file_and_summary_agree_with_the_sandbox() {
    let env = Env::start(seeded(10));
    // t4 and t7 do not exist; t9 answers 403 once.
    let path = env.path("in.jsonl");
    let mut lines = feishu_lines(10, false);
    lines[3] = r#"{"ticket_id":"t4-missing","status":{"feishu":"queued"}}"#.to_owned();
    lines[6] = r#"{"ticket_id":"t7-missing","status":{"feishu":"queued"}}"#.to_owned();
    write_lines(&path, &lines);
    env.sb
        .inject(Fault::Forbidden, Scope::Ticket("t9".to_owned()), 1);
    let failures = env.path("failures.jsonl");
    let out = env
        .helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--output",
            "json",
            "--failures",
        ])
        .arg(&failures)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_snapshot!(
        "some_failed",
        serde_json::to_string_pretty(&stable(report)).unwrap()
    );
    let mut failed: Vec<&str> = std::str::from_utf8(&std::fs::read(&failures).unwrap())
        .unwrap()
        .lines()
        .map(|l| {
            if l.contains("t4-missing") {
                "t4"
            } else if l.contains("t7-missing") {
                "t7"
            } else {
                "t9"
            }
        })
        .collect::<Vec<_>>();
    failed.sort_unstable();
    assert_eq!(failed, ["t4", "t7", "t9"]);
    let failed_text = std::fs::read_to_string(&failures).unwrap();
    for l in failed_text.lines() {
        assert!(lines.contains(&l.to_owned()), "not verbatim: {l}");
    }
    // Feeding the failures file back in: only t9 can now succeed.
    env.helpdesk("feishu")
        .args(["apply", failures.to_str().unwrap(), "--skip-invalid"])
        .assert()
        .code(1);
    assert_eq!(env.sb.feishu_ticket("t9").unwrap().tag_names, ["bulk"]);
}

#[test]
fn rate_limited_sandbox_loses_nothing() {
    // Without --rate: the first refusal states the limit (50/s), and from then on every
    // worker is paced to it.
    const LINES: usize = 200;
    const CONCURRENCY: u64 = 8;
    const LIMIT: u64 = 50;
    let env = Env::start(seeded(LINES).rate_limit(Provider::Feishu, LIMIT as u32));
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(LINES, true));
    let failures = env.path("failures.jsonl");
    let out = env
        .helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            &CONCURRENCY.to_string(),
            "--output",
            "json",
        ])
        .arg("--failures")
        .arg(&failures)
        .assert()
        .success()
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["applied"], LINES);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["adopted_rate_per_sec"], LIMIT);
    // Every 429 the sandbox sent was seen and waited out, and nothing applied twice.
    let refused = env.sb.stats().rate_limited;
    assert_eq!(report["rate_limited_answers"], refused);
    assert!(refused > 0, "the bucket ({LIMIT}/s) must have refused some");
    // Refusals come only from the updates in flight when the first one arrived (one per
    // worker) and from the adopted limiter's burst (LIMIT / 20) meeting a bucket that is not
    // yet full again; waiting out each refusal alone drew one wave of refusals a second.
    let bound = CONCURRENCY + (LIMIT / 20).max(1);
    assert!(
        refused <= bound,
        "{refused} refusals, more than {bound}: the stated limit was not adopted"
    );
    assert_eq!(env.sb.comment_counts().len(), LINES);
    assert!(env.sb.comment_counts().values().all(|n| *n == 1));
    assert_eq!(std::fs::read_to_string(&failures).unwrap(), "");
}

/// The text summary names the adopted rate.
#[test]
fn the_adopted_rate_is_in_the_text_summary() {
    let env = Env::start(seeded(40).rate_limit(Provider::Feishu, 20));
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(40, false));
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--concurrency", "4"])
        .assert()
        .success()
        .stdout(predicate::str::contains("40 applied"))
        .stdout(predicate::str::contains(
            "(paced at the server's stated limit, 20/s)",
        ));
}

#[test]
fn with_a_rate_no_rate_limit_answer() {
    let env = Env::start(seeded(30).rate_limit(Provider::Feishu, 20));
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(30, false));
    env.helpdesk("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            "4",
            "--rate",
            "10/s",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("30 applied"))
        .stdout(predicate::str::contains("0 rate-limit answers"))
        .stdout(predicate::str::contains("paced at").not());
    assert_eq!(env.sb.stats().rate_limited, 0);
}

#[test]
fn unknown_outcome_with_a_comment_is_listed_not_resent() {
    let env = Env::start(seeded(5));
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(5, true));
    // t3's answer is lost after the server received it.
    env.sb
        .inject(Fault::DropConnection, Scope::Ticket("t3".to_owned()), 1);
    let journal_path = env.path("journal.jsonl");
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--journal"])
        .arg(&journal_path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("4 applied, 0 failed, 1 unknown"))
        .stdout(predicate::str::contains("line 3 ticket \"t3\""));
    let put_count = || {
        env.sb
            .requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/t3"))
            .count()
    };
    assert_eq!(put_count(), 1, "not retried");
    let j = journal(&journal_path);
    assert!(
        j.iter()
            .any(|r| r["line"] == 3 && r["outcome"] == "unknown")
    );

    // Resume: the applied lines are skipped, t3 is listed and still not sent.
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--resume", "--journal"])
        .arg(&journal_path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "line 3: ticket t3: outcome unknown",
        ))
        .stdout(predicate::str::contains("4 skipped (already applied)"));
    assert_eq!(put_count(), 1);
    // The operator checked: not applied. --resend-unknown sends it.
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
    assert_eq!(put_count(), 2);
    assert!(env.sb.comment_counts().values().all(|n| *n == 1));
}

#[test]
fn an_existing_journal_needs_resume() {
    let env = Env::start(seeded(1));
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(1, false));
    let journal_path = env.path("journal.jsonl");
    std::fs::write(&journal_path, "{}\n").unwrap();
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--journal"])
        .arg(&journal_path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--resume"));
    assert_eq!(env.vendor_requests(), 0);
}

#[test]
fn resume_refuses_a_changed_file() {
    let env = Env::start(seeded(2));
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(2, false));
    let journal_path = env.path("journal.jsonl");
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--journal"])
        .arg(&journal_path)
        .assert()
        .success();
    let requests = env.vendor_requests();
    write_lines(&path, &feishu_lines(2, true));
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--resume", "--journal"])
        .arg(&journal_path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 1: changed since the journal recorded it",
        ));
    assert_eq!(env.vendor_requests(), requests);
}

#[test]
fn sigint_finishes_in_flight_updates_and_exits_130() {
    a_signal_finishes_in_flight_updates_and_exits_130("INT");
}

/// What systemd, Kubernetes and `timeout` send: the same graceful stop as Ctrl-C.
#[test]
fn sigterm_finishes_in_flight_updates_and_exits_130() {
    a_signal_finishes_in_flight_updates_and_exits_130("TERM");
}

fn a_signal_finishes_in_flight_updates_and_exits_130(signal: &str) {
    let env = Env::start(seeded(200));
    // Every request is slow, so several are in flight when the signal lands.
    env.sb.inject(
        Fault::Latency(Duration::from_millis(100)),
        Scope::Feishu,
        1000,
    );
    let path = env.path("in.jsonl");
    write_lines(&path, &feishu_lines(200, true));
    let journal_path = env.path("journal.jsonl");
    let child = env
        .helpdesk_std("feishu")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            "4",
            "--journal",
        ])
        .arg(&journal_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_outcomes(&journal_path, 8);
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "helpdesk: interrupted; finishing the updates in flight (SIG{signal};"
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every update that was started has its outcome in the journal.
    let records = journal(&journal_path);
    let started: std::collections::BTreeSet<u64> = records
        .iter()
        .filter(|r| r["outcome"] == "sending")
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let finished: std::collections::BTreeSet<u64> = records
        .iter()
        .filter(|r| r["outcome"] == "applied")
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(started, finished);
    assert!(finished.len() < 200, "the run stopped early");
    // What the journal says landed is exactly what the sandbox holds.
    let counts = env.sb.comment_counts();
    assert_eq!(counts.len(), finished.len());
    assert!(counts.values().all(|n| *n == 1));
}

#[test]
fn rate_limited_engagelab_loses_nothing() {
    let builder = (1..=40).fold(
        Sandbox::builder().rate_limit(Provider::EngageLab, 15),
        |b, i| b.seed_engagelab_default(format!("e{i}")),
    );
    let env = Env::start(builder);
    let path = env.path("in.jsonl");
    let lines: Vec<String> = (1..=40)
        .map(|i| {
            format!(
                r#"{{"ticket_id":"e{i}","title":"Migrated {i}","description":"Moved.","priority":"high"}}"#
            )
        })
        .collect();
    write_lines(&path, &lines);
    let out = env
        .helpdesk("engagelab")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--concurrency",
            "6",
            "--output",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["applied"], 40);
    assert!(
        env.sb.stats().rate_limited > 0,
        "the bucket (15/s) must have refused some"
    );
    assert_eq!(report["rate_limited_answers"], env.sb.stats().rate_limited);
    // EngageLab states no limit: only the shared waits, no adopted rate.
    assert_eq!(report["adopted_rate_per_sec"], Value::Null);
    for i in 1..=40 {
        let t = env.sb.engagelab_ticket(&format!("e{i}")).unwrap();
        assert_eq!(t.title, format!("Migrated {i}"));
    }
}
