//! End to end over real loopback HTTP against the sandbox, through the facade: every unified
//! field lands in the stored ticket, every error kind comes back typed from the matching server
//! behaviour, the unsupported-field policy in both modes, 200 concurrent updates over reused
//! connections, and the sandbox's `env_vars` read by the facade as its own variables.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use helpdesk::{
    Config, ErrorKind, Field, Priority, TicketError, TicketKind, TicketStatus, TicketUpdate,
    TicketUpdater,
};
use support::id;
use ticket_sandbox::{Fault, Provider, Sandbox, Scope};

/// A timeout no loaded machine reaches on loopback (an answer must never be cut short into a
/// timeout), and retries off unless a test turns them on, so each error is the first.
const TIMEOUT_MS: u64 = 10_000;

fn extra(retries: u32, timeout_ms: u64) -> Vec<(String, String)> {
    vec![
        ("request_timeout_ms".into(), timeout_ms.to_string()),
        ("max_retries".into(), retries.to_string()),
        ("retry_initial_backoff_ms".into(), "10".into()),
        ("retry_jitter".into(), "false".into()),
    ]
}

fn engagelab(sb: &Sandbox, retries: u32) -> Arc<dyn TicketUpdater> {
    engagelab_timing_out(sb, retries, TIMEOUT_MS)
}

fn engagelab_timing_out(sb: &Sandbox, retries: u32, timeout_ms: u64) -> Arc<dyn TicketUpdater> {
    let c = sb.credentials();
    let mut entries = vec![
        ("provider".to_owned(), "engagelab".to_owned()),
        ("engagelab.api_key".into(), c.engagelab_api_key.clone()),
        (
            "engagelab.api_secret".into(),
            c.engagelab_api_secret.clone(),
        ),
        ("engagelab.base_url".into(), sb.base_url()),
    ];
    entries.extend(
        extra(retries, timeout_ms)
            .into_iter()
            .map(|(k, v)| (format!("engagelab.{k}"), v)),
    );
    helpdesk::connect(&Config::from_map(entries)).unwrap()
}

fn feishu_with(sb: &Sandbox, retries: u32, helpdesk_token: &str) -> Arc<dyn TicketUpdater> {
    feishu_timing_out(sb, retries, helpdesk_token, TIMEOUT_MS)
}

fn feishu_timing_out(
    sb: &Sandbox,
    retries: u32,
    helpdesk_token: &str,
    timeout_ms: u64,
) -> Arc<dyn TicketUpdater> {
    let c = sb.credentials();
    let mut entries = vec![
        ("provider".to_owned(), "feishu".to_owned()),
        (
            "feishu.user_access_token".into(),
            c.feishu_user_access_token.clone(),
        ),
        ("feishu.helpdesk_id".into(), c.feishu_helpdesk_id.clone()),
        ("feishu.helpdesk_token".into(), helpdesk_token.to_owned()),
        ("feishu.base_url".into(), sb.base_url()),
    ];
    entries.extend(
        extra(retries, timeout_ms)
            .into_iter()
            .map(|(k, v)| (format!("feishu.{k}"), v)),
    );
    helpdesk::connect(&Config::from_map(entries)).unwrap()
}

fn feishu(sb: &Sandbox, retries: u32) -> Arc<dyn TicketUpdater> {
    feishu_with(sb, retries, &sb.credentials().feishu_helpdesk_token)
}

fn el_update() -> TicketUpdate {
    TicketUpdate::builder()
        .title("Printer jammed")
        .description("Paper stuck.")
        .priority(Priority::High)
        .build()
        .unwrap()
}

fn fs_update() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .comment("on it")
        .build()
        .unwrap()
}

/// Without a comment, so that retries and error kinds are those of an idempotent update (a
/// comment is never resent after a 5xx: tests/no_duplicate_comments.rs).
fn fs_idempotent_update() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .tag("printer")
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_engagelab_field_lands() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("tk_1")
        .start()
        .await
        .unwrap();
    let update = TicketUpdate::builder()
        .title("Printer jammed (updated)")
        .description("**Paper** stuck.\n\n- tray 2")
        .priority(Priority::Urgent)
        .kind(TicketKind::Problem)
        .tags(["printer", "hardware"])
        .custom_field("device_sn", "PRN-2024-001")
        .custom_field("location", "HQ 3F")
        .attachment("https://example.com/files/error-photo.jpg")
        .build()
        .unwrap();
    let receipt = engagelab(&sb, 0)
        .update(&id("tk_1"), &update)
        .await
        .unwrap();
    let stored = sb.engagelab_ticket("tk_1").unwrap();
    assert_eq!(stored.title, "Printer jammed (updated)");
    assert_eq!(stored.description, "**Paper** stuck.\n\n- tray 2");
    assert_eq!(stored.priority, "urgent");
    assert_eq!(stored.ticket_type.as_deref(), Some("problem"));
    assert_eq!(stored.tags, vec!["printer", "hardware"]);
    assert_eq!(stored.custom_fields["device_sn"], "PRN-2024-001");
    assert_eq!(stored.custom_fields["location"], "HQ 3F");
    assert_eq!(
        stored.attachments[0].file_url,
        "https://example.com/files/error-photo.jpg"
    );
    // The receipt's time is the one the sandbox stored.
    let stored_at = time::OffsetDateTime::parse(
        &stored.updated_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(receipt.updated_at, Some(stored_at));
}

#[tokio::test]
async fn every_feishu_field_lands() {
    let sb = Sandbox::builder()
        .seed_feishu_default("694534")
        .start()
        .await
        .unwrap();
    let update = TicketUpdate::builder()
        .status(TicketStatus::Closed)
        .solved(true)
        .tags(["vip", "printer"])
        .comment("Technician dispatched.")
        .custom_field_with_id("6981", "device_sn", "PRN-2024-001")
        .provider_field("feishu", "channel", 3)
        .provider_field("feishu", "ticket_type", 2)
        .build()
        .unwrap();
    let receipt = feishu(&sb, 0).update(&id("694534"), &update).await.unwrap();
    assert!(receipt.request_id.is_some(), "X-Tt-Logid is captured");
    let stored = sb.feishu_ticket("694534").unwrap();
    assert_eq!(
        (
            stored.status,
            stored.solved,
            stored.channel,
            stored.ticket_type
        ),
        (51, 2, 3, 2)
    );
    assert_eq!(stored.tag_names, vec!["vip", "printer"]);
    assert_eq!(
        stored.comments.last().map(String::as_str),
        Some("Technician dispatched.")
    );
    let field = &stored.customized_fields[0];
    assert_eq!(
        (
            field.id.as_deref(),
            field.key_name.as_deref(),
            field.value.as_deref()
        ),
        (Some("6981"), Some("device_sn"), Some("PRN-2024-001"))
    );
}

/// `Sandbox::env_vars` (and `feishu_refreshing_env_vars`) spell the facade's variables, which
/// the sandbox cannot take from the facade: read alone, they connect and update a seeded ticket
/// for each provider. A misspelt name is an unknown key, or leaves a required one unset, or
/// (outside `TICKET_`) sends the update to the vendor instead: each fails here.
#[tokio::test]
async fn the_sandboxs_env_vars_configure_the_facade_for_both_providers() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("tk_1")
        .seed_feishu_default("1")
        .seed_feishu_default("2")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut refreshing = sb.feishu_refreshing_env_vars();
    refreshing.push((
        "TICKET_FEISHU_REFRESH_TOKEN_FILE".to_owned(),
        dir.path().join("token").display().to_string(),
    ));
    let connect = |vars: Vec<(String, String)>| {
        assert_eq!(vars[0].0, helpdesk::PROVIDER_VAR);
        for (name, _) in &vars {
            assert!(name.starts_with(helpdesk::ENV_PREFIX), "{name}");
        }
        helpdesk::connect(&Config::from_env_vars(vars)).unwrap_or_else(|e| panic!("{e}"))
    };

    let engagelab = connect(sb.env_vars(Provider::EngageLab));
    assert_eq!(engagelab.provider(), "engagelab");
    engagelab.update(&id("tk_1"), &el_update()).await.unwrap();
    let stored = sb.engagelab_ticket("tk_1").unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.priority.as_str()),
        ("Printer jammed", "high")
    );

    let feishu = connect(sb.env_vars(Provider::Feishu));
    assert_eq!(feishu.provider(), "feishu");
    feishu.update(&id("1"), &fs_update()).await.unwrap();
    assert_eq!(
        sb.feishu_comments("1").last().map(|c| c.content.as_str()),
        Some("on it")
    );
    assert_eq!(
        sb.stats().token_refresh_requests,
        0,
        "the static user token"
    );

    let feishu = connect(refreshing);
    feishu.update(&id("2"), &fs_update()).await.unwrap();
    assert_eq!(
        sb.feishu_comments("2").last().map(|c| c.content.as_str()),
        Some("on it")
    );
    assert_eq!(sb.stats().token_refresh_requests, 1, "the refresh token");
}

#[tokio::test]
async fn the_unsupported_field_policy_in_both_modes() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("tk_1")
        .seed_feishu_default("1")
        .start()
        .await
        .unwrap();
    let mixed = || {
        TicketUpdate::builder()
            .title("Printer fixed")
            .description("Replaced the feeder.")
            .priority(Priority::Low)
            .comment("closing")
            .status(TicketStatus::Closed)
    };
    for (updater, id_text) in [(engagelab(&sb, 0), "tk_1"), (feishu(&sb, 0), "1")] {
        let err = updater
            .update(&id(id_text), &mixed().build().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{}", updater.provider());
        let receipt = updater
            .update(&id(id_text), &mixed().lenient().build().unwrap())
            .await
            .unwrap();
        let expected = if updater.provider() == "engagelab" {
            vec![Field::Status, Field::Comment]
        } else {
            vec![Field::Title, Field::Description, Field::Priority]
        };
        assert_eq!(receipt.dropped, expected);
    }
    let stats = sb.stats();
    assert_eq!(
        (stats.engagelab_requests, stats.feishu_requests),
        (1, 1),
        "strict refusals sent nothing"
    );
    assert_eq!(sb.engagelab_ticket("tk_1").unwrap().title, "Printer fixed");
    assert_eq!(sb.feishu_ticket("1").unwrap().status, 51);
}

async fn expect(
    updater: &Arc<dyn TicketUpdater>,
    ticket: &str,
    update: &TicketUpdate,
    kind: ErrorKind,
) -> TicketError {
    let err = updater.update(&id(ticket), update).await.unwrap_err();
    assert_eq!(err.kind(), kind, "{}: {err}", updater.provider());
    err
}

#[tokio::test]
async fn every_error_kind_from_the_sandbox() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("tk_1")
        .seed_feishu_default("1")
        .start()
        .await
        .unwrap();
    let el = engagelab(&sb, 0);
    let fs = feishu(&sb, 0);
    let cases: [(&Arc<dyn TicketUpdater>, &str, TicketUpdate); 2] = [
        (&el, "tk_1", el_update()),
        (&fs, "1", fs_idempotent_update()),
    ];
    for (updater, ticket, update) in cases {
        let scope = if updater.provider() == "engagelab" {
            Scope::EngageLab
        } else {
            Scope::Feishu
        };
        let faults = [
            (Fault::RateLimit { reset_secs: 2 }, ErrorKind::RateLimited),
            (
                Fault::RateLimitLegacy400 { reset_secs: 2 },
                ErrorKind::RateLimited,
            ),
            (Fault::ServerError { status: 503 }, ErrorKind::Provider),
            (Fault::DropConnection, ErrorKind::Transport),
            (Fault::TruncatedBody, ErrorKind::Transport),
            (Fault::NonJsonBody, ErrorKind::MalformedResponse),
            (Fault::AuthErrorHttp200, ErrorKind::Unauthenticated),
            (Fault::NotFoundHttp200, ErrorKind::NotFound),
            (Fault::Forbidden, ErrorKind::PermissionDenied),
        ];
        for (fault, kind) in faults {
            sb.inject(fault.clone(), scope.clone(), 1);
            let err = expect(updater, ticket, &update, kind).await;
            if kind == ErrorKind::RateLimited {
                assert_eq!(err.retry_after(), Some(Duration::from_secs(2)), "{fault:?}");
            }
        }
        // An answer thirty times later than a one-second attempt timeout: a timeout, however
        // slow the machine (a client of its own, so that no other answer is timed so short).
        let impatient = if scope == Scope::EngageLab {
            engagelab_timing_out(&sb, 0, 1000)
        } else {
            let token = &sb.credentials().feishu_helpdesk_token;
            feishu_timing_out(&sb, 0, token, 1000)
        };
        sb.inject(Fault::Latency(Duration::from_secs(30)), scope.clone(), 1);
        expect(&impatient, ticket, &update, ErrorKind::Timeout).await;
        expect(updater, "no-such-ticket", &update, ErrorKind::NotFound).await;
        expect(
            updater,
            ticket,
            &TicketUpdate::default(),
            ErrorKind::InvalidInput,
        )
        .await;
    }
    // Wrong credentials, and valid credentials without access to the helpdesk.
    let c = sb.credentials();
    let wrong = helpdesk::connect(&Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "someone-else"),
        ("engagelab.api_secret", c.engagelab_api_secret.as_str()),
        ("engagelab.base_url", sb.base_url().as_str()),
    ]))
    .unwrap();
    expect(&wrong, "tk_1", &el_update(), ErrorKind::Unauthenticated).await;
    let forbidden = feishu_with(&sb, 0, "not-the-helpdesk-token");
    let err = expect(&forbidden, "1", &fs_update(), ErrorKind::PermissionDenied).await;
    assert_eq!(
        err.server().unwrap().code.as_ref().and_then(|c| c.as_i64()),
        Some(154003)
    );
    sb.inject(Fault::ExpireToken, Scope::Feishu, 1);
    let err = expect(&fs, "1", &fs_update(), ErrorKind::Unauthenticated).await;
    assert_eq!(
        err.server().unwrap().code.as_ref().and_then(|c| c.as_i64()),
        Some(99991677)
    );
    // Unsupported and configuration errors never reach the server.
    expect(&fs, "1", &el_update(), ErrorKind::Unsupported).await;
    let err = helpdesk::connect(&Config::from_map([
        ("provider", "feishu"),
        ("feishu.user_access_token", "u"),
        ("feishu.helpdesk_id", "1"),
        ("feishu.helpdesk_token", "t"),
        ("feishu.base_url", "http://sandbox.example.com"),
    ]))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn faults_are_ridden_out_with_retries() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("tk_1")
        .seed_feishu_default("1")
        .start()
        .await
        .unwrap();
    for (updater, ticket, update, scope) in [
        (engagelab(&sb, 3), "tk_1", el_update(), Scope::EngageLab),
        (feishu(&sb, 3), "1", fs_idempotent_update(), Scope::Feishu),
    ] {
        sb.inject(Fault::ServerError { status: 502 }, scope.clone(), 1);
        sb.inject(Fault::DropConnection, scope.clone(), 1);
        sb.inject(Fault::RateLimitLegacy400 { reset_secs: 0 }, scope, 1);
        let receipt = updater.update(&id(ticket), &update).await.unwrap();
        assert_eq!(receipt.attempts, 4, "{}", updater.provider());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_updates_all_land_over_reused_connections() {
    let mut builder = Sandbox::builder().seed_feishu_default("shared");
    for i in 0..200 {
        builder = builder.seed_engagelab_default(format!("tk_{i}"));
    }
    let sb = builder.start().await.unwrap();
    // At most 16 in flight at once: HTTP/1.1 needs one connection per request in flight.
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    for updater in [engagelab(&sb, 0), feishu(&sb, 0)] {
        sb.reset_stats();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let updater = Arc::clone(&updater);
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let (ticket, update) = if updater.provider() == "engagelab" {
                    let u = TicketUpdate::builder()
                        .title(format!("update {i}"))
                        .description("d")
                        .priority(Priority::Medium)
                        .build()
                        .unwrap();
                    (format!("tk_{i}"), u)
                } else {
                    (
                        "shared".to_owned(),
                        TicketUpdate::builder()
                            .comment(format!("comment {i}"))
                            .build()
                            .unwrap(),
                    )
                };
                updater.update(&id(&ticket), &update).await.unwrap()
            });
        }
        let mut count = 0;
        while let Some(receipt) = tasks.join_next().await {
            assert_eq!(receipt.unwrap().attempts, 1);
            count += 1;
        }
        assert_eq!(count, 200);
        let stats = sb.stats();
        let requests = stats.engagelab_requests + stats.feishu_requests;
        assert_eq!(requests, 200, "{}", updater.provider());
        // Reuse, not one connection per request: at most 16 are ever in flight, but a
        // connection goes back to the pool a moment after its permit is released, so a
        // request can start before it is reusable. 200 requests on at most twice 16 shows reuse.
        assert!(
            stats.connections <= 32,
            "{}: {} connections for 200 requests",
            updater.provider(),
            stats.connections
        );
    }
    for i in 0..200 {
        assert_eq!(
            sb.engagelab_ticket(&format!("tk_{i}")).unwrap().title,
            format!("update {i}")
        );
    }
    let comments = sb.feishu_ticket("shared").unwrap().comments;
    let mut expected: Vec<String> = (0..200).map(|i| format!("comment {i}")).collect();
    let mut got = comments.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}
