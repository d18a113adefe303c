//! Helpers: a sandbox on its own runtime, and `helpdesk` processes configured for it.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ticket_sandbox::{Provider, Sandbox, SandboxBuilder};
use tokio::runtime::Runtime;

/// Every credential the sandbox accepts, as the strings a leak check looks for.
pub fn secrets(sb: &Sandbox) -> Vec<String> {
    let c = sb.credentials();
    vec![
        c.engagelab_api_secret.clone(),
        c.engagelab_authorization(),
        c.feishu_user_access_token.clone(),
        c.feishu_helpdesk_token.clone(),
        c.feishu_helpdesk_authorization(),
    ]
}

/// A running sandbox; the test thread stays free to run processes.
pub struct Env {
    pub sb: Sandbox,
    pub rt: Runtime,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn start(builder: SandboxBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sb = rt.block_on(builder.start()).unwrap();
        Self {
            sb,
            rt,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The environment that configures `provider` (`feishu` or `engagelab`) against this
    /// sandbox: [`Sandbox::env_vars`].
    pub fn vars(&self, provider: &str) -> Vec<(String, String)> {
        let provider: Provider = provider.parse().unwrap();
        self.sb.env_vars(provider)
    }

    /// `helpdesk` configured for `provider` from a clean environment.
    pub fn helpdesk(&self, provider: &str) -> Command {
        let mut cmd = Command::cargo_bin("helpdesk").unwrap();
        cmd.env_clear().envs(self.vars(provider));
        cmd
    }

    /// The same as a plain `std::process::Command`, for tests that signal the process.
    pub fn helpdesk_std(&self, provider: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("helpdesk"));
        cmd.env_clear().envs(self.vars(provider));
        cmd
    }

    /// Requests the sandbox received on either provider's routes.
    pub fn vendor_requests(&self) -> u64 {
        let s = self.sb.stats();
        s.engagelab_requests + s.feishu_requests + s.token_refresh_requests
    }
}

/// Writes `lines` as a JSON Lines file.
pub fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// The journal's records.
pub fn journal(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Polls (no timing assertion: up to a minute, then a failure) until the journal holds at
/// least `n` records that `pick` accepts; `what` names them in the failure.
pub fn wait_for_records(
    path: &Path,
    n: usize,
    what: &str,
    pick: impl Fn(&serde_json::Value) -> bool,
) {
    for _ in 0..6000 {
        if journal(path).iter().filter(|r| pick(r)).count() >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the journal never reached {n} {what}");
}

/// [`wait_for_records`] of final outcomes (anything but `sending`).
pub fn wait_for_outcomes(path: &Path, n: usize) {
    wait_for_records(path, n, "outcomes", |r| r["outcome"] != "sending");
}

/// The tickets the sandbox received a PUT for.
pub fn put_tickets(env: &Env) -> std::collections::BTreeSet<String> {
    env.sb
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect()
}

/// Input line numbers a resumed run held (outcome unknown, with a comment), from its stderr.
pub fn held(stderr: &str) -> std::collections::BTreeSet<u64> {
    stderr
        .lines()
        .filter(|l| l.contains("outcome unknown and it carries a comment"))
        .map(|l| {
            l.strip_prefix("line ")
                .and_then(|r| r.split(':').next())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}
