//! Feishu token sets shared through a token store: several facade instances in this process
//! and in child processes on one token file, a child killed between the refresh answer and the
//! save, Redis for several hosts, a store that cannot save, and the checks made at `connect`.
//!
//! The child processes are this test binary run again on the `#[ignore]`d test `child`, with
//! `TOKEN_STORE_CHILD` saying what to do; they print `CHILD …` lines on stderr for the parent.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use helpdesk::{Config, ErrorKind, TicketError, TicketUpdater};
use provider_feishu::{
    FeishuClient, FeishuConfig, FileTokenStore, MemoryTokenStore, RefreshLock, RefreshingToken,
    TokenSet, TokenStore,
};
use secrecy::{ExposeSecret, SecretString};
use support::{
    child_lines, feishu_client, feishu_env, feishu_sandbox, id, in_progress, poll_until,
    refreshing, spawn_child, start_redis,
};
use ticket_sandbox::Sandbox;

#[test]
#[ignore = "a child process of the multi-process tests, run by them with TOKEN_STORE_CHILD set"]
fn child() {
    let mode = std::env::var("TOKEN_STORE_CHILD")
        .expect("run by the multi-process tests of tests/token_store.rs");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        match mode.as_str() {
            "steps" => steps().await,
            "die-before-save" => die_before_save().await,
            other => panic!("unknown child mode {other}"),
        }
    });
}

/// A file store that announces the refresh answer and then never saves it: the parent kills
/// this process at that point.
#[derive(Debug)]
struct StallBeforeSave(FileTokenStore);

#[async_trait]
impl TokenStore for StallBeforeSave {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        self.0.load().await
    }
    async fn compare_and_swap(&self, _: &SecretString, _: &TokenSet) -> Result<bool, TicketError> {
        eprintln!("CHILD answered");
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(false)
    }
    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        self.0.lock().await
    }
}

async fn die_before_save() {
    let var = |k: &str| std::env::var(format!("TICKET_FEISHU_{k}")).unwrap();
    let store = FileTokenStore::new(var("REFRESH_TOKEN_FILE")).unwrap();
    let source = RefreshingToken::builder(var("APP_ID"), var("APP_SECRET"), "")
        .base_url(var("BASE_URL"))
        .store(Arc::new(StallBeforeSave(store)))
        .build()
        .unwrap();
    let config = FeishuConfig::new(Arc::new(source), var("HELPDESK_ID"), var("HELPDESK_TOKEN"))
        .unwrap()
        .with_base_url(&var("BASE_URL"))
        .unwrap();
    let _ = FeishuClient::new(config)
        .unwrap()
        .update(&id("1"), &in_progress())
        .await;
    panic!("the parent should have killed this process");
}

/// A child's part in the step-driven tests: one update of ticket "1" per line read from
/// stdin, answered `CHILD ok` or `CHILD failed …`; exits at the end of its input.
async fn steps() {
    let updater = helpdesk::connect(&Config::from_env()).unwrap();
    loop {
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map(|n| (n > 0).then_some(line))
        })
        .await
        .unwrap()
        .unwrap();
        if line.is_none() {
            return;
        }
        match updater.update(&id("1"), &in_progress()).await {
            Ok(_) => eprintln!("CHILD ok"),
            Err(e) => eprintln!("CHILD failed {e}"),
        }
    }
}

/// A child process in `steps` mode, told when to update.
struct Stepper {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<mpsc::Receiver<String>>>,
}

impl Stepper {
    fn spawn(vars: &[(String, String)]) -> Self {
        let mut child = spawn_child("steps", vars, &[]);
        let stdin = child.stdin.take();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Read on a thread of its own: the sandbox must keep serving the child meanwhile.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("CHILD ")
                    && tx.send(rest.to_owned()).is_err()
                {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            lines: Arc::new(Mutex::new(rx)),
        }
    }

    /// Tells the child to send one update.
    fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "go").unwrap();
        stdin.flush().unwrap();
    }

    /// What the child said of its last update (waited for with a generous deadline).
    async fn outcome(&self) -> String {
        let lines = Arc::clone(&self.lines);
        tokio::task::spawn_blocking(move || {
            lines
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(120))
                .expect("the child answers each step")
        })
        .await
        .unwrap()
    }

    /// Ends the child's input and waits for it to exit cleanly.
    fn finish(mut self) {
        drop(self.stdin.take());
        assert!(self.child.wait().unwrap().success(), "the child failed");
    }
}

/// How many times the step-driven tests expire every access token.
const EXPIRIES: u64 = 3;

/// Runs one round per expiry and one before them: every instance (the children and the
/// in-process updaters) sends one update at the same time, after the sandbox expired every
/// access token (except in the first round, where the instances have none yet). Each round
/// needs exactly one refresh, however fast each instance is: the count of refreshes cannot
/// depend on speed, and instances that refreshed on their own would each add one.
async fn expiry_rounds(
    sb: &Sandbox,
    children: &mut [Stepper],
    updaters: &[Arc<dyn TicketUpdater>],
) {
    for round in 0..=EXPIRIES {
        if round > 0 {
            sb.expire_access_tokens();
        }
        for child in children.iter_mut() {
            child.go();
        }
        let mut tasks = tokio::task::JoinSet::new();
        for updater in updaters {
            let updater = Arc::clone(updater);
            tasks.spawn(async move { updater.update(&id("1"), &in_progress()).await });
        }
        while let Some(result) = tasks.join_next().await {
            result
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: in-process failure: {e}"));
        }
        for child in children.iter() {
            assert_eq!(child.outcome().await, "ok", "round {round}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_instances_on_one_token_file_refresh_once_per_expiry() {
    // Tokens live the sandbox's default (hours): they expire only when the test says so.
    let sb = feishu_sandbox("1", None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feishu-token.json");
    let vars = feishu_env(
        &sb,
        &[("refresh_token_file", file.to_str().unwrap().to_owned())],
    );
    let mut children: Vec<Stepper> = (0..4).map(|_| Stepper::spawn(&vars)).collect();
    let config = Config::from_env_vars(vars.clone());
    let updaters: Vec<_> = (0..2)
        .map(|_| helpdesk::connect(&config).unwrap())
        .collect();
    expiry_rounds(&sb, &mut children, &updaters).await;
    for child in children {
        child.finish();
    }
    let stats = sb.stats();
    // Every refresh presented the current refresh token: none was wasted or refused.
    assert_eq!(stats.token_refresh_refused, 0);
    // One refresh for the missing first token and one per expiry, for six instances.
    assert_eq!(stats.token_refresh_requests, EXPIRIES + 1);
    assert_eq!(
        stats.feishu_requests,
        6 * (2 * EXPIRIES + 1),
        "one refusal per instance per expiry"
    );
    // The file holds the chain's current refresh token.
    let stored = FileTokenStore::new(&file).unwrap().load_blocking().unwrap();
    assert_eq!(
        stored.unwrap().refresh_token.expose_secret(),
        sb.current_refresh_token()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_between_the_answer_and_the_save_breaks_the_chain_loudly() {
    let sb = feishu_sandbox("1", None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feishu-token.json");
    let first = sb.credentials().feishu_refresh_token.clone();
    std::fs::write(&file, &first).unwrap();
    let vars = feishu_env(
        &sb,
        &[("refresh_token_file", file.to_str().unwrap().to_owned())],
    );
    let mut child = spawn_child("die-before-save", &vars, &[]);
    let lines = child_lines(&mut child, Some("answered")).await;
    assert_eq!(lines, ["answered"]);
    // SIGKILL while the child holds the file lock and the only copy of the new refresh token.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sb.stats().token_refresh_requests, 1);
    // The file still holds the consumed token, whole; the lock died with the child.
    let stored = FileTokenStore::new(&file).unwrap().load_blocking().unwrap();
    assert_eq!(stored.unwrap().refresh_token.expose_secret(), first);
    let updater = helpdesk::connect(&Config::from_env_vars(vars.clone())).unwrap();
    let err = updater.update(&id("1"), &in_progress()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("chain of refresh tokens is broken")
            && text.contains("authorize the user again"),
        "{text}"
    );
    assert!(!text.contains(&first), "the refresh token leaked: {text}");
    let stats = sb.stats();
    assert_eq!(
        (stats.token_refresh_requests, stats.token_refresh_refused),
        (2, 1)
    );
    // Recovery: the user authorizes again and the new refresh token goes into the file (here
    // the sandbox's current one stands for it). The next start works.
    std::fs::write(&file, sb.current_refresh_token()).unwrap();
    helpdesk::connect(&Config::from_env_vars(vars))
        .unwrap()
        .update(&id("1"), &in_progress())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_redis_refresh_once_per_expiry() {
    let Some(redis) = start_redis() else { return };
    // Tokens live the sandbox's default (hours): they expire only when the test says so.
    let sb = feishu_sandbox("1", None).await;
    let vars = feishu_env(
        &sb,
        &[
            ("token_store", "redis".to_owned()),
            ("redis_url", redis.url.clone()),
            ("redis_key", "test:feishu:token".to_owned()),
        ],
    );
    let config = Config::from_env_vars(vars);
    let updaters: Vec<_> = (0..2)
        .map(|_| helpdesk::connect(&config).unwrap())
        .collect();
    expiry_rounds(&sb, &mut [], &updaters).await;
    let stats = sb.stats();
    assert_eq!(stats.token_refresh_refused, 0);
    // One refresh for the missing first token and one per expiry, for two instances.
    assert_eq!(stats.token_refresh_requests, EXPIRIES + 1);
    // The store holds the chain's current refresh token, compare-and-swap refuses a stale one.
    let store = provider_feishu::RedisTokenStore::new(&redis.url, "test:feishu:token").unwrap();
    let stored = store.load().await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token.expose_secret(),
        sb.current_refresh_token()
    );
    let _lock = store.lock().await.unwrap();
    let stale: SecretString = sb.credentials().feishu_refresh_token.clone().into();
    assert!(
        !store
            .compare_and_swap(&stale, &TokenSet::new("ur-x"))
            .await
            .unwrap()
    );
}

/// A store whose saves fail while `failing` is set.
#[derive(Debug, Default)]
struct CannotSave {
    memory: MemoryTokenStore,
    failing: std::sync::atomic::AtomicBool,
    attempts: AtomicU64,
}

#[async_trait]
impl TokenStore for CannotSave {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        self.memory.load().await
    }
    async fn compare_and_swap(
        &self,
        expected: &SecretString,
        new: &TokenSet,
    ) -> Result<bool, TicketError> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        if self.failing.load(Ordering::Relaxed) {
            return Err(TicketError::config("disk full (test store)"));
        }
        self.memory.compare_and_swap(expected, new).await
    }
    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        self.memory.lock().await
    }
}

#[tokio::test]
async fn a_save_that_fails_lets_the_update_proceed_and_is_written_back_later() {
    let logs = support::trace_logs();
    let sb = feishu_sandbox("1", None).await;
    let store = Arc::new(CannotSave::default());
    store.failing.store(true, Ordering::Relaxed);
    let source = refreshing(&sb).store(store.clone()).build().unwrap();
    let updater = feishu_client(&sb, Arc::new(source));
    // The refresh's access token is valid: the update proceeds, with a warning naming the store.
    updater.update(&id("1"), &in_progress()).await.unwrap();
    assert_eq!(sb.stats().token_refresh_requests, 1);
    assert_eq!(sb.stats().feishu_requests, 1);
    let text = logs.text();
    assert!(
        text.lines().any(|l| l.contains("WARN")
            && l.contains("could not be saved")
            && l.contains("CannotSave")),
        "no warning naming the store"
    );
    // The new set is kept in memory: the next update works without another refresh.
    updater.update(&id("1"), &in_progress()).await.unwrap();
    assert_eq!(sb.stats().token_refresh_requests, 1);
    // The save is retried in the background, without any update, until the store takes it.
    poll_until("a second save attempt", async || {
        store.attempts.load(Ordering::Relaxed) >= 2
    })
    .await;
    store.failing.store(false, Ordering::Relaxed);
    poll_until("the store to hold the newest set", async || {
        let stored = store.memory.load().await.unwrap();
        stored.is_some_and(|s| s.refresh_token.expose_secret() == sb.current_refresh_token())
    })
    .await;
    assert_eq!(sb.stats().token_refresh_requests, 1);
    assert_eq!(sb.stats().token_refresh_refused, 0);
}

#[test]
fn connect_checks_the_token_file_location() {
    let dir = tempfile::tempdir().unwrap();
    let base = |file: &std::path::Path| {
        Config::from_map([
            ("provider", "feishu"),
            ("feishu.app_id", "cli_a"),
            ("feishu.app_secret", "s"),
            ("feishu.refresh_token", "ur-1"),
            ("feishu.helpdesk_id", "1"),
            ("feishu.helpdesk_token", "t"),
            ("feishu.refresh_token_file", file.to_str().unwrap()),
        ])
    };
    // A missing directory fails at connect, naming the path.
    let missing = dir.path().join("nope").join("token.json");
    let err = helpdesk::connect(&base(&missing)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");
    // A symlink cannot redirect the secret.
    #[cfg(unix)]
    {
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "ur-1").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = helpdesk::connect(&base(&link)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(err.to_string().contains("symlink"), "{err}");
    }
    // An unknown store kind is refused.
    let mut entries = vec![
        ("provider", "feishu"),
        ("feishu.app_id", "cli_a"),
        ("feishu.app_secret", "s"),
        ("feishu.helpdesk_id", "1"),
        ("feishu.helpdesk_token", "t"),
        ("feishu.token_store", "etcd"),
    ];
    let err = helpdesk::connect(&Config::from_map(entries.clone())).unwrap_err();
    assert!(err.to_string().contains("expected file or redis"), "{err}");
    // Redis needs its URL.
    entries[5] = ("feishu.token_store", "redis");
    let err = helpdesk::connect(&Config::from_map(entries)).unwrap_err();
    assert!(err.to_string().contains("redis_url"), "{err}");
}
