//! Feishu token stores that fail and come back: Redis killed and restarted (with its data, and
//! empty), a token directory that refuses writes during one refresh, a frozen lock holder, a
//! store that never answers, and stores holding garbage. Real processes, a real
//! `redis-server`, and the sandbox's rotating OAuth endpoint as the judge: a spent refresh token
//! is refused there (20026), so `token_refresh_refused == 0` means no chain was broken.
//!
//! Child processes are this test binary run again on the `#[ignore]`d test `child`
//! (tests/support/mod.rs has the harness).
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use helpdesk::{Config, ErrorKind, HttpOptions, Sent, TicketError, TicketUpdater};
use provider_feishu::{FileTokenStore, RedisTokenStore, RefreshLock, TokenSet, TokenStore};
use secrecy::{ExposeSecret, SecretString};
use support::{
    child_lines, feishu_client, feishu_env, feishu_sandbox, id, in_progress, loop_child,
    poll_until, refreshing, spawn_child, start_redis, start_redis_with, update_loop,
};
use ticket_sandbox::Sandbox;

/// The Redis password of the outage tests: no message may show it.
const PASSWORD: &str = "pw-7f1b3c-redis-secret";
const KEY: &str = "test:feishu:token";

#[test]
#[ignore = "a child process of the multi-process tests, run by them with TOKEN_STORE_CHILD set"]
fn child() {
    let mode = std::env::var("TOKEN_STORE_CHILD")
        .expect("run by the multi-process tests of tests/store_faults.rs");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        match mode.as_str() {
            "loop" => loop_child().await,
            "hold-lock" => hold_lock().await,
            other => panic!("unknown child mode {other}"),
        }
    });
}

/// Takes the token file's lock, says so, and holds it until a line arrives on stdin (the
/// parent freezes this process meanwhile, then resumes or kills it).
async fn hold_lock() {
    let file = std::env::var("TICKET_FEISHU_REFRESH_TOKEN_FILE").unwrap();
    let store = FileTokenStore::new(file).unwrap();
    let lock = store.lock().await.unwrap();
    eprintln!("CHILD locked");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    drop(lock);
}

/// `err` is the typed error of a store that cannot be used now: retryable, not sent, naming
/// `store`, and showing no secret.
fn assert_store_unavailable(err: &TicketError, store: &str, sb: &Sandbox) {
    assert!(
        matches!(err, TicketError::Transport { sent: Sent::No, .. }),
        "not a Transport error that was not sent: {err:?}"
    );
    assert!(err.is_retryable(), "{err}");
    let text = format!("{err} {:?}", std::error::Error::source(err));
    assert!(text.contains(store), "the store is not named: {text}");
    assert_no_secret(&text, sb);
}

fn assert_no_secret(text: &str, sb: &Sandbox) {
    let c = sb.credentials();
    for secret in [
        PASSWORD,
        &c.feishu_refresh_token,
        &c.feishu_app_secret,
        &sb.current_refresh_token(),
        &sb.current_access_token(),
    ] {
        assert!(!text.contains(secret), "a secret leaked: {text}");
    }
}

/// Updates every 20 ms, each of which must succeed, until `done`.
async fn update_until(updater: &Arc<dyn TicketUpdater>, what: &str, done: impl Fn() -> bool) {
    poll_until(what, async || {
        updater.update(&id("1"), &in_progress()).await.unwrap();
        done()
    })
    .await;
}

/// Runs a fresh process (`loop` mode, 3 s) on `vars` beside `updater`'s own 3 s loop; both must
/// succeed throughout.
async fn a_new_process_and_this_one_keep_working(
    updater: &Arc<dyn TicketUpdater>,
    vars: &[(String, String)],
) {
    let run = Duration::from_secs(3);
    let mut child = spawn_child(
        "loop",
        vars,
        &[("TOKEN_STORE_RUN_MS", run.as_millis().to_string())],
    );
    let (ok, failed) = update_loop(Arc::clone(updater), run).await;
    let lines = child_lines(&mut child, None).await;
    assert!(
        child.wait().unwrap().success(),
        "the new process failed: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("done") && l.ends_with("failed=0")),
        "{lines:?}"
    );
    assert!(failed.is_empty(), "this process failed: {failed:?}");
    assert!(ok > 0);
}

/// One replica updates through Redis while Redis is SIGKILLed for longer than a token lives,
/// then started again on the same port, `persistent` (it keeps its data) or not (it comes back
/// empty).
async fn redis_outage(persistent: bool) {
    let Some(mut redis) = start_redis_with(persistent, Some(PASSWORD)) else {
        return;
    };
    let sb = feishu_sandbox("1", Some(Duration::from_secs(1))).await;
    let vars = feishu_env(
        &sb,
        &[
            ("token_store", "redis".to_owned()),
            ("redis_url", redis.url.clone()),
            ("redis_key", KEY.to_owned()),
        ],
    );
    let updater = helpdesk::connect(&Config::from_env_vars(vars.clone())).unwrap();
    update_until(&updater, "two refreshes through Redis", || {
        sb.stats().token_refresh_requests >= 2
    })
    .await;

    // Killed while no refresh holds the lock: a lock taken just before a crash would outlive
    // the restart until its 30 s lease runs out (bounded, but slow for a test). The lock is
    // released right after the refresh that the loop above just saw.
    let lock_key = format!("{KEY}:lock");
    poll_until("the refresh lock to be released", async || {
        redis.cli(&["EXISTS", &lock_key]) == "0"
    })
    .await;
    redis.kill();
    // The outage lasts more than a token's lifetime (1 s): updates fail fast with the typed
    // error, and no refresh is made while the store cannot record it.
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut refreshes_then = None;
    while started.elapsed() < Duration::from_millis(2500) || failures.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no update failed"
        );
        if let Err(err) = updater.update(&id("1"), &in_progress()).await {
            refreshes_then.get_or_insert(sb.stats().token_refresh_requests);
            failures.push(err);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for err in &failures {
        assert_store_unavailable(err, KEY, &sb);
    }
    assert_eq!(
        Some(sb.stats().token_refresh_requests),
        refreshes_then,
        "refreshed while the store was down"
    );

    redis.restart();
    let store = RedisTokenStore::new(&redis.url, KEY).unwrap();
    if !persistent {
        // The replica, idle now, writes its set back into the emptied store by itself.
        poll_until("the replica to write its token set back", async || {
            matches!(store.load().await, Ok(Some(_)))
        })
        .await;
        let stored = store.load().await.unwrap().unwrap();
        assert_eq!(
            stored.refresh_token.expose_secret(),
            sb.current_refresh_token()
        );
    }
    // Updates recover without a restart (the first ones may still meet the old connection).
    poll_until(
        "an update to succeed after the restart",
        async || match updater.update(&id("1"), &in_progress()).await {
            Ok(_) => true,
            Err(err) => {
                assert_store_unavailable(&err, KEY, &sb);
                false
            }
        },
    )
    .await;
    // A process started now, configured with the seed refresh token (spent long ago), takes
    // the store's set instead.
    a_new_process_and_this_one_keep_working(&updater, &vars).await;
    let stats = sb.stats();
    assert_eq!(
        stats.token_refresh_refused, 0,
        "a spent refresh token was used"
    );
    let stored = store.load().await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token.expose_secret(),
        sb.current_refresh_token()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_with_its_data_breaks_no_chain() {
    redis_outage(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_empty_is_repaired_by_the_running_replica() {
    redis_outage(false).await;
}

/// `chattr +i` on a directory, undone on drop: nothing can be created, renamed or removed in
/// it, even by root (root ignores permission bits, so `chmod` would not do; a read-only bind
/// mount or a full tmpfs would need a mount namespace), while files already in it, such as the
/// lock file, stay writable.
struct Immutable(PathBuf);

impl Immutable {
    fn set(dir: &Path) -> Self {
        chattr("+i", dir).unwrap();
        Self(dir.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = chattr("-i", &self.0);
    }
}

fn chattr(flag: &str, dir: &Path) -> Result<(), String> {
    let out = Command::new("chattr")
        .arg(flag)
        .arg(dir)
        .output()
        .map_err(|e| format!("chattr: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "chattr {flag}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether a directory can be made unwritable here with `chattr +i` (root, and a filesystem
/// with the attribute, such as ext4). Otherwise the test is skipped with a message, or fails
/// when `CI` is set.
fn immutable_directories() -> bool {
    let probe = tempfile::tempdir().unwrap();
    let works = chattr("+i", probe.path()).and_then(|()| {
        let refused = std::fs::write(probe.path().join("x"), "x").is_err();
        chattr("-i", probe.path())?;
        if refused {
            Ok(())
        } else {
            Err("chattr +i did not stop a write".to_owned())
        }
    });
    match works {
        Ok(()) => true,
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set and a directory cannot be made unwritable: {why}");
            }
            eprintln!(
                "skipping: a directory cannot be made unwritable here ({why}); run as root on a \
                 filesystem with chattr +i (ext4, xfs, btrfs)"
            );
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_directory_unwritable_during_one_refresh_breaks_no_chain() {
    if !immutable_directories() {
        return;
    }
    let sb = feishu_sandbox("1", Some(Duration::from_secs(1))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feishu-token.json");
    let file_name = file.to_str().unwrap().to_owned();
    let vars = feishu_env(&sb, &[("refresh_token_file", file_name.clone())]);
    let updater = helpdesk::connect(&Config::from_env_vars(vars.clone())).unwrap();
    update_until(&updater, "two refreshes through the file", || {
        sb.stats().token_refresh_requests >= 2
    })
    .await;

    let before = sb.stats().token_refresh_requests;
    {
        let _unwritable = Immutable::set(dir.path());
        // The next refresh cannot save its set: its update proceeds all the same. At the
        // expiry after that, the set cannot be written back either, so no refresh is made: a
        // typed error instead.
        poll_until("a refresh, then a refused update", async || {
            let result = updater.update(&id("1"), &in_progress()).await;
            let refreshes = sb.stats().token_refresh_requests;
            assert!(refreshes <= before + 1, "refreshed without saving");
            match result {
                Ok(_) => false,
                Err(err) => {
                    assert_store_unavailable(&err, &file_name, &sb);
                    assert_eq!(refreshes, before + 1, "{err}");
                    true
                }
            }
        })
        .await;
    }

    // Writable again: 20 more expiries, every update works, no refresh token is refused.
    let start = sb.stats().token_refresh_requests;
    update_until(&updater, "20 expiries", || {
        sb.stats().token_refresh_requests >= start + 20
    })
    .await;
    assert_eq!(sb.stats().token_refresh_refused, 0);
    let stored = FileTokenStore::new(&file).unwrap().load_blocking().unwrap();
    assert_eq!(
        stored.unwrap().refresh_token.expose_secret(),
        sb.current_refresh_token()
    );
    // A process started after the fix takes the file's set.
    a_new_process_and_this_one_keep_working(&updater, &vars).await;
    drop(updater);
    assert_eq!(sb.stats().token_refresh_refused, 0);
    let stored = FileTokenStore::new(&file).unwrap().load_blocking().unwrap();
    assert_eq!(
        stored.unwrap().refresh_token.expose_secret(),
        sb.current_refresh_token()
    );
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_lock_holder_costs_the_others_a_typed_error_within_the_bound() {
    let sb = feishu_sandbox("1", Some(Duration::from_secs(1))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feishu-token.json");
    let file_name = file.to_str().unwrap().to_owned();
    // Two sources, each with its own store (its own lock file descriptor), as two processes.
    let client = || {
        let store = FileTokenStore::new(&file)
            .unwrap()
            .lock_timeout(Duration::from_secs(2));
        let source = refreshing(&sb).store(Arc::new(store)).build().unwrap();
        feishu_client(&sb, Arc::new(source))
    };
    let (a, b) = (client(), client());
    a.update(&id("1"), &in_progress()).await.unwrap();
    b.update(&id("1"), &in_progress()).await.unwrap();
    let vars = [(
        "TICKET_FEISHU_REFRESH_TOKEN_FILE".to_owned(),
        file_name.clone(),
    )];
    for ending in ["SIGCONT", "SIGKILL"] {
        let mut holder = spawn_child("hold-lock", &vars, &[]);
        assert_eq!(child_lines(&mut holder, Some("locked")).await, ["locked"]);
        signal(&holder, "STOP");
        let refreshes = sb.stats().token_refresh_requests;
        // Let both sources' tokens fall due (they are refreshed half a second after issue).
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The caller that starts `a`'s refresh is cancelled while it waits for the lock.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            a.update(&id("1"), &in_progress()),
        )
        .await;
        assert!(cancelled.is_err(), "the update did not wait for the lock");
        // Everyone else gets the typed error once the lock's deadline passes.
        let (ticket, update) = (id("1"), in_progress());
        let (err_a, err_b) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(a.update(&ticket, &update), b.update(&ticket, &update))
        })
        .await
        .expect("the waits are bounded");
        for err in [err_a.unwrap_err(), err_b.unwrap_err()] {
            assert_store_unavailable(&err, &file_name, &sb);
            assert!(err.to_string().contains("stayed locked"), "{err}");
        }
        assert_eq!(
            sb.stats().token_refresh_requests,
            refreshes,
            "refreshed without the lock"
        );
        match ending {
            "SIGCONT" => {
                // Resumed, the holder finishes its work and lets go.
                let mut stdin = holder.stdin.take().unwrap();
                stdin.write_all(b"release\n").unwrap();
                drop(stdin);
                signal(&holder, "CONT");
            }
            _ => holder.kill().unwrap(),
        }
        holder.wait().unwrap();
        for updater in [&a, &b] {
            poll_until("an update to succeed", async || {
                updater.update(&id("1"), &in_progress()).await.is_ok()
            })
            .await;
        }
    }
    assert_eq!(sb.stats().token_refresh_refused, 0);
}

/// A store whose lock never comes (a hung network filesystem, say) though it claims a short
/// lock timeout.
#[derive(Debug)]
struct NeverLocks;

#[async_trait]
impl TokenStore for NeverLocks {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        Ok(None)
    }
    async fn compare_and_swap(&self, _: &SecretString, _: &TokenSet) -> Result<bool, TicketError> {
        Ok(true)
    }
    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        std::future::pending().await
    }
    fn lock_timeout(&self) -> Duration {
        Duration::from_millis(100)
    }
}

#[tokio::test]
async fn an_update_waits_for_a_hung_refresh_no_longer_than_the_bound() {
    let sb = feishu_sandbox("1", None).await;
    let http = HttpOptions::default()
        .connect_timeout(Duration::from_millis(100))
        .request_timeout(Duration::from_millis(100));
    let source = refreshing(&sb)
        .store(Arc::new(NeverLocks))
        .http_options(http)
        .build()
        .unwrap();
    let updater = feishu_client(&sb, Arc::new(source));
    // The caller that started the refresh is cancelled; the next one joins the refresh and
    // waits at most the bound (the lock timeout, one refresh request, and 5 s for the store).
    let cancelled = tokio::time::timeout(
        Duration::from_millis(20),
        updater.update(&id("1"), &in_progress()),
    )
    .await;
    assert!(cancelled.is_err());
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        updater.update(&id("1"), &in_progress()),
    )
    .await
    .expect("the wait is bounded")
    .unwrap_err();
    assert_store_unavailable(&err, "NeverLocks", &sb);
    assert!(err.to_string().contains("gave no answer within"), "{err}");
    assert_eq!(sb.stats().token_refresh_requests, 0);
}

#[tokio::test]
async fn garbage_in_the_token_file_is_a_configuration_error_and_nothing_is_sent() {
    let sb = feishu_sandbox("1", None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feishu-token.json");
    let file_name = file.to_str().unwrap().to_owned();
    let vars = feishu_env(&sb, &[("refresh_token_file", file_name.clone())]);
    let cases: [(&str, Vec<u8>); 8] = [
        (
            "an HTML page",
            b"<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>\n".to_vec(),
        ),
        ("markup without spaces", b"<b>ur-Bad-Gateway</b>".to_vec()),
        ("binary garbage", b"\x00\x01\xfe\xffBadGateway".to_vec()),
        (
            "truncated JSON",
            br#"{"refresh_token":"ur-Bad-Gateway-trunc"#.to_vec(),
        ),
        (
            "a token with a space",
            br#"{"refresh_token":"ur-Bad Gateway"}"#.to_vec(),
        ),
        (
            "a token of the wrong type",
            br#"{"refresh_token":8675309}"#.to_vec(),
        ),
        (
            "an expiry of the wrong type",
            br#"{"refresh_token":"ur-ok","expires_at_ms":"BadGateway"}"#.to_vec(),
        ),
        ("a huge file", vec![b'B'; 100_000]),
    ];
    for (case, contents) in cases {
        std::fs::write(&file, &contents).unwrap();
        // At connect.
        let err = helpdesk::connect(&Config::from_env_vars(vars.clone()))
            .err()
            .unwrap_or_else(|| panic!("{case}: connect accepted it"));
        assert_garbage_error(&err, &file_name, case);
        // In a running source, which reads the file at its first refresh.
        let store = FileTokenStore::new(&file).unwrap();
        let source = refreshing(&sb).store(Arc::new(store)).build().unwrap();
        let err = feishu_client(&sb, Arc::new(source))
            .update(&id("1"), &in_progress())
            .await
            .unwrap_err();
        assert_garbage_error(&err, &file_name, case);
        assert_no_secret(&err.to_string(), &sb);
    }
    let stats = sb.stats();
    assert_eq!(
        (stats.token_refresh_requests, stats.feishu_requests),
        (0, 0),
        "something was sent"
    );
}

/// A `Configuration` error naming `store`, not quoting the contents (each case's contents
/// carry `BadGateway`, `Bad Gateway`, `Bad-Gateway`, `8675309` or a run of `B`s).
fn assert_garbage_error(err: &TicketError, store: &str, case: &str) {
    assert_eq!(err.kind(), ErrorKind::Configuration, "{case}: {err}");
    let text = err.to_string();
    assert!(
        text.contains(store),
        "{case}: the store is not named: {text}"
    );
    for quoted in [
        "BadGateway",
        "Bad Gateway",
        "Bad-Gateway",
        "8675309",
        "BBBB",
    ] {
        assert!(
            !text.contains(quoted),
            "{case}: the contents are quoted: {text}"
        );
    }
}

#[tokio::test]
async fn garbage_in_the_redis_key_is_a_configuration_error_and_nothing_is_sent() {
    let Some(redis) = start_redis() else { return };
    let sb = feishu_sandbox("1", None).await;
    let cases: [(&str, &[&str]); 5] = [
        (
            "a string",
            &["SET", KEY, "<html><body>Bad Gateway</body></html>"],
        ),
        ("a list", &["RPUSH", KEY, "BadGateway"]),
        (
            "a token with a space",
            &["HSET", KEY, "refresh_token", "ur-Bad Gateway"],
        ),
        (
            "an expiry that is not a number",
            &[
                "HSET",
                KEY,
                "refresh_token",
                "ur-ok",
                "expires_at_ms",
                "BadGateway",
            ],
        ),
        (
            "no refresh token",
            &["HSET", KEY, "access_token", "u-BadGateway"],
        ),
    ];
    for (case, command) in cases {
        redis.cli(&["DEL", KEY]);
        redis.cli(command);
        let store = RedisTokenStore::new(&redis.url, KEY).unwrap();
        let source = refreshing(&sb).store(Arc::new(store)).build().unwrap();
        let err = feishu_client(&sb, Arc::new(source))
            .update(&id("1"), &in_progress())
            .await
            .unwrap_err();
        assert_garbage_error(&err, KEY, case);
        // Nothing overwrote it either.
        assert_ne!(redis.cli(&["EXISTS", KEY]), "0", "{case}");
    }
    let stats = sb.stats();
    assert_eq!(
        (stats.token_refresh_requests, stats.feishu_requests),
        (0, 0),
        "something was sent"
    );
}
