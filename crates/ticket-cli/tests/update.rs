//! `helpdesk update`, `providers` and `config check` as real processes against a real sandbox.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use predicates::prelude::*;
use ticket_sandbox::Sandbox;

fn assert_no_secret(env: &Env, out: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in secrets(&env.sb) {
        assert!(!text.contains(&s), "secret {s:?} printed:\n{text}");
    }
}

#[test]
fn every_feishu_flag_lands() {
    let env = Env::start(Sandbox::builder().seed_feishu_default("6945345902185807891"));
    let out = env
        .helpdesk("feishu")
        .args([
            "update",
            "6945345902185807891",
            "--status",
            "in_progress",
            "--tag",
            "printer",
            "--tag",
            "hardware",
            "--custom-field",
            "6746384425543548981:device=PRN-1",
            "--solved=false",
            "--comment",
            "On it.",
            "--provider-field",
            "channel=3",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "updated 6945345902185807891 on feishu (request id ",
        ))
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    let t = env.sb.feishu_ticket("6945345902185807891").unwrap();
    assert_eq!(t.status, 2);
    assert_eq!(t.tag_names, ["printer", "hardware"]);
    assert_eq!(t.comments, ["On it."]);
    assert_eq!(t.solved, 1);
    assert_eq!(t.channel, 3);
    assert_eq!(t.customized_fields[0].value.as_deref(), Some("PRN-1"));
    assert_eq!(
        t.customized_fields[0].id.as_deref(),
        Some("6746384425543548981")
    );

    // --solved=false
    env.helpdesk("feishu")
        .args(["update", "6945345902185807891", "--solved=false"])
        .assert()
        .success();
    assert_eq!(
        env.sb.feishu_ticket("6945345902185807891").unwrap().solved,
        1
    );
}

#[test]
fn every_engagelab_flag_lands_and_json_output() {
    let env = Env::start(Sandbox::builder().seed_engagelab_default("tk_1"));
    let out = env
        .helpdesk("engagelab")
        .args([
            "update",
            "tk_1",
            "--title",
            "Printer jam",
            "--description",
            "Fixed.",
            "--priority",
            "urgent",
            "--kind",
            "incident",
            "--tag",
            "printer",
            "--custom-field",
            "device_sn=PRN-1",
            "--attachment",
            "https://files.example.invalid/a.png",
            "--output",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["receipt"]["provider"], "engagelab");
    assert_eq!(v["receipt"]["ticket_id"], "tk_1");
    assert_eq!(v["receipt"]["attempts"], 1);
    let t = env.sb.engagelab_ticket("tk_1").unwrap();
    assert_eq!(
        (
            t.title.as_str(),
            t.description.as_str(),
            t.priority.as_str()
        ),
        ("Printer jam", "Fixed.", "urgent")
    );
    assert_eq!(t.ticket_type.as_deref(), Some("incident"));
    assert_eq!(t.tags, ["printer"]);
    assert_eq!(t.custom_fields["device_sn"], "PRN-1");
    assert_eq!(
        t.attachments[0].file_url,
        "https://files.example.invalid/a.png"
    );
}

#[test]
fn lenient_drops_and_says_so() {
    let env = Env::start(Sandbox::builder().seed_feishu_default("1"));
    env.helpdesk("feishu")
        .args([
            "update",
            "1",
            "--status",
            "feishu:queued",
            "--title",
            "x",
            "--lenient",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("dropped as unsupported: title"));
    assert_eq!(env.sb.feishu_ticket("1").unwrap().status, 3);
}

#[test]
fn dry_run_sends_nothing_and_prints_no_secret() {
    let env = Env::start(Sandbox::builder().seed_feishu_default("1"));
    for output in ["text", "json"] {
        let out = env
            .helpdesk("feishu")
            .args([
                "update",
                "1",
                "--comment",
                "hello",
                "--dry-run",
                "--output",
                output,
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains("<redacted>"))
            .stdout(predicate::str::contains(r#"comment"#))
            .get_output()
            .clone();
        assert_no_secret(&env, &out);
    }
    assert_eq!(env.vendor_requests(), 0);
    assert!(env.sb.feishu_ticket("1").unwrap().comments.is_empty());
}

#[test]
fn bad_input_is_exit_2_and_nothing_sent() {
    let env = Env::start(Sandbox::builder().seed_feishu_default("1"));
    for args in [
        &["update", "1", "--title", "x"][..],   // unsupported on feishu
        &["update", "1", "--priority", "asap"], // bad value
        &["update", "1", "--custom-field", "novalue"], // not KEY=VALUE
        &["update", "1", "--provider-field", "channel=x"], // not JSON
        &["update", "1"],                       // nothing to send
        &["update", "1", "--unknown-flag"],     // usage
    ] {
        env.helpdesk("feishu").args(args).assert().code(2);
    }
    // No provider configured.
    let mut cmd = assert_cmd::Command::cargo_bin("helpdesk").unwrap();
    cmd.env_clear()
        .args(["update", "1", "--status", "feishu:queued"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("provider"));
    assert_eq!(env.vendor_requests(), 0);
}

#[test]
fn a_server_refusal_is_exit_1_without_secrets() {
    let env = Env::start(Sandbox::builder());
    let out = env
        .helpdesk("feishu")
        .args(["update", "missing", "--status", "feishu:queued"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not found"))
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    // Wrong credentials: the error names no secret either.
    let out = env
        .helpdesk("engagelab")
        .env("TICKET_ENGAGELAB_API_SECRET", "wrong-secret-value")
        .args([
            "update",
            "x",
            "--title",
            "t",
            "--description",
            "d",
            "--priority",
            "low",
            "--output",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wrong-secret-value"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "Unauthenticated");
}

#[test]
fn providers_lists_capabilities() {
    let mut cmd = assert_cmd::Command::cargo_bin("helpdesk").unwrap();
    let out = cmd
        .env_clear()
        .arg("providers")
        .assert()
        .success()
        .get_output()
        .clone();
    let rows: Vec<Vec<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows[0], ["field", "engagelab", "feishu"]);
    assert!(rows.contains(&vec!["comment".into(), "-".into(), "yes".into()]));
    assert!(rows.contains(&vec!["title".into(), "required".into(), "-".into()]));
    // An omitted priority would be reset: required too, unless --merge fills it.
    assert!(rows.contains(&vec!["priority".into(), "required".into(), "-".into()]));
    assert!(rows.contains(&vec!["read".into(), "yes".into(), "yes".into()]));
}

#[test]
fn config_check_redacts_and_connects() {
    let env = Env::start(Sandbox::builder());
    let out = env
        .helpdesk("engagelab")
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("api_key"))
        .stdout(predicate::str::contains("TICKET_ENGAGELAB_API_SECRET"))
        .stdout(predicate::str::contains("connects: yes"))
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    // A missing key is named, and the check fails.
    env.helpdesk("engagelab")
        .env_remove("TICKET_ENGAGELAB_API_SECRET")
        .args(["config", "check"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("connects: no"))
        .stdout(predicate::str::contains("TICKET_ENGAGELAB_API_SECRET"));
    // From a TOML file.
    let path = env.path("helpdesk.toml");
    std::fs::write(
        &path,
        format!(
            "provider = \"engagelab\"\n[engagelab]\napi_key = \"k\"\napi_secret = \"toml-secret\"\nbase_url = \"{}\"\n",
            env.sb.base_url()
        ),
    )
    .unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("helpdesk").unwrap();
    cmd.env_clear()
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("`[engagelab] api_secret`"))
        .stdout(predicate::str::contains("toml-secret").not());
    assert_eq!(env.vendor_requests(), 0);
}

#[test]
fn config_check_shows_and_redacts_values_by_the_key_table() {
    let env = Env::start(Sandbox::builder());
    let out = env
        .helpdesk("engagelab")
        .env("TICKET_ENGAGELAB_POOL_MAX_IDLE_PER_HOST", "7")
        .env("TICKET_ENGAGELAB_RETRY_NON_IDEMPOTENT", "false")
        .env(
            "TICKET_ENGAGELAB_PROXY",
            "http://u:proxy-pw-1@proxy.example:3128",
        )
        .env("TICKET_ENGAGELAB_API_SECERT", "typo-secret-1")
        .args(["config", "check"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_no_secret(&env, &out);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no line for {key}:\n{text}"))
            .to_owned()
    };
    // Not secret in the key table: shown (these were redacted by the old hand-kept list).
    assert!(line("pool_max_idle_per_host").contains(" 7 "), "{text}");
    assert!(line("retry_non_idempotent").contains(" false "), "{text}");
    // Secret, or unknown (a mistyped secret is still a secret): redacted.
    assert!(line("proxy").contains("<redacted>"), "{text}");
    let typo = line("api_secert");
    assert!(
        typo.contains("<redacted>") && typo.ends_with("(unknown key)"),
        "{text}"
    );
    assert!(!text.contains("proxy-pw-1") && !text.contains("typo-secret-1"));
    assert!(
        text.contains("connects: no: configuration error: unknown configuration key for provider `engagelab`: TICKET_ENGAGELAB_API_SECERT"),
        "{text}"
    );
    assert_eq!(env.vendor_requests(), 0);
}
