//! `helpdesk` retries with the library's policy, so the user's `max_retries` and `retry_*`
//! keys apply to it (a real process against a real sandbox with injected faults).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use ticket_sandbox::{Fault, Sandbox, Scope};

/// Runs `helpdesk update` of EngageLab ticket `e1` with `vars` set; the JSON output.
fn engagelab_update(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> (Option<i32>, Value) {
    let out = env
        .helpdesk("engagelab")
        .envs(vars.iter().copied())
        .args([
            "update",
            "e1",
            "--title",
            "Printer on fire",
            "--description",
            "Smoke.",
            "--priority",
            "high",
            "--output",
            "json",
        ])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json)
}

fn always_busy(env: &Env, scope: Scope) {
    env.sb
        .inject(Fault::ServerError { status: 503 }, scope, 1000);
}

#[test]
fn max_retries_key_bounds_the_attempts_of_update() {
    for (retries, expected) in [("0", 1u64), ("2", 3)] {
        let env = Env::start(Sandbox::builder().seed_engagelab_default("e1"));
        always_busy(&env, Scope::EngageLab);
        let (code, out) = engagelab_update(
            &env,
            &[
                ("TICKET_ENGAGELAB_MAX_RETRIES", retries),
                ("TICKET_ENGAGELAB_RETRY_INITIAL_BACKOFF_MS", "1"),
            ],
            &[],
        );
        assert_eq!(code, Some(1), "{out}");
        assert_eq!(out["outcome"], "failed");
        assert_eq!(out["attempts"], expected, "max_retries {retries}");
        assert_eq!(
            env.sb.stats().engagelab_requests,
            expected,
            "max_retries {retries}"
        );
    }
}

/// `--max-retries` replaces the key for one run.
#[test]
fn the_max_retries_flag_overrides_the_key() {
    let env = Env::start(Sandbox::builder().seed_engagelab_default("e1"));
    always_busy(&env, Scope::EngageLab);
    let (code, out) = engagelab_update(
        &env,
        &[
            ("TICKET_ENGAGELAB_MAX_RETRIES", "0"),
            ("TICKET_ENGAGELAB_RETRY_INITIAL_BACKOFF_MS", "1"),
        ],
        &["--max-retries", "1"],
    );
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out["attempts"], 2);
    assert_eq!(env.sb.stats().engagelab_requests, 2);
}

#[test]
fn max_retries_key_bounds_the_attempts_of_apply() {
    let env = Env::start(Sandbox::builder().seed_feishu_default("t1"));
    always_busy(&env, Scope::Feishu);
    let path = env.path("in.jsonl");
    write_lines(
        &path,
        &[r#"{"ticket_id":"t1","status":"in_progress"}"#.to_owned()],
    );
    let journal_path = env.path("journal.jsonl");
    let out = env
        .helpdesk("feishu")
        .env("TICKET_FEISHU_MAX_RETRIES", "2")
        .env("TICKET_FEISHU_RETRY_INITIAL_BACKOFF_MS", "1")
        .args(["apply", path.to_str().unwrap(), "--output", "json"])
        .arg("--journal")
        .arg(&journal_path)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 1);
    assert_eq!(env.sb.stats().feishu_requests, 3);
    let records = journal(&journal_path);
    let outcome = records.iter().find(|r| r["outcome"] == "failed").unwrap();
    assert_eq!(outcome["attempts"], 3);
}

/// A server's wait longer than `retry_budget_ms` ends the update at once; with the default
/// budget the same wait is waited out.
#[test]
fn retry_budget_ms_is_honoured() {
    let run = |budget: Option<&str>| {
        let env = Env::start(Sandbox::builder().seed_engagelab_default("e1"));
        env.sb
            .inject(Fault::RateLimit { reset_secs: 2 }, Scope::EngageLab, 1);
        let mut vars = vec![("TICKET_ENGAGELAB_REQUEST_TIMEOUT_MS", "1000")];
        if let Some(budget) = budget {
            vars.push(("TICKET_ENGAGELAB_RETRY_BUDGET_MS", budget));
        }
        let (code, out) = engagelab_update(&env, &vars, &[]);
        (code, out, env.sb.stats().engagelab_requests)
    };
    let (code, out, requests) = run(Some("1000"));
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out["error"]["kind"], "RateLimited");
    assert_eq!(requests, 1, "gave up without a retry");
    let (code, out, requests) = run(None);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out["receipt"]["attempts"], 2);
    assert_eq!(requests, 2);
}

/// A Feishu comment whose answer was a 500 may have landed: not re-sent and reported
/// "unknown" by default; re-sent when the user opted in with `retry_non_idempotent`.
#[test]
fn retry_non_idempotent_is_honoured_for_a_feishu_comment() {
    for (opt_in, requests) in [(None, 1u64), (Some("true"), 2)] {
        let env = Env::start(Sandbox::builder().seed_feishu_default("t1"));
        env.sb
            .inject(Fault::ServerError { status: 500 }, Scope::Feishu, 1);
        let mut cmd = env.helpdesk("feishu");
        cmd.env("TICKET_FEISHU_RETRY_INITIAL_BACKOFF_MS", "1");
        if let Some(on) = opt_in {
            cmd.env("TICKET_FEISHU_RETRY_NON_IDEMPOTENT", on);
        }
        let out = cmd
            .args([
                "update",
                "t1",
                "--comment",
                "Looked at it",
                "--output",
                "json",
            ])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(env.sb.stats().feishu_requests, requests, "{json}");
        match opt_in {
            None => {
                assert_eq!(out.status.code(), Some(1), "{json}");
                assert_eq!(json["outcome"], "unknown");
                assert!(env.sb.comment_counts().is_empty());
            }
            Some(_) => {
                assert_eq!(out.status.code(), Some(0), "{json}");
                assert_eq!(env.sb.comment_counts().values().sum::<usize>(), 1);
            }
        }
    }
}
