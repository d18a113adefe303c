//! Shared set-up of the workspace's integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpdesk::{Priority, TicketId, TicketStatus, TicketUpdate, TicketUpdater};
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use ticket_http::{HttpOptions, RetryPolicy};

pub mod observe;
pub mod spans;
pub mod tls_server;

pub const EL_KEY: &str = "el-key-5d1e0c";
pub const EL_SECRET: &str = "el-secret-9a3b77";
pub const FS_TOKEN: &str = "u-static-3f9a1c";
pub const FS_HELPDESK_ID: &str = "7012345678";
pub const FS_HELPDESK_TOKEN: &str = "ht-8e2d4b6f";

/// A success that names no ticket (so it answers an update of any id).
pub const EL_OK: &str =
    r#"{"code":0,"message":"Success","data":{"updated_at":"2025-11-04T10:30:00+08:00"}}"#;
pub const FS_OK: &str = r#"{"code":0,"msg":"success","data":{}}"#;

/// `retries` quick retries without jitter, and timeouts that no loaded machine reaches on
/// loopback: an answer must never be cut short into a timeout.
pub fn fast(retries: u32) -> HttpOptions {
    HttpOptions::default()
        .connect_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(10))
        .retry(
            RetryPolicy::default()
                .max_retries(retries)
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(50))
                .jitter(false),
        )
}

/// The per-attempt timeout against a server that never answers (there is no answer to cut
/// short, so it may be short).
pub const SILENCE_TIMEOUT: Duration = Duration::from_millis(400);

/// [`fast`], with [`SILENCE_TIMEOUT`]: only for servers that never answer.
pub fn against_silence(retries: u32) -> HttpOptions {
    fast(retries).request_timeout(SILENCE_TIMEOUT)
}

/// [`fast`], for a server that hangs on one attempt and answers the next: the timeout must
/// end the hang and never the answer, so it is some thousand times a loopback answer.
pub fn hang_then_answer(retries: u32) -> HttpOptions {
    fast(retries).request_timeout(Duration::from_secs(5))
}

pub fn engagelab(url: &str, http: HttpOptions) -> Arc<dyn TicketUpdater> {
    let config = EngageLabConfig::new(EL_KEY, EL_SECRET)
        .unwrap()
        .with_base_url(url)
        .unwrap()
        .with_http_options(http);
    Arc::new(EngageLabClient::new(config).unwrap())
}

pub fn feishu(url: &str, http: HttpOptions) -> Arc<dyn TicketUpdater> {
    let config = FeishuConfig::with_static_token(FS_TOKEN, FS_HELPDESK_ID, FS_HELPDESK_TOKEN)
        .unwrap()
        .with_base_url(url)
        .unwrap()
        .with_http_options(http);
    Arc::new(FeishuClient::new(config).unwrap())
}

/// An update each provider accepts.
pub fn update_for(provider: &str) -> TicketUpdate {
    match provider {
        "engagelab" => TicketUpdate::builder()
            .title("Printer jammed")
            .description("Paper stuck.")
            .priority(Priority::High)
            .build()
            .unwrap(),
        // No comment: a comment is not idempotent and is not retried after a 5xx
        // (tests/no_duplicate_comments.rs); these tests exercise retries in general.
        _ => TicketUpdate::builder()
            .status(TicketStatus::InProgress)
            .tag("printer")
            .build()
            .unwrap(),
    }
}

pub fn id(text: &str) -> TicketId {
    TicketId::new(text).unwrap()
}

/// Every configured secret, including the base64 header forms.
pub fn secrets() -> Vec<String> {
    use base64_like::encode;
    vec![
        EL_KEY.into(),
        EL_SECRET.into(),
        FS_TOKEN.into(),
        FS_HELPDESK_TOKEN.into(),
        encode(&format!("{EL_KEY}:{EL_SECRET}")),
        encode(&format!("{FS_HELPDESK_ID}:{FS_HELPDESK_TOKEN}")),
    ]
}

/// Standard base64, enough for the tests (avoids a dependency).
mod base64_like {
    pub fn encode(text: &str) -> String {
        const TABLE: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// The update the Feishu token tests send: a status change every seeded ticket accepts.
pub fn in_progress() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .build()
        .unwrap()
}

/// A sandbox seeded with the default Feishu ticket `ticket`, its tokens living `ttl` (the
/// sandbox's default when `None`).
pub async fn feishu_sandbox(ticket: &str, ttl: Option<Duration>) -> ticket_sandbox::Sandbox {
    let mut builder = ticket_sandbox::Sandbox::builder().seed_feishu_default(ticket);
    if let Some(ttl) = ttl {
        builder = builder.token_ttl(ttl);
    }
    builder.start().await.unwrap()
}

/// A refreshing token source for `sb`'s app and its first refresh token, aimed at `sb`.
pub fn refreshing(sb: &ticket_sandbox::Sandbox) -> provider_feishu::RefreshingTokenBuilder {
    let c = sb.credentials();
    provider_feishu::RefreshingToken::builder(
        &c.feishu_app_id,
        &c.feishu_app_secret,
        &c.feishu_refresh_token,
    )
    .base_url(sb.base_url())
}

/// A Feishu client of `sb`'s helpdesk whose user tokens come from `source`.
pub fn feishu_client(
    sb: &ticket_sandbox::Sandbox,
    source: Arc<dyn provider_feishu::UserTokenSource>,
) -> Arc<dyn TicketUpdater> {
    let c = sb.credentials();
    let config = FeishuConfig::new(source, &c.feishu_helpdesk_id, &c.feishu_helpdesk_token)
        .unwrap()
        .with_base_url(&sb.base_url())
        .unwrap();
    Arc::new(FeishuClient::new(config).unwrap())
}

/// A `Write` sink that keeps everything written to it.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        self.text_from(0)
    }

    /// How many bytes have been written so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// What was written after the first `start` bytes.
    pub fn text_from(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[start..]).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The TRACE logs of the whole test binary (ours, and reqwest's and hyper's through the `log`
/// bridge), captured from the first call on: the formatted events, and every span field as
/// created and as recorded later ([`spans::Spans`]).
pub fn trace_logs() -> &'static Capture {
    use tracing_subscriber::layer::SubscriberExt as _;
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .with(spans::Spans::writing_to(capture.clone()));
        tracing::subscriber::set_global_default(subscriber).unwrap();
        tracing_log::LogTracer::init().unwrap();
        capture
    })
}

/// The metrics of the whole test binary, from the first call on (a global debugging recorder).
pub fn metrics_capture() -> &'static metrics_util::debugging::Snapshotter {
    static SNAPSHOTTER: std::sync::OnceLock<metrics_util::debugging::Snapshotter> =
        std::sync::OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::set_global_recorder(recorder).unwrap();
        snapshotter
    })
}

/// Every metric recorded so far (see [`metrics_capture`]) as `name{label=value,…}` lines.
pub fn metric_labels() -> String {
    let mut out = String::new();
    for (key, _, _, _) in metrics_capture().snapshot().into_vec() {
        let key = key.key();
        out.push_str(key.name());
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        out.push_str(&format!("{{{}}}\n", labels.join(",")));
    }
    out
}

// ---- The token-store tests' processes: child processes, the facade's settings, Redis ----------
//
// A child process is the test binary run again on its `#[ignore]`d test `child`, with
// `TOKEN_STORE_CHILD` saying what to do; it prints `CHILD …` lines on stderr for the parent.

/// The facade settings of a refreshing Feishu token aimed at `sb`, as `TICKET_*` variables,
/// plus `store` (keys without the `feishu.` prefix, such as `refresh_token_file`).
pub fn feishu_env(sb: &ticket_sandbox::Sandbox, store: &[(&str, String)]) -> Vec<(String, String)> {
    let mut vars = sb.feishu_refreshing_env_vars();
    for (key, value) in store {
        vars.push((
            format!("TICKET_FEISHU_{}", key.to_uppercase()),
            value.clone(),
        ));
    }
    vars
}

/// Updates ticket "1" every 20 ms for `run`; returns (successes, failures as text).
pub async fn update_loop(updater: Arc<dyn TicketUpdater>, run: Duration) -> (u64, Vec<String>) {
    let started = Instant::now();
    let (mut ok, mut failed) = (0, Vec::new());
    while started.elapsed() < run {
        match updater.update(&id("1"), &in_progress()).await {
            Ok(_) => ok += 1,
            Err(e) => failed.push(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (ok, failed)
}

/// Polls `done` every 20 ms until it holds; fails after a generous minute (a deadline against a
/// hang, not a timed assertion).
pub async fn poll_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs this test binary again as a child in `mode`, with `vars` and `extra` in its
/// environment, stdin piped (for modes that wait for a word from the parent) and stderr piped
/// (for [`child_lines`]).
pub fn spawn_child(mode: &str, vars: &[(String, String)], extra: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TOKEN_STORE_CHILD", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        command.env(k, v);
    }
    for (k, v) in extra {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

/// The `CHILD …` lines a child printed, read until it exits or `until` is seen. Read on a
/// blocking thread: the sandbox must keep serving the child meanwhile.
pub async fn child_lines(child: &mut Child, until: Option<&'static str>) -> Vec<String> {
    let stderr = child.stderr.take().unwrap();
    tokio::task::spawn_blocking(move || read_child_lines(stderr, until))
        .await
        .unwrap()
}

fn read_child_lines(stderr: std::process::ChildStderr, until: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("CHILD ") {
            lines.push(rest.to_owned());
            if until.is_some_and(|u| rest.starts_with(u)) {
                break;
            }
        }
    }
    lines
}

/// The child mode `loop`: the facade from the environment updates ticket "1" every 20 ms for
/// `TOKEN_STORE_RUN_MS`, prints `CHILD failure …` for each failure and `CHILD done ok=… failed=…`,
/// and fails if any update did.
pub async fn loop_child() {
    let run = Duration::from_millis(
        std::env::var("TOKEN_STORE_RUN_MS")
            .unwrap()
            .parse()
            .unwrap(),
    );
    let updater = helpdesk::connect(&helpdesk::Config::from_env()).unwrap();
    let (ok, failed) = update_loop(updater, run).await;
    for f in &failed {
        eprintln!("CHILD failure {f}");
    }
    eprintln!("CHILD done ok={ok} failed={}", failed.len());
    assert!(failed.is_empty());
}

/// A `redis-server` on a loopback port, killed when dropped ([`ticket_sandbox::RedisServer`],
/// with the data directory of a persistent one).
pub struct Redis {
    server: ticket_sandbox::RedisServer,
    /// `redis://[:password@]127.0.0.1:PORT/`.
    pub url: String,
    /// The port, kept across [`Redis::restart`].
    pub port: u16,
    /// The data directory of a persistent server.
    _dir: Option<tempfile::TempDir>,
}

impl Redis {
    /// SIGKILL, as a crash would (a persistent server keeps what it had written).
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the server again on the same port with the same settings; waits until it listens.
    pub fn restart(&mut self) {
        self.server.restart().unwrap();
    }

    /// Runs `redis-cli` against this server (as in `redis-cli SET key value`).
    pub fn cli(&self, args: &[&str]) -> String {
        self.server.cli(args).unwrap()
    }
}

/// Starts `redis-server` on a free loopback port, without persistence or password. Where `CI`
/// is not set, `None` (skip) when it cannot start; where it is set at all, a panic.
pub fn start_redis() -> Option<Redis> {
    start_redis_with(false, None)
}

/// Starts `redis-server` on a free loopback port. `persistent`: an append-only file synced on
/// every write, in a directory of its own, so that a SIGKILLed server comes back with its data;
/// otherwise no persistence (a restarted server comes back empty). `password`: required from
/// clients. Where `CI` is not set, `None` (skip) when it cannot start; where it is set at
/// all, a panic.
pub fn start_redis_with(persistent: bool, password: Option<&str>) -> Option<Redis> {
    let dir = persistent.then(|| tempfile::tempdir().unwrap());
    match ticket_sandbox::RedisServer::start(dir.as_ref().map(|d| d.path()), password) {
        Ok(server) => Some(Redis {
            url: server.url().to_owned(),
            port: server.port(),
            server,
            _dir: dir,
        }),
        // Whatever its value (`true`, `1`, `yes`): a CI that has set it at all runs the test.
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and redis-server cannot start: {why}")
        }
        Err(why) => {
            eprintln!(
                "skipping: redis-server cannot start ({why}); install redis-server to run this test"
            );
            None
        }
    }
}
