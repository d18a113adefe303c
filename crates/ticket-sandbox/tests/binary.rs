//! The `ticket-sandbox` binary as a process: its flags for the modes and the read pace reach
//! the running server.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn get_json(url: String) -> Value {
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    serde_json::from_str(&body).unwrap()
}

#[test]
fn flags_set_the_modes_and_the_read_pace() {
    let child = Command::new(env!("CARGO_BIN_EXE_ticket-sandbox"))
        .args([
            "--port",
            "0",
            "--engagelab-omitted-priority",
            "keep",
            "--engagelab-get-paths",
            "api",
            "--rate-limit",
            "feishu=100/s",
            "--feishu-get-rate-limit",
            "3",
            "--tenant-token-ttl-secs",
            "900",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    // Keep reading the banner to its end: a closed pipe would fail the server's later prints.
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let drain = std::thread::spawn(move || lines.for_each(drop));
    let base = first
        .trim()
        .strip_prefix("ticket-sandbox listening on ")
        .unwrap_or_else(|| panic!("unexpected banner: {first:?}"))
        .to_owned();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(
            get_json(format!("{base}/__sandbox/modes")).await,
            json!({"engagelab_omitted_priority": "keep", "engagelab_get_paths": "api"})
        );
        assert_eq!(
            get_json(format!("{base}/__sandbox/rate_limit")).await,
            json!({"engagelab": null, "feishu": 100, "feishu_get": 3})
        );
        let token = reqwest::Client::new()
            .post(format!(
                "{base}/open-apis/auth/v3/tenant_access_token/internal"
            ))
            .body(r#"{"app_id":"cli_sandbox_app","app_secret":"sandbox-app-secret"}"#)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token: Value = serde_json::from_str(&token).unwrap();
        // Shorter than the 30-minute renew window: a new token for the whole lifetime.
        assert_eq!(token["expire"], 900, "{token}");
    });
    drop(server);
    drain.join().unwrap();
}
