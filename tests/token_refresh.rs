//! Feishu user-token refresh end to end against the sandbox's rotating OAuth endpoint.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use helpdesk::{Config, ErrorKind, TicketUpdater};
use provider_feishu::{FeishuClient, FeishuConfig, RefreshingToken};
use secrecy::ExposeSecret;
use support::{feishu_client, feishu_sandbox, id, in_progress, refreshing};
use ticket_sandbox::{Fault, Sandbox, Scope};

/// A refreshing source whose rotated refresh tokens are collected in `rotated`.
fn source(sb: &Sandbox, refresh_token: &str, rotated: &Arc<Mutex<Vec<String>>>) -> RefreshingToken {
    let c = sb.credentials();
    let rotated = Arc::clone(rotated);
    RefreshingToken::builder(&c.feishu_app_id, &c.feishu_app_secret, refresh_token)
        .base_url(sb.base_url())
        .access_token(&c.feishu_user_access_token, None)
        .on_rotate(move |token| {
            rotated
                .lock()
                .unwrap()
                .push(token.expose_secret().to_owned())
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_update_lands() {
    let sb = feishu_sandbox("1", None).await;
    let rotated = Arc::new(Mutex::new(Vec::new()));
    let source = source(
        &sb,
        &sb.credentials().feishu_refresh_token.clone(),
        &rotated,
    );
    let updater = feishu_client(&sb, Arc::new(source.clone()));
    sb.inject(Fault::ExpireToken, Scope::Feishu, 1);
    let receipt = updater.update(&id("1"), &in_progress()).await.unwrap();
    assert_eq!(receipt.attempts, 2);
    assert_eq!(source.refreshes().await, 1);
    assert_eq!(sb.feishu_ticket("1").unwrap().status, 2);
    // The hook saw exactly the refresh token the sandbox now honours.
    assert_eq!(*rotated.lock().unwrap(), vec![sb.current_refresh_token()]);
    assert_eq!(sb.stats().token_refresh_requests, 1);
}

#[tokio::test]
async fn a_reused_refresh_token_is_refused() {
    let sb = feishu_sandbox("1", None).await;
    let first = sb.credentials().feishu_refresh_token.clone();
    let rotated = Arc::new(Mutex::new(Vec::new()));
    let fresh = source(&sb, &first, &rotated);
    sb.expire_access_tokens();
    feishu_client(&sb, Arc::new(fresh))
        .update(&id("1"), &in_progress())
        .await
        .unwrap();
    // A second process that still holds the old refresh token cannot use it.
    let stale = source(&sb, &first, &rotated);
    sb.expire_access_tokens();
    let err = feishu_client(&sb, Arc::new(stale))
        .update(&id("1"), &in_progress())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert_eq!(
        err.server().unwrap().code.as_ref().and_then(|c| c.as_i64()),
        Some(20026)
    );
    assert!(
        !err.to_string().contains(&first),
        "the refresh token leaked: {err}"
    );
    assert!(
        err.to_string()
            .contains("chain of refresh tokens is broken"),
        "{err}"
    );
    assert_eq!(sb.stats().token_refresh_refused, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_share_one_refresh() {
    let sb = feishu_sandbox("1", None).await;
    let rotated = Arc::new(Mutex::new(Vec::new()));
    let source = source(
        &sb,
        &sb.credentials().feishu_refresh_token.clone(),
        &rotated,
    );
    let updater = feishu_client(&sb, Arc::new(source.clone()));
    sb.expire_access_tokens();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let updater = Arc::clone(&updater);
        tasks.spawn(async move { updater.update(&id("1"), &in_progress()).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(source.refreshes().await, 1);
    assert_eq!(sb.stats().token_refresh_requests, 1);
    assert_eq!(rotated.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_token_is_refreshed_before_it_expires() {
    let sb = feishu_sandbox("1", None).await;
    let c = sb.credentials().clone();
    // The current token has 1 ms left, inside the safety margin: refresh before using it.
    let source = refreshing(&sb)
        .access_token(&c.feishu_user_access_token, Some(Duration::from_millis(1)))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let receipt = feishu_client(&sb, Arc::new(source.clone()))
        .update(&id("1"), &in_progress())
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 1, "no request was refused");
    assert_eq!(source.refreshes().await, 1);
    assert_eq!(sb.stats().feishu_requests, 1);
}

#[tokio::test]
async fn a_static_token_that_expires_is_a_clear_unauthenticated_error() {
    let sb = feishu_sandbox("1", None).await;
    let c = sb.credentials().clone();
    let config = FeishuConfig::with_static_token(
        &c.feishu_user_access_token,
        &c.feishu_helpdesk_id,
        &c.feishu_helpdesk_token,
    )
    .unwrap()
    .with_base_url(&sb.base_url())
    .unwrap();
    let updater = FeishuClient::new(config).unwrap();
    sb.expire_access_tokens();
    let err = updater.update(&id("1"), &in_progress()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(sb.stats().token_refresh_requests, 0);
    assert_eq!(sb.stats().feishu_requests, 1, "not retried");
}

#[tokio::test]
async fn the_facade_persists_rotated_refresh_tokens_to_the_configured_file() {
    let sb = feishu_sandbox("1", None).await;
    let c = sb.credentials().clone();
    let dir = std::env::temp_dir().join(format!("ticket-refresh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("feishu-refresh-token");
    let _ = std::fs::remove_file(&file);
    let config = || {
        Config::from_map([
            ("provider", "feishu"),
            ("feishu.app_id", c.feishu_app_id.as_str()),
            ("feishu.app_secret", c.feishu_app_secret.as_str()),
            ("feishu.refresh_token", c.feishu_refresh_token.as_str()),
            ("feishu.refresh_token_file", file.to_str().unwrap()),
            ("feishu.helpdesk_id", c.feishu_helpdesk_id.as_str()),
            ("feishu.helpdesk_token", c.feishu_helpdesk_token.as_str()),
            ("feishu.base_url", sb.base_url().as_str()),
        ])
    };
    // No access token configured: the first update refreshes, and the file gets the new one.
    helpdesk::connect(&config())
        .unwrap()
        .update(&id("1"), &in_progress())
        .await
        .unwrap();
    let stored = || {
        provider_feishu::FileTokenStore::new(&file)
            .unwrap()
            .load_blocking()
            .unwrap()
            .unwrap()
    };
    let saved = stored().refresh_token.expose_secret().to_owned();
    assert_eq!(saved, sb.current_refresh_token());
    // The file holds the whole set as JSON: other processes reuse the fresh access token.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&sb.current_access_token()), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A restart reads the file: it reuses the fresh access token without a refresh.
    let restarted = helpdesk::connect(&config()).unwrap();
    restarted.update(&id("1"), &in_progress()).await.unwrap();
    assert_eq!(sb.stats().token_refresh_requests, 1);
    // When that token is refused, it refreshes from the file's refresh token (not the dead
    // configured one) and saves the next one.
    sb.expire_access_tokens();
    restarted.update(&id("1"), &in_progress()).await.unwrap();
    assert_eq!(sb.stats().token_refresh_requests, 2);
    assert_eq!(
        stored().refresh_token.expose_secret(),
        sb.current_refresh_token()
    );
    assert_ne!(saved, sb.current_refresh_token());
    // Without the file setting, refreshing is refused at configuration time.
    let mut entries: Vec<(String, String)> = vec![
        ("provider".into(), "feishu".into()),
        ("feishu.app_id".into(), c.feishu_app_id.clone()),
        ("feishu.app_secret".into(), c.feishu_app_secret.clone()),
        (
            "feishu.refresh_token".into(),
            c.feishu_refresh_token.clone(),
        ),
        ("feishu.helpdesk_id".into(), "1".into()),
        ("feishu.helpdesk_token".into(), "t".into()),
    ];
    let err = helpdesk::connect(&Config::from_map(entries.clone())).unwrap_err();
    assert!(
        err.to_string().contains("`feishu.refresh_token_file`"),
        "{err}"
    );
    entries.push((
        "feishu.refresh_token_file".into(),
        file.to_str().unwrap().into(),
    ));
    assert!(helpdesk::connect(&Config::from_map(entries)).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits (without a deadline) until the sandbox has received `n` token requests.
async fn token_requests_reach(sb: &Sandbox, n: u64) {
    while sb.stats().token_refresh_requests < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_aborted_during_the_refresh_loses_nothing() {
    let sb = feishu_sandbox("1", None).await;
    // No access token yet: the first update refreshes, and the token endpoint takes its time.
    let source = refreshing(&sb).build().unwrap();
    let updater = feishu_client(&sb, Arc::new(source.clone()));
    // Long enough that the abort below always lands while the refresh is still in flight
    // (the task is aborted as soon as the token request arrives; a loaded machine must not
    // let the answer come first), short of the refresh's own timeout.
    sb.inject(
        Fault::Latency(Duration::from_secs(5)),
        Scope::FeishuToken,
        1,
    );
    let task = {
        let updater = Arc::clone(&updater);
        tokio::spawn(async move { updater.update(&id("1"), &in_progress()).await })
    };
    token_requests_reach(&sb, 1).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // Feishu rotates whether or not the caller still waits; the source kept the answer.
    let receipt = updater.update(&id("1"), &in_progress()).await.unwrap();
    assert_eq!(receipt.attempts, 1);
    assert_eq!(sb.stats().token_refresh_requests, 1, "exactly one refresh");
    assert_eq!(source.refreshes().await, 1);
    let stored = source.store().load().await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token.expose_secret(),
        sb.current_refresh_token(),
        "the rotated refresh token was saved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_token_endpoint_costs_one_request_and_one_shared_failure() {
    let sb = feishu_sandbox("1", None).await;
    let timeout = Duration::from_millis(1500);
    let source = refreshing(&sb)
        .http_options(helpdesk::HttpOptions::default().request_timeout(timeout))
        .build()
        .unwrap();
    let updater = feishu_client(&sb, Arc::new(source.clone()));
    sb.inject(
        Fault::Latency(Duration::from_secs(3600)),
        Scope::FeishuToken,
        1,
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let updater = Arc::clone(&updater);
        tasks.spawn(async move { updater.update(&id("1"), &in_progress()).await });
    }
    let mut failures = 0;
    while let Some(result) = tasks.join_next().await {
        let err = result.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(matches!(err, helpdesk::TicketError::Timeout { after, .. } if after == timeout));
        failures += 1;
    }
    assert_eq!(failures, 20);
    assert_eq!(sb.stats().token_refresh_requests, 1, "one shared refresh");
    assert_eq!(sb.stats().feishu_requests, 0);
}
