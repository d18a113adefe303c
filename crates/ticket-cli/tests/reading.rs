//! `helpdesk get`, and `--merge`, `--verify` and `--plan` on `update` and `apply`, as real
//! processes against a real sandbox.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use ticket_sandbox::{
    DropTarget, EngageLabTicket, Fault, FeishuTicket, OmittedPriority, Provider, Sandbox, Scope,
};

fn urgent() -> EngageLabTicket {
    EngageLabTicket::new("Printer jam", "A4 stuck in tray 2.")
        .with_priority("urgent")
        .with_tags(["printer"])
        .with_custom_field("device_sn", "PRN-1")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_secret(env: &Env, out: &std::process::Output) {
    let text = text(out);
    let c = env.sb.credentials();
    let mut forbidden = secrets(&env.sb);
    forbidden.push(c.feishu_app_secret.clone());
    forbidden.push(c.feishu_tenant_access_token.clone());
    forbidden.push(env.sb.current_tenant_access_token());
    for s in forbidden {
        assert!(!text.contains(&s), "secret {s:?} printed:\n{text}");
    }
}

/// A tag-only update with `--merge` keeps title, description and the urgent priority,
/// whether the sandbox resets an omitted priority (the document's reading) or keeps it; the
/// same without `--merge` is refused with both remedies named, and sends nothing.
#[test]
fn a_tag_only_update_with_merge_keeps_title_description_and_priority_in_both_modes() {
    for mode in [OmittedPriority::Reset, OmittedPriority::Keep] {
        let env = Env::start(
            Sandbox::builder()
                .engagelab_omitted_priority(mode)
                .seed_engagelab("tk_1", urgent()),
        );
        env.helpdesk("engagelab")
            .args(["update", "tk_1", "--tag", "vip"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("title, description"))
            .stderr(predicate::str::contains("use merge mode"));
        assert_eq!(env.vendor_requests(), 0);
        let out = env
            .helpdesk("engagelab")
            .args(["update", "tk_1", "--merge", "--add-tag", "vip"])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "kept from the ticket: title, description, priority",
            ))
            .get_output()
            .clone();
        assert_no_secret(&env, &out);
        let t = env.sb.engagelab_ticket("tk_1").unwrap();
        assert_eq!(
            (
                t.title.as_str(),
                t.description.as_str(),
                t.priority.as_str()
            ),
            ("Printer jam", "A4 stuck in tray 2.", "urgent"),
            "{mode:?}"
        );
        assert_eq!(t.tags, ["printer", "vip"]);
        assert_eq!(t.custom_fields["device_sn"], "PRN-1");
        let stats = env.sb.stats();
        assert_eq!((stats.engagelab_gets, stats.engagelab_puts), (1, 1));
    }
}

/// The sandbox accepts the update but does not store the priority: `--verify` names exactly
/// that field, with what was sent and found, and exits 1.
#[test]
fn verify_reports_exactly_the_field_the_sandbox_dropped() {
    let env = Env::start(Sandbox::builder().seed_engagelab("tk_1", urgent().with_priority("low")));
    env.sb.inject(
        Fault::SilentDrop(DropTarget::new(Provider::EngageLab, "priority").unwrap()),
        Scope::Ticket("tk_1".into()),
        1,
    );
    env.helpdesk("engagelab")
        .args([
            "update",
            "tk_1",
            "--merge",
            "--priority",
            "urgent",
            "--add-tag",
            "escalated",
            "--verify",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "did not land: priority: sent urgent, found low",
        ))
        .stdout(predicate::str::contains(
            "verified: title, description, tags",
        ));
    // In JSON: the receipt's verification.
    env.sb.inject(
        Fault::SilentDrop(DropTarget::new(Provider::EngageLab, "priority").unwrap()),
        Scope::Ticket("tk_1".into()),
        1,
    );
    let out = env
        .helpdesk("engagelab")
        .args([
            "update",
            "tk_1",
            "--merge",
            "--priority",
            "high",
            "--verify",
            "--output",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let drifted = v["receipt"]["verification"]["drifted"].as_array().unwrap();
    assert_eq!(drifted.len(), 1, "{v}");
    assert_eq!(drifted[0]["field"], "priority");
    assert_eq!(
        (drifted[0]["sent"].as_str(), drifted[0]["found"].as_str()),
        (Some("high"), Some("low"))
    );
    assert_eq!(
        v["receipt"]["merge"]["filled"],
        serde_json::json!(["title", "description"])
    );
}

/// `get` in text and JSON.
#[test]
fn get_shows_the_ticket() {
    let env = Env::start(Sandbox::builder().seed_engagelab("tk_1", urgent()));
    env.helpdesk("engagelab")
        .args(["get", "tk_1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ticket tk_1 on engagelab"))
        .stdout(predicate::str::contains("priority     urgent"))
        .stdout(predicate::str::contains("device_sn = PRN-1"));
    let out = env
        .helpdesk("engagelab")
        .args(["get", "tk_1", "--output", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ticket"]["title"], "Printer jam");
    assert_eq!(v["ticket"]["tags"], serde_json::json!(["printer"]));
    assert_eq!(v["ticket"]["raw"]["priority"], "urgent");
    env.helpdesk("engagelab")
        .args(["get", "missing"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not found"));
    assert_eq!(env.sb.stats().engagelab_puts, 0);
}

/// Feishu: `get` and `--verify` read with a tenant token, never the user token; without the
/// app's credentials reading is a configuration error naming the keys (exit 2), and the
/// update still works.
#[test]
fn feishu_reads_use_the_tenant_token_and_need_the_app_credentials() {
    let env =
        Env::start(Sandbox::builder().seed_feishu("7001", FeishuTicket::default().with_status(52)));
    let c = env.sb.credentials().clone();
    let app = [
        ("TICKET_FEISHU_APP_ID", c.feishu_app_id.as_str()),
        ("TICKET_FEISHU_APP_SECRET", c.feishu_app_secret.as_str()),
        ("TICKET_FEISHU_USER_TOKEN", "static"),
    ];
    let out = env
        .helpdesk("feishu")
        .envs(app)
        .args(["get", "7001"])
        .assert()
        .success()
        .stdout(predicate::str::contains("closed (feishu:closed_by_user)"))
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    let out = env
        .helpdesk("feishu")
        .envs(app)
        .args([
            "update",
            "7001",
            "--status",
            "in_progress",
            "--add-tag",
            "vip",
            "--merge",
            "--verify",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("verified: tags, status"))
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    let stats = env.sb.stats();
    assert_eq!(stats.feishu_gets, 3);
    assert_eq!(stats.feishu_gets_tenant_token, 3);
    assert_eq!(stats.feishu_gets_user_token, 0);
    assert_eq!(stats.feishu_puts_user_token, 1);

    for args in [
        vec!["get", "7001"],
        vec!["update", "7001", "--tag", "x", "--verify"],
        vec!["update", "7001", "--merge", "--add-tag", "x"],
    ] {
        env.helpdesk("feishu")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("`app_id` and `app_secret`"));
    }
    env.helpdesk("feishu")
        .args(["update", "7001", "--tag", "x"])
        .assert()
        .success();
    let stats = env.sb.stats();
    assert_eq!(
        (stats.feishu_gets, stats.feishu_puts),
        (3, 2),
        "nothing read without the app"
    );
}

/// `apply --plan` over 1,000 lines sends no update, and its summary matches the sandbox:
/// the tickets that would change are exactly those whose state differs from their line.
#[test]
fn apply_plan_over_a_thousand_lines_sends_nothing_and_counts_right() {
    let mut builder = Sandbox::builder();
    for i in 0..1000 {
        // Every third ticket already holds what its line sets.
        let priority = if i % 3 == 0 { "urgent" } else { "high" };
        builder = builder.seed_engagelab(
            format!("tk_{i}"),
            EngageLabTicket::new(format!("T{i}"), "D").with_priority(priority),
        );
    }
    let env = Env::start(builder);
    let lines: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"ticket_id":"tk_{i}","priority":"urgent"}}"#))
        .collect();
    let file = env.path("plan.jsonl");
    write_lines(&file, &lines);
    let out = env
        .helpdesk("engagelab")
        .args([
            "apply",
            file.to_str().unwrap(),
            "--merge",
            "--plan",
            "--output",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected_changes = (0..1000).filter(|i| i % 3 != 0).count() as u64;
    assert_eq!(v["would_change"], expected_changes);
    assert_eq!(v["up_to_date"], 1000 - expected_changes);
    assert_eq!(v["read_failed"], 0);
    let plans = v["plan"].as_array().unwrap();
    assert_eq!(plans.len(), 1000);
    let changed: Vec<&Value> = plans
        .iter()
        .filter(|p| !p["changes"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(changed.len() as u64, expected_changes);
    assert_eq!(changed[0]["ticket_id"], "tk_1");
    assert_eq!(changed[0]["changes"][0]["field"], "priority");
    assert_eq!(
        (
            changed[0]["changes"][0]["current"].as_str(),
            changed[0]["changes"][0]["new"].as_str()
        ),
        (Some("high"), Some("urgent"))
    );
    let stats = env.sb.stats();
    assert_eq!(stats.engagelab_puts, 0, "a plan sends no update");
    assert_eq!(stats.engagelab_gets, 1000);
    // The text form: terraform-like lines and the same summary.
    env.helpdesk("engagelab")
        .args(["apply", file.to_str().unwrap(), "--merge", "--plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("~ ticket tk_1\n    ~ priority: high → urgent\n    (kept from the ticket: title, description)"))
        .stdout(predicate::str::contains(format!(
            "Plan: {expected_changes} ticket(s) would change, {} already up to date, 0 could not be read; nothing was sent.",
            1000 - expected_changes
        )));
    assert_eq!(env.sb.stats().engagelab_puts, 0);
}

/// `update --plan`: current → new for one ticket, tag by tag.
#[test]
fn update_plan_shows_current_and_new() {
    let env = Env::start(
        Sandbox::builder().seed_engagelab("tk_1", urgent().with_tags(["printer", "old"])),
    );
    env.helpdesk("engagelab")
        .args([
            "update", "tk_1", "--merge", "--priority", "high", "--add-tag", "vip", "--remove-tag",
            "old", "--unset-custom-field", "device_sn", "--plan",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "~ ticket tk_1\n    ~ priority: urgent → high\n    + tag vip\n    - tag old\n    - custom_fields.device_sn (was PRN-1)\n    (kept from the ticket: title, description)\nPlan: 1 ticket(s) would change, 0 already up to date; nothing was sent.",
        ));
    assert_eq!(env.sb.stats().engagelab_puts, 0);
}

/// `apply --merge --verify`: the journal carries each verification, the summary counts the
/// drifts, and a drift makes the exit code 1.
#[test]
fn apply_verify_journals_each_verification_and_counts_the_drifts() {
    let mut builder = Sandbox::builder();
    for i in 0..5 {
        builder = builder.seed_engagelab(format!("tk_{i}"), urgent());
    }
    let env = Env::start(builder);
    env.sb.inject(
        Fault::SilentDrop(DropTarget::new(Provider::EngageLab, "tags.vip").unwrap()),
        Scope::Ticket("tk_3".into()),
        1,
    );
    let lines: Vec<String> = (0..5)
        .map(|i| format!(r#"{{"ticket_id":"tk_{i}","add_tags":["vip"]}}"#))
        .collect();
    let file = env.path("in.jsonl");
    let journal_path = env.path("journal.jsonl");
    write_lines(&file, &lines);
    let out = env
        .helpdesk("engagelab")
        .args([
            "apply",
            file.to_str().unwrap(),
            "--merge",
            "--verify",
            "--journal",
            journal_path.to_str().unwrap(),
            "--output",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["applied"], 5);
    assert_eq!(report["verified"], 4);
    let drifted = report["drifted"].as_array().unwrap();
    assert_eq!(drifted.len(), 1);
    assert_eq!(drifted[0]["ticket_id"], "tk_3");
    assert_eq!(drifted[0]["drifted"][0]["field"], "tags");
    assert!(text(&out).contains("line 4: ticket tk_3: applied, but did not land: tags"));
    let records = journal(&journal_path);
    let applied: Vec<&Value> = records
        .iter()
        .filter(|r| r["outcome"] == "applied")
        .collect();
    assert_eq!(applied.len(), 5);
    for r in &applied {
        let v = &r["verification"];
        let expected_drift = usize::from(r["ticket_id"] == "tk_3");
        assert_eq!(
            v["drifted"].as_array().unwrap().len(),
            expected_drift,
            "{r}"
        );
    }
    for i in 0..5 {
        let t = env.sb.engagelab_ticket(&format!("tk_{i}")).unwrap();
        assert_eq!(t.priority, "urgent");
    }
}

/// Feishu's reads are limited to 10/s (the sandbox's rate-limit mode enforces it): `apply
/// --plan` paces its reads at the provider's documented rate, waits out any refusal at the
/// shared gate, and reads every ticket with the tenant token.
#[test]
fn feishu_plan_reads_are_paced_and_every_ticket_is_read() {
    let mut builder = Sandbox::builder().rate_limit(Provider::Feishu, 100);
    for i in 0..25 {
        builder = builder.seed_feishu_default(format!("70{i:02}"));
    }
    let env = Env::start(builder);
    let c = env.sb.credentials().clone();
    let lines: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"ticket_id":"70{i:02}","status":"on_hold"}}"#))
        .collect();
    let file = env.path("plan.jsonl");
    write_lines(&file, &lines);
    let out = env
        .helpdesk("feishu")
        .env("TICKET_FEISHU_APP_ID", &c.feishu_app_id)
        .env("TICKET_FEISHU_APP_SECRET", &c.feishu_app_secret)
        .env("TICKET_FEISHU_USER_TOKEN", "static")
        .args([
            "apply",
            file.to_str().unwrap(),
            "--plan",
            "--concurrency",
            "16",
            "--output",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["would_change"].as_u64(), v["read_failed"].as_u64()),
        (Some(25), Some(0))
    );
    assert_eq!(v["plan"][0]["changes"][0]["field"], "status");
    let stats = env.sb.stats();
    // Every ticket read (a read refused as rate limited is sent again after the wait).
    assert_eq!(stats.feishu_gets, 25 + stats.rate_limited);
    assert_eq!(stats.feishu_gets_user_token, 0);
    assert_eq!(stats.feishu_puts, 0);
    assert_no_secret(&env, &out);
}
