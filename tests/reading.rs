//! Reading, merge mode and verification end to end, over real loopback HTTP against the
//! sandbox (and a scripted server where a server must misbehave): what is read, what merge
//! keeps, what verification catches, which token a Feishu read carries, how the tenant token is
//! shared and renewed, and that no secret leaves the read path.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use helpdesk::{
    Config, ErrorKind, Field, Priority, TicketError, TicketKind, TicketStatus, TicketUpdate,
    TicketUpdater,
};
use provider_engagelab::{EngageLabClient, EngageLabConfig, ReadPath};
use provider_feishu::{FeishuClient, FeishuConfig, Region, StaticToken, TenantToken};
use support::{id, trace_logs};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{HttpOptions, RetryPolicy, TokenSource};
use ticket_sandbox::{
    DropTarget, EngageLabGetPaths, EngageLabTicket, Fault, FeishuCustomizedField,
    FeishuDropdownOption, FeishuFieldDef, FeishuTicket, OmittedPriority, Provider, Sandbox, Scope,
};

/// The EngageLab ticket the merge tests start from.
fn urgent() -> EngageLabTicket {
    EngageLabTicket::new("Printer jam", "A4 stuck in tray 2.")
        .with_priority("urgent")
        .with_ticket_type("incident")
        .with_tags(["printer"])
        .with_custom_field("device_sn", "PRN-1")
        .with_custom_field("floor", 3)
}

fn engagelab(sb: &Sandbox, path: ReadPath) -> EngageLabClient {
    let c = sb.credentials();
    let config = EngageLabConfig::new(&c.engagelab_api_key, &c.engagelab_api_secret)
        .unwrap()
        .with_base_url(&sb.base_url())
        .unwrap()
        .with_read_path(path)
        .with_http_options(HttpOptions::default().retry(RetryPolicy::disabled()));
    EngageLabClient::new(config).unwrap()
}

/// A Feishu client of `sb` with a static user token and, when `app` is set, the app's
/// credentials for reads.
fn feishu(sb: &Sandbox, app: bool) -> FeishuClient {
    let c = sb.credentials();
    let mut config = FeishuConfig::with_static_token(
        &c.feishu_user_access_token,
        &c.feishu_helpdesk_id,
        &c.feishu_helpdesk_token,
    )
    .unwrap()
    .with_base_url(&sb.base_url())
    .unwrap()
    .with_http_options(HttpOptions::default().retry(RetryPolicy::disabled()));
    if app {
        config = config
            .with_app_credentials(&c.feishu_app_id, &c.feishu_app_secret)
            .unwrap();
    }
    FeishuClient::new(config).unwrap()
}

#[tokio::test]
async fn an_engagelab_read_gives_the_ticket_in_the_unified_vocabulary() {
    let sb = Sandbox::builder()
        .seed_engagelab(
            "tk_1",
            urgent().with_attachment("https://files.example.com/a.png"),
        )
        .start()
        .await
        .unwrap();
    let s = engagelab(&sb, ReadPath::Api)
        .read(&id("tk_1"))
        .await
        .unwrap();
    assert_eq!(s.provider, "engagelab");
    assert_eq!(s.title.as_deref(), Some("Printer jam"));
    assert_eq!(s.description.as_deref(), Some("A4 stuck in tray 2."));
    assert_eq!(
        (s.priority, s.kind),
        (Some(Priority::Urgent), Some(TicketKind::Incident))
    );
    assert_eq!(s.tags.as_deref(), Some(&["printer".to_owned()][..]));
    let fields = s.custom_fields.as_ref().unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0].key.as_deref(), Some("device_sn"));
    assert_eq!(fields[1].value, 3);
    assert_eq!(s.attachments.unwrap(), ["https://files.example.com/a.png"]);
    assert_eq!(s.status, Some(TicketStatus::Open));
    assert_eq!(s.native_status.unwrap().value(), "open");
    assert!(s.updated_at.is_some());
    assert_eq!(s.raw["ticket_id"], "tk_1");
    let stats = sb.stats();
    assert_eq!(
        (stats.engagelab_gets, stats.engagelab_gets_bare_path),
        (1, 0)
    );
    // Sends exactly what its preview says: the update's Basic auth on a GET.
    let preview = engagelab(&sb, ReadPath::Api)
        .preview_read(&id("tk_1"))
        .unwrap();
    let sent = sb.requests().pop().unwrap();
    assert_eq!(preview.method, "GET");
    assert!(
        preview.url.ends_with(&sent.path),
        "{} {}",
        preview.url,
        sent.path
    );
    assert_eq!(sent.path, "/api/v2/accounts/tickets/tk_1");
    assert!(
        preview
            .headers
            .iter()
            .any(|(n, v)| n == "authorization" && v == "<redacted>")
    );
}

/// The read path is the one configured: each mode of the sandbox serves only its own.
#[tokio::test]
async fn the_engagelab_read_path_is_the_configured_one() {
    let sb = Sandbox::builder()
        .seed_engagelab("tk_1", urgent())
        .start()
        .await
        .unwrap();
    for (mode, ours, other) in [
        (EngageLabGetPaths::Api, ReadPath::Api, ReadPath::Bare),
        (EngageLabGetPaths::Bare, ReadPath::Bare, ReadPath::Api),
    ] {
        sb.set_engagelab_get_paths(mode);
        let s = engagelab(&sb, ours).read(&id("tk_1")).await.unwrap();
        assert_eq!(s.priority, Some(Priority::Urgent));
        let err = engagelab(&sb, other).read(&id("tk_1")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    assert_eq!(sb.stats().engagelab_gets_bare_path, 2);
}

/// A tag-only update in merge mode keeps title, description and the urgent priority, whether
/// the sandbox resets an omitted priority (the document's reading) or keeps it.
#[tokio::test]
async fn a_tag_only_merge_keeps_title_description_and_priority_in_both_modes() {
    for mode in [OmittedPriority::Reset, OmittedPriority::Keep] {
        let sb = Sandbox::builder()
            .engagelab_omitted_priority(mode)
            .seed_engagelab("tk_1", urgent())
            .start()
            .await
            .unwrap();
        let client = engagelab(&sb, ReadPath::Api);
        let update = TicketUpdate::builder()
            .merge()
            .add_tag("vip")
            .build()
            .unwrap();
        let receipt = client.update(&id("tk_1"), &update).await.unwrap();
        let t = sb.engagelab_ticket("tk_1").unwrap();
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
        assert_eq!(t.custom_fields.len(), 2, "custom fields untouched");
        let merge = receipt.merge.unwrap();
        assert_eq!(
            merge.filled,
            [Field::Title, Field::Description, Field::Priority]
        );
        assert!(merge.read_updated_at.is_some());
        let stats = sb.stats();
        assert_eq!((stats.engagelab_gets, stats.engagelab_puts), (1, 1));
    }
}

/// The same update without merge mode is refused before anything is sent.
#[tokio::test]
async fn without_merge_an_update_that_would_reset_the_priority_is_refused() {
    let sb = Sandbox::builder()
        .seed_engagelab("tk_1", urgent())
        .start()
        .await
        .unwrap();
    let client = engagelab(&sb, ReadPath::Api);
    let update = TicketUpdate::builder()
        .title("Printer jam")
        .description("A4 stuck in tray 2.")
        .tag("vip")
        .build()
        .unwrap();
    let err = client.update(&id("tk_1"), &update).await.unwrap_err();
    let TicketError::InvalidInput { field, reason } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "priority");
    assert!(reason.contains("set it, or use merge mode"), "{reason}");
    assert_eq!(sb.stats().engagelab_requests, 0);
    assert_eq!(sb.engagelab_ticket("tk_1").unwrap().priority, "urgent");
}

/// Setting one custom field and removing another keeps the third (EngageLab replaces the
/// object whole, so merge mode sends it whole).
#[tokio::test]
async fn merge_sets_and_unsets_one_custom_field_and_keeps_the_others() {
    let sb = Sandbox::builder()
        .seed_engagelab("tk_1", urgent().with_custom_field("room", "3F-12"))
        .start()
        .await
        .unwrap();
    let update = TicketUpdate::builder()
        .merge()
        .custom_field("device_sn", "PRN-2")
        .unset_custom_field("floor")
        .verify()
        .build()
        .unwrap();
    let receipt = engagelab(&sb, ReadPath::Api)
        .update(&id("tk_1"), &update)
        .await
        .unwrap();
    let fields = sb.engagelab_ticket("tk_1").unwrap().custom_fields;
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(
        (fields["device_sn"].as_str(), fields["room"].as_str()),
        (Some("PRN-2"), Some("3F-12"))
    );
    let v = receipt.verification.unwrap();
    assert!(v.is_verified(), "{v:?}");
    assert!(v.verified.contains(&"custom_fields.device_sn".to_owned()));
}

/// The sandbox answers success and does not store the priority: verification names exactly
/// that field, with what was sent and what was found.
#[tokio::test]
async fn verification_reports_exactly_the_field_the_server_silently_dropped() {
    let sb = Sandbox::builder()
        .seed_engagelab("tk_1", urgent().with_priority("low"))
        .start()
        .await
        .unwrap();
    sb.inject(
        Fault::SilentDrop(DropTarget::new(Provider::EngageLab, "priority").unwrap()),
        Scope::Ticket("tk_1".into()),
        1,
    );
    let update = TicketUpdate::builder()
        .merge()
        .priority(Priority::Urgent)
        .add_tag("escalated")
        .verify()
        .build()
        .unwrap();
    let receipt = engagelab(&sb, ReadPath::Api)
        .update(&id("tk_1"), &update)
        .await
        .unwrap();
    assert_eq!(sb.stats().silent_drops, 1);
    let v = receipt.verification.unwrap();
    assert_eq!(v.outcome(), "drifted");
    assert_eq!(v.drifted.len(), 1, "{v:?}");
    assert_eq!(v.drifted[0].field, "priority");
    assert_eq!(
        (v.drifted[0].sent.as_str(), v.drifted[0].found.as_str()),
        (Some("urgent"), Some("low"))
    );
    assert_eq!(v.verified, ["title", "description", "tags"]);
    assert!(v.concurrent.is_empty(), "{:?}", v.concurrent);
}

/// Someone renames the ticket between this update and its read back: the verification says
/// so, rather than hiding it.
#[tokio::test]
async fn a_change_by_someone_else_between_the_reads_is_reported() {
    let sb = Sandbox::builder()
        .seed_engagelab("tk_1", urgent())
        .start()
        .await
        .unwrap();
    // The read back (the third request on the ticket) is held long enough to change the
    // ticket meanwhile; the poll below waits for it to arrive, with a generous deadline.
    sb.inject(
        Fault::Latency(Duration::from_millis(1)),
        Scope::Ticket("tk_1".into()),
        2,
    );
    sb.inject(
        Fault::Latency(Duration::from_secs(8)),
        Scope::Ticket("tk_1".into()),
        1,
    );
    let client = Arc::new(engagelab(&sb, ReadPath::Api));
    let update = TicketUpdate::builder()
        .merge()
        .add_tag("vip")
        .verify()
        .build()
        .unwrap();
    let task = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.update(&id("tk_1"), &update).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while sb.stats().engagelab_gets < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read back never came"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut renamed = sb.engagelab_ticket("tk_1").unwrap();
    renamed.title = "Renamed by a colleague".into();
    sb.seed_engagelab("tk_1", renamed);
    let receipt = task.await.unwrap().unwrap();
    let v = receipt.verification.unwrap();
    assert!(
        v.concurrent.iter().any(|c| c.starts_with("title changed")),
        "{:?}",
        v.concurrent
    );
    // The title was sent (filled by merge) and is found otherwise: a drift too.
    assert_eq!(v.drifted.len(), 1, "{v:?}");
    assert_eq!(v.drifted[0].field, "title");
}

fn level() -> FeishuFieldDef {
    FeishuFieldDef::dropdown(
        "6834320707288072194",
        "level",
        [
            FeishuDropdownOption::new("opt-hi", "High"),
            FeishuDropdownOption::new("opt-lo", "Low"),
        ],
    )
}

async fn feishu_sandbox() -> Sandbox {
    Sandbox::builder()
        .feishu_field(level())
        .seed_feishu(
            "7001",
            FeishuTicket::default()
                .with_status(52)
                .with_solved(2)
                .with_tags(["printer"])
                .with_comment("called back")
                .with_field(FeishuCustomizedField::new(
                    Some("6834320707288072194"),
                    None,
                    Some("opt-lo"),
                )),
        )
        .seed_feishu_default("7002")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_feishu_read_maps_the_read_table_and_names_the_dropdown_option() {
    let sb = feishu_sandbox().await;
    let s = feishu(&sb, true).read(&id("7001")).await.unwrap();
    assert_eq!(s.status, Some(TicketStatus::Closed));
    assert_eq!(s.native_status.unwrap().value(), "closed_by_user");
    assert_eq!(s.native_status_code.as_deref(), Some("52"));
    assert_eq!(s.solved, Some(true));
    assert_eq!(s.tags.unwrap(), ["printer"]);
    assert_eq!(s.latest_comment.as_deref(), Some("called back"));
    let field = &s.custom_fields.unwrap()[0];
    assert_eq!(
        (field.key.as_deref(), field.value.as_str()),
        (Some("level"), Some("Low"))
    );
    assert_eq!(field.option.as_deref(), Some("opt-lo"));
    assert!(s.title.is_none() && s.priority.is_none());
    assert!(s.updated_at.is_some());
}

/// Feishu reads carry a tenant token, never the user token; updates carry the user token.
#[tokio::test]
async fn feishu_reads_use_a_tenant_token_and_never_the_user_token() {
    let sb = feishu_sandbox().await;
    let client = feishu(&sb, true);
    let update = TicketUpdate::builder()
        .merge()
        .status(TicketStatus::InProgress)
        .custom_field_with_id("6834320707288072194", "level", "opt-hi")
        .add_tag("vip")
        .comment("on it")
        .verify()
        .build()
        .unwrap();
    let receipt = client.update(&id("7002"), &update).await.unwrap();
    client.read(&id("7001")).await.unwrap();
    let stats = sb.stats();
    assert_eq!(stats.feishu_gets, 3);
    assert_eq!(stats.feishu_gets_tenant_token, 3);
    assert_eq!(
        stats.feishu_gets_user_token, 0,
        "the user token went to a read"
    );
    assert_eq!((stats.feishu_puts, stats.feishu_puts_user_token), (1, 1));
    let user = &sb.credentials().feishu_user_access_token;
    for r in sb.requests().iter().filter(|r| r.method == "GET") {
        let auth = r
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap();
        assert!(!auth.1.contains(user.as_str()), "{r:?}");
    }
    // Read back by the read's rules: status 2, the option's label for its tag, the latest
    // comment, tags in any order.
    let v = receipt.verification.unwrap();
    assert!(v.is_verified(), "{v:?}");
    assert_eq!(
        v.verified,
        ["tags", "custom_fields.level", "status", "comment"]
    );
}

#[tokio::test]
async fn feishu_verification_catches_a_dropped_custom_field() {
    let sb = feishu_sandbox().await;
    sb.inject(
        Fault::SilentDrop(
            DropTarget::new(Provider::Feishu, "customized_fields.6834320707288072194").unwrap(),
        ),
        Scope::Feishu,
        1,
    );
    let update = TicketUpdate::builder()
        .custom_field_with_id("6834320707288072194", "level", "opt-hi")
        .status(TicketStatus::Closed)
        .verify()
        .build()
        .unwrap();
    let receipt = feishu(&sb, true)
        .update(&id("7001"), &update)
        .await
        .unwrap();
    let v = receipt.verification.unwrap();
    assert_eq!(v.drifted.len(), 1, "{v:?}");
    assert_eq!(v.drifted[0].field, "custom_fields.level");
    assert_eq!(
        (v.drifted[0].sent.as_str(), v.drifted[0].found.as_str()),
        (Some("opt-hi"), Some("Low"))
    );
    assert_eq!(v.verified, ["status"]);
}

/// Many reads at once: one tenant token fetch, shared by every waiter.
#[tokio::test]
async fn the_tenant_token_is_fetched_once_for_many_concurrent_reads() {
    let sb = feishu_sandbox().await;
    let client = Arc::new(feishu(&sb, true));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let client = Arc::clone(&client);
        tasks.spawn(async move { client.read(&id("7002")).await });
    }
    while let Some(read) = tasks.join_next().await {
        read.unwrap().unwrap();
    }
    let stats = sb.stats();
    assert_eq!(stats.tenant_token_requests, 1);
    assert_eq!(stats.feishu_gets_tenant_token, 40);
}

/// A refused tenant token (every token expired) is renewed once and the read sent again.
#[tokio::test]
async fn a_refused_tenant_token_is_renewed_and_the_read_repeated() {
    let sb = feishu_sandbox().await;
    let client = feishu(&sb, true);
    client.read(&id("7002")).await.unwrap();
    let first = sb.current_tenant_access_token();
    sb.expire_access_tokens();
    client.read(&id("7002")).await.unwrap();
    let stats = sb.stats();
    assert_eq!(stats.tenant_token_requests, 2);
    assert_eq!(
        stats.tenant_tokens_issued, 1,
        "the expired token was replaced"
    );
    assert_ne!(sb.current_tenant_access_token(), first);
    assert_eq!(stats.feishu_gets, 3, "the refused read, then the repeat");
}

/// With less than the renewal margin left, the next read fetches a new tenant token first.
#[tokio::test]
async fn a_tenant_token_near_its_end_is_renewed_before_it_is_used() {
    let sb = Sandbox::builder()
        .seed_feishu_default("7002")
        .tenant_token_ttl(Duration::from_secs(6))
        .tenant_token_renew_window(Duration::from_secs(4))
        .start()
        .await
        .unwrap();
    let c = sb.credentials();
    let config = FeishuConfig::with_static_token(
        &c.feishu_user_access_token,
        &c.feishu_helpdesk_id,
        &c.feishu_helpdesk_token,
    )
    .unwrap()
    .with_base_url(&sb.base_url())
    .unwrap()
    .with_app_credentials(&c.feishu_app_id, &c.feishu_app_secret)
    .unwrap()
    .with_tenant_renew_before(Duration::from_secs(4));
    let client = FeishuClient::new(config).unwrap();
    client.read(&id("7002")).await.unwrap();
    assert_eq!(sb.stats().tenant_token_requests, 1);
    // The sandbox's first token has at most 6 s; renewal is due 3 s after the fetch (the
    // margin is at most half the lifetime). Waiting longer than that can only make it due, and
    // the sandbox then hands out a new token (less than its 4 s window is left).
    tokio::time::sleep(Duration::from_millis(3200)).await;
    client.read(&id("7002")).await.unwrap();
    let stats = sb.stats();
    assert_eq!(stats.tenant_token_requests, 2);
    assert_eq!(
        stats.feishu_gets, 2,
        "no read was refused: the token was renewed first"
    );
}

/// Without the app's credentials a Feishu client updates, and every read (merge mode and
/// verification included) is a configuration error naming the keys, with nothing sent.
#[tokio::test]
async fn without_app_credentials_reading_is_a_configuration_error_naming_the_keys() {
    let sb = feishu_sandbox().await;
    let client = feishu(&sb, false);
    client
        .update(
            &id("7002"),
            &TicketUpdate::builder().tag("a").build().unwrap(),
        )
        .await
        .unwrap();
    let merge = TicketUpdate::builder()
        .merge()
        .add_tag("b")
        .build()
        .unwrap();
    let verify = TicketUpdate::builder().tag("b").verify().build().unwrap();
    let errors = [
        client.read(&id("7002")).await.unwrap_err(),
        client.update(&id("7002"), &merge).await.unwrap_err(),
        client.update(&id("7002"), &verify).await.unwrap_err(),
        client.check(&id("7002"), &merge).unwrap_err(),
        client.preview(&id("7002"), &verify).unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("`app_id`") && text.contains("`app_secret`"),
            "{text}"
        );
    }
    let stats = sb.stats();
    assert_eq!(
        (
            stats.feishu_gets,
            stats.feishu_puts,
            stats.tenant_token_requests
        ),
        (0, 1, 0)
    );
    // The same from configuration keys.
    let c = sb.credentials();
    let config = Config::from_map([
        ("provider", "feishu".to_owned()),
        (
            "feishu.user_access_token",
            c.feishu_user_access_token.clone(),
        ),
        ("feishu.helpdesk_id", c.feishu_helpdesk_id.clone()),
        ("feishu.helpdesk_token", c.feishu_helpdesk_token.clone()),
        ("feishu.base_url", sb.base_url()),
    ]);
    let updater = helpdesk::connect(&config).unwrap();
    let err = updater.read(&id("7002")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    // With them (a static user token kept static), it reads.
    let config = Config::from_map([
        ("provider", "feishu".to_owned()),
        ("feishu.user_token", "static".to_owned()),
        (
            "feishu.user_access_token",
            c.feishu_user_access_token.clone(),
        ),
        ("feishu.app_id", c.feishu_app_id.clone()),
        ("feishu.app_secret", c.feishu_app_secret.clone()),
        ("feishu.helpdesk_id", c.feishu_helpdesk_id.clone()),
        ("feishu.helpdesk_token", c.feishu_helpdesk_token.clone()),
        ("feishu.base_url", sb.base_url()),
    ]);
    let updater = helpdesk::connect(&config).unwrap();
    updater.read(&id("7002")).await.unwrap();
    assert_eq!(sb.stats().feishu_gets_tenant_token, 1);
}

/// Lark: the tenant token and the read go to the region's host.
#[test]
fn lark_reads_and_fetches_tenant_tokens_on_its_own_host() {
    let config = FeishuConfig::with_static_token("u-1", "70", "ht")
        .unwrap()
        .with_region(Region::Lark)
        .with_app_credentials("cli_1", "app-secret-lark")
        .unwrap();
    let client = FeishuClient::new(config).unwrap();
    let preview = client.preview_read(&id("7002")).unwrap();
    assert_eq!(
        preview.url,
        "https://open.larksuite.com/open-apis/helpdesk/v1/tickets/7002"
    );
    let tenant = TenantToken::builder("cli_1", "app-secret-lark")
        .region(Region::Lark)
        .build()
        .unwrap();
    let debug = format!("{tenant:?}");
    assert!(
        debug.contains("https://open.larksuite.com/open-apis/auth/v3/tenant_access_token/internal"),
        "{debug}"
    );
    assert!(!debug.contains("app-secret-lark"), "{debug}");
}

/// A server that echoes every header it receives, and the tenant token endpoint that echoes
/// the app secret: no user token, tenant token or app secret in any error, Debug output,
/// preview or log line of the read path.
#[tokio::test]
async fn no_secret_leaves_the_read_path() {
    const USER: &str = "u-user-token-7f1bcd13fc57d46bac";
    const TENANT: &str = "t-tenant-token-caecc734c2e3328a";
    const APP_SECRET: &str = "app-secret-9d8e7f6a5b4c";
    const HELPDESK: &str = "helpdesk-token-1a2b3c4d";
    let logs = trace_logs();
    let start = logs.len();
    let server = ScriptedServer::start(|request| {
        if request.target.starts_with("/open-apis/auth/v3/") {
            return Reply::json(
                200,
                &format!(
                    r#"{{"code":0,"msg":"ok","tenant_access_token":"{TENANT}","expire":7200}}"#
                ),
            );
        }
        let mut echo = String::from("echo:");
        for (_, value) in &request.headers {
            echo.push_str(&format!(" {value}"));
        }
        echo.push_str(&format!(" {APP_SECRET} {USER} {TENANT}"));
        Reply::json(
            400,
            &serde_json::json!({"code": 154000, "msg": echo}).to_string(),
        )
    })
    .await
    .unwrap();
    let config = FeishuConfig::with_static_token(USER, "70", HELPDESK)
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_app_credentials("cli_1", APP_SECRET)
        .unwrap()
        .with_http_options(HttpOptions::default().retry(RetryPolicy::disabled()));
    let client = FeishuClient::new(config.clone()).unwrap();
    let err = client.read(&id("7002")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    let verify = TicketUpdate::builder().tag("a").verify().build().unwrap();
    let preview = client.preview(&id("7002"), &verify).unwrap();
    let read_preview = client.preview_read(&id("7002")).unwrap();
    // The token endpoint refuses, echoing the secret it was sent.
    let refusing = ScriptedServer::always(Reply::json(
        200,
        &format!(r#"{{"code":10014,"msg":"app secret invalid: {APP_SECRET}"}}"#),
    ))
    .await
    .unwrap();
    let refused_client = FeishuClient::new(config.with_base_url(refusing.url()).unwrap()).unwrap();
    let refused = refused_client.read(&id("7002")).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthenticated, "{refused}");
    assert!(refused.to_string().contains("app_secret"), "{refused}");
    let outputs = format!(
        "{err} {err:?} {preview} {preview:?} {read_preview} {read_preview:?} {client:?} {refused} {refused:?} {refused_client:?} {}",
        logs.text_from(start)
    );
    for secret in [USER, TENANT, APP_SECRET, HELPDESK] {
        assert!(!outputs.contains(secret), "{secret} leaked: {outputs}");
    }
    assert!(
        outputs.contains("<redacted>"),
        "the echo was scrubbed, not lost"
    );
    // And the tenant token did reach the server, in the read's Authorization.
    let read = server
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(
        read.header("authorization"),
        Some(format!("Bearer {TENANT}").as_str())
    );
}

/// A fixed tenant token from the caller's own source is used as given.
#[tokio::test]
async fn a_callers_tenant_token_source_is_used() {
    let sb = feishu_sandbox().await;
    let c = sb.credentials();
    let tenant: Arc<dyn TokenSource> =
        Arc::new(StaticToken::new(&c.feishu_tenant_access_token, "the tenant token").unwrap());
    let config = FeishuConfig::with_static_token(
        &c.feishu_user_access_token,
        &c.feishu_helpdesk_id,
        &c.feishu_helpdesk_token,
    )
    .unwrap()
    .with_base_url(&sb.base_url())
    .unwrap()
    .with_tenant_token_source(tenant);
    FeishuClient::new(config)
        .unwrap()
        .read(&id("7002"))
        .await
        .unwrap();
    let stats = sb.stats();
    assert_eq!(
        (stats.feishu_gets_tenant_token, stats.tenant_token_requests),
        (1, 0)
    );
}
