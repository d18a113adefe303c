//! Feishu reads over real loopback HTTP: the tenant token endpoint, `GET` ticket in the read's
//! own form (status numbers, `solve`, tags, dropdown labels, the latest comment), which token
//! each route takes, the custom field list, and the read's own rate limit.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use helpdesk_ticket_sandbox::{
    Fault, FeishuCustomizedField, FeishuDropdownOption, FeishuFieldDef, FeishuTicket, Provider,
    Sandbox, Scope,
};
use serde_json::{Value, json};

/// `POST /open-apis/auth/v3/tenant_access_token/internal` with this body.
async fn tenant_token(sb: &Sandbox, client: &reqwest::Client, body: &str) -> Resp {
    let resp = client
        .post(sb.feishu_tenant_token_url())
        .header("Content-Type", CT_FEISHU)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    read(resp).await
}

fn app_body(sb: &Sandbox) -> String {
    let c = sb.credentials();
    json!({"app_id": c.feishu_app_id, "app_secret": c.feishu_app_secret}).to_string()
}

/// The answer's `data.ticket`, after checking the envelope.
fn ticket_of(resp: &Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v = resp.json();
    assert_eq!(
        (v["code"].as_i64(), v["msg"].as_str()),
        (Some(0), Some("success"))
    );
    v["data"]["ticket"].clone()
}

#[tokio::test]
async fn tenant_token_endpoint_hands_out_the_current_token_while_it_has_30_minutes() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    let resp = tenant_token(&sb, &client, &app_body(&sb)).await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("x-tt-logid").is_some());
    let v = resp.json();
    // Top-level fields, no `data`, in the page's order.
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{v}");
    let at: Vec<Option<usize>> = ["code", "msg", "tenant_access_token", "expire"]
        .iter()
        .map(|k| resp.body.find(&format!("\"{k}\":")))
        .collect();
    assert!(
        at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]),
        "{}",
        resp.body
    );
    assert_eq!(
        (v["code"].as_i64(), v["msg"].as_str()),
        (Some(0), Some("ok"))
    );
    // The configured token, valid for two hours from start: it has more than 30 minutes left,
    // so it comes back with the seconds it has left.
    assert_eq!(
        v["tenant_access_token"],
        sb.credentials().feishu_tenant_access_token
    );
    let expire = v["expire"].as_u64().unwrap();
    assert!((1800..=7200).contains(&expire), "{expire}");
    let again = tenant_token(&sb, &client, &app_body(&sb)).await.json();
    assert_eq!(again["tenant_access_token"], v["tenant_access_token"]);
    let stats = sb.stats();
    assert_eq!(
        (stats.tenant_token_requests, stats.tenant_tokens_issued),
        (2, 0)
    );
    assert_eq!(stats.feishu_requests, 0);
}

#[tokio::test]
async fn tenant_token_is_renewed_inside_the_window_and_the_old_one_stays_valid() {
    // A lifetime shorter than the renew window: every call is inside the window.
    let sb = Sandbox::builder()
        .tenant_token_ttl(Duration::from_secs(600))
        .tenant_token_renew_window(Duration::from_secs(3600))
        .seed_feishu_default("t")
        .start()
        .await
        .unwrap();
    let client = client();
    let first = tenant_token(&sb, &client, &app_body(&sb)).await.json();
    let second = tenant_token(&sb, &client, &app_body(&sb)).await.json();
    let (a, b) = (
        first["tenant_access_token"].as_str().unwrap(),
        second["tenant_access_token"].as_str().unwrap(),
    );
    assert_ne!(a, b);
    assert!(a.starts_with("t-") && b.starts_with("t-"), "{a} {b}");
    assert_eq!(first["expire"], 600);
    assert_eq!(sb.current_tenant_access_token(), b);
    assert_eq!(sb.stats().tenant_tokens_issued, 2);
    // Both, and the configured one, still read.
    for token in [a, b, sb.credentials().feishu_tenant_access_token.as_str()] {
        assert_eq!(
            fs_get_with(&sb, &client, "t", token).await.code(),
            0,
            "{token}"
        );
    }
}

#[tokio::test]
async fn tenant_tokens_expire_after_their_lifetime() {
    let sb = Sandbox::builder()
        // Five seconds: the fresh token below is used right after its issue, which no loaded
        // machine delays that long; the first one's expiry is polled for, not guessed.
        .tenant_token_ttl(Duration::from_secs(5))
        .seed_feishu_default("t")
        .start()
        .await
        .unwrap();
    let client = client();
    let token = sb.current_tenant_access_token();
    // Poll with a generous deadline instead of sleeping a guessed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let resp = fs_get_with(&sb, &client, "t", &token).await;
        if resp.code() != 0 || std::time::Instant::now() > deadline {
            break resp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((refused.status, refused.code()), (401, 99_991_663));
    // A fresh one from the endpoint reads again.
    let fresh = tenant_token(&sb, &client, &app_body(&sb)).await.json();
    let fresh = fresh["tenant_access_token"].as_str().unwrap();
    assert_ne!(fresh, token);
    assert_eq!(fs_get_with(&sb, &client, "t", fresh).await.code(), 0);
}

#[tokio::test]
async fn tenant_token_refusals_are_http_200_with_a_code() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    let c = sb.credentials();
    let cases = [
        (
            json!({"app_id": c.feishu_app_id, "app_secret": "wrong"}).to_string(),
            10014,
            "app secret invalid",
        ),
        (
            json!({"app_id": "cli_other", "app_secret": c.feishu_app_secret}).to_string(),
            10003,
            "invalid param",
        ),
        (
            json!({"app_id": c.feishu_app_id}).to_string(),
            10003,
            "invalid param",
        ),
        (
            json!({"app_id": 1, "app_secret": 2}).to_string(),
            10003,
            "invalid param",
        ),
        ("not json".to_owned(), 10003, "invalid param"),
    ];
    for (body, code, msg) in cases {
        let resp = tenant_token(&sb, &client, &body).await;
        assert_eq!(resp.status, 200, "{body}");
        assert_eq!(resp.json(), json!({"code": code, "msg": msg}), "{body}");
    }
    let stats = sb.stats();
    assert_eq!(
        (stats.tenant_token_requests, stats.tenant_token_refused),
        (5, 5)
    );
    assert_eq!(stats.tenant_tokens_issued, 0);
    let resp = client
        .get(sb.feishu_tenant_token_url())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn get_takes_a_tenant_token_and_refuses_a_user_token() {
    let sb = Sandbox::builder()
        .seed_feishu_default("t")
        .start()
        .await
        .unwrap();
    let client = client();
    let user = sb.current_access_token();
    let tenant = sb.current_tenant_access_token();

    let resp = fs_get_with(&sb, &client, "t", &user).await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json(),
        json!({"code": 99_991_668, "msg": "user access token not support"})
    );
    assert!(resp.header("x-tt-logid").is_some());
    assert_eq!(
        ticket_of(&fs_get_with(&sb, &client, "t", &tenant).await)["ticket_id"],
        "t"
    );
    for token in ["", "t-never-issued"] {
        let resp = fs_get_with(&sb, &client, "t", token).await;
        assert_eq!((resp.status, resp.code()), (401, 99_991_663), "{token:?}");
    }

    // The update is the other way round.
    let resp = read(
        fs_put_with(&sb, &client, "t", &tenant, r#"{"status":2}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((resp.status, resp.code()), (401, 99_991_663));
    assert!(
        resp.json()["msg"]
            .as_str()
            .unwrap()
            .contains("tenant_access_token")
    );
    assert_eq!(fs_put(&sb, &client, "t", r#"{"status":2}"#).await.code(), 0);

    let s = sb.stats();
    assert_eq!(
        (
            s.feishu_gets,
            s.feishu_gets_user_token,
            s.feishu_gets_tenant_token
        ),
        (4, 1, 1)
    );
    assert_eq!(
        (
            s.feishu_puts,
            s.feishu_puts_tenant_token,
            s.feishu_puts_user_token
        ),
        (2, 1, 1)
    );
    // The helpdesk header is still required on the read.
    let resp = client
        .get(sb.feishu_ticket_url("t"))
        .bearer_auth(&tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(read(resp).await.code(), 154_003);
}

#[tokio::test]
async fn get_shows_the_reads_own_form() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .start()
        .await
        .unwrap();
    let client = client();
    let before = ticket_of(&fs_get(&sb, &client, "f").await);
    // Nothing conditional yet: no tags, no fields, no comment, open.
    for absent in [
        "tags",
        "customized_fields",
        "comments",
        "closed_at",
        "solved",
        "tag_names",
    ] {
        assert!(before.get(absent).is_none(), "{absent}: {before}");
    }
    assert_eq!(before["helpdesk_id"], sb.credentials().feishu_helpdesk_id);
    assert!(before["created_at"].as_i64().unwrap() > 1_600_000_000_000);

    let body = r#"{"status":51,"tag_names":["printer","vip"],"comment":"first","solved":2,"ticket_type":2,"channel":9}"#;
    assert_eq!(fs_put(&sb, &client, "f", body).await.code(), 0);
    assert_eq!(
        fs_put(&sb, &client, "f", r#"{"comment":"second"}"#)
            .await
            .code(),
        0
    );
    let t = ticket_of(&fs_get(&sb, &client, "f").await);
    let stored = sb.feishu_ticket("f").unwrap();
    assert_eq!(
        (t["status"].as_i64(), t["solve"].as_i64()),
        (Some(51), Some(2))
    );
    assert_eq!(
        (t["ticket_type"].as_i64(), t["channel"].as_i64()),
        (Some(2), Some(9))
    );
    assert_eq!(t["updated_at"], stored.updated_at);
    assert_eq!(t["closed_at"], stored.closed_at);
    assert!(stored.closed_at > 0);
    let tags = t["tags"].as_array().unwrap();
    let names: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["printer", "vip"]);
    let id = tags[0]["id"].as_str().unwrap();
    assert!(
        id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_ne!(tags[0]["id"], tags[1]["id"]);
    // `comments` is one object: the latest, numbered by position.
    let comments = sb.feishu_comments("f");
    assert_eq!(comments.len(), 2);
    assert_eq!(t["comments"]["content"], "second");
    assert_eq!(t["comments"]["id"], 2);
    assert_eq!(t["comments"]["created_at"], comments[1].created_at);
    assert!(t["comments"]["user_id"].as_i64().unwrap() > i64::from(u32::MAX));

    // Reopening clears `closed_at`.
    assert_eq!(fs_put(&sb, &client, "f", r#"{"status":2}"#).await.code(), 0);
    let t = ticket_of(&fs_get(&sb, &client, "f").await);
    assert!(t.get("closed_at").is_none(), "{t}");
    assert_eq!(sb.feishu_ticket("f").unwrap().closed_at, 0);
}

/// Every status the update takes reads back under the read's number for it; 52 exists only in
/// the read and only seeding sets it; the update refuses it.
#[tokio::test]
async fn get_status_after_puts_of_every_status() {
    let sb = Sandbox::builder()
        .seed_feishu_default("s")
        .seed_feishu("closed-by-user", FeishuTicket::default().with_status(52))
        .start()
        .await
        .unwrap();
    let client = client();
    for (put, read_as) in [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 4),
        (5, 5),
        (50, 50),
        (51, 51),
        (1, 1),
    ] {
        let body = format!(r#"{{"status":{put}}}"#);
        assert_eq!(fs_put(&sb, &client, "s", &body).await.code(), 0, "{put}");
        let t = ticket_of(&fs_get(&sb, &client, "s").await);
        assert_eq!(t["status"], read_as, "PUT {put}");
        assert_eq!(
            t.get("closed_at").is_some(),
            matches!(put, 50 | 51),
            "PUT {put}"
        );
    }
    let t = ticket_of(&fs_get(&sb, &client, "closed-by-user").await);
    assert_eq!(t["status"], 52);
    assert!(t["closed_at"].as_i64().unwrap() > 0);
    let resp = fs_put(&sb, &client, "s", r#"{"status":52}"#).await;
    assert_eq!((resp.status, resp.code()), (400, 154_000));
}

fn dropdown() -> FeishuFieldDef {
    FeishuFieldDef::dropdown(
        "6834320707288072194",
        "test dropdown",
        [
            FeishuDropdownOption::new("c495fe14", "l1")
                .with_children([FeishuDropdownOption::new("498ed5f1", "l2")]),
            FeishuDropdownOption::new("295cf315", "l11"),
        ],
    )
    .with_position(3)
    .with_display_name("Test dropdown")
}

#[tokio::test]
async fn dropdown_values_read_back_as_labels() {
    let sb = Sandbox::builder()
        .feishu_field(dropdown())
        .feishu_field(FeishuFieldDef::text("7000", "device_sn").with_required(true))
        .seed_feishu(
            "d",
            FeishuTicket::default().with_field(FeishuCustomizedField::new(
                Some("6834320707288072194"),
                None,
                Some("c495fe14"),
            )),
        )
        .start()
        .await
        .unwrap();
    let client = client();
    let t = ticket_of(&fs_get(&sb, &client, "d").await);
    assert_eq!(
        t["customized_fields"],
        json!([{"id": "6834320707288072194", "value": "l1", "key_name": "test dropdown",
                "display_name": "Test dropdown", "position": 3, "required": false, "editable": true}])
    );

    // The update writes the option tag (by key name here), the read shows the label; a nested
    // option works the same; a text field shows what was written.
    let body = r#"{"customized_fields":[{"key_name":"test dropdown","value":"498ed5f1"},{"id":"7000","value":"PRN-1"}]}"#;
    assert_eq!(fs_put(&sb, &client, "d", body).await.code(), 0);
    let stored = sb.feishu_ticket("d").unwrap();
    assert_eq!(
        stored.customized_fields[0].value.as_deref(),
        Some("498ed5f1")
    );
    let t = ticket_of(&fs_get(&sb, &client, "d").await);
    let values: Vec<(&str, &str)> = t["customized_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key_name"].as_str().unwrap(),
                f["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(values, [("test dropdown", "l2"), ("device_sn", "PRN-1")]);
    assert_eq!(t["customized_fields"][1]["required"], true);

    // Writing the label instead of the tag is refused and changes nothing.
    let body = r#"{"customized_fields":[{"id":"6834320707288072194","value":"l11"}]}"#;
    let resp = fs_put(&sb, &client, "d", body).await;
    assert_eq!((resp.status, resp.code()), (400, 154_000));
    assert!(
        resp.json()["msg"]
            .as_str()
            .unwrap()
            .contains("not an option tag"),
        "{}",
        resp.body
    );
    assert_eq!(sb.feishu_ticket("d").unwrap(), stored);
}

#[tokio::test]
async fn field_definitions_through_the_admin_api_and_the_list_endpoint() {
    let sb = Sandbox::builder()
        .seed_feishu_default("d")
        .start()
        .await
        .unwrap();
    let client = client();
    let def = json!({"id": "f1", "key_name": "level", "display_name": "Level", "field_type": "dropdown",
                     "dropdown_options": [{"tag": "t-hi", "display_name": "High"}]});
    let resp = client
        .post(format!("{}/feishu/fields", sb.admin_url()))
        .body(def.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for i in 2..=4 {
        sb.define_feishu_field(FeishuFieldDef::text(format!("f{i}"), format!("k{i}")));
    }
    let bad = client
        .post(format!("{}/feishu/fields", sb.admin_url()))
        .body(r#"{"id":"x","dropdown_option":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "unknown keys are refused");

    let body = r#"{"customized_fields":[{"id":"f1","value":"t-hi"}]}"#;
    assert_eq!(fs_put(&sb, &client, "d", body).await.code(), 0);
    let t = ticket_of(&fs_get(&sb, &client, "d").await);
    assert_eq!(t["customized_fields"][0]["value"], "High");

    // The list: tenant token, pages of `page_size`, `next_page_token` while there is more.
    let list = |query: &'static str| {
        let url = format!("{}?{query}", sb.feishu_fields_url());
        let req = client
            .get(url)
            .bearer_auth(sb.current_tenant_access_token())
            .header(
                "X-Lark-Helpdesk-Authorization",
                sb.credentials().feishu_helpdesk_authorization(),
            );
        async move { read(req.send().await.unwrap()).await }
    };
    let page = list("page_size=3").await.json();
    assert_eq!(page["code"], 0);
    let data = &page["data"];
    assert_eq!(
        (
            data["has_more"].as_bool(),
            data["items"].as_array().unwrap().len()
        ),
        (Some(true), 3)
    );
    let first = &data["items"][0];
    assert_eq!(first["ticket_customized_field_id"], "f1");
    assert_eq!(first["position"], "0", "a string in the list");
    assert_eq!(first["dropdown_options"]["children"][0]["tag"], "t-hi");
    assert_eq!(first["helpdesk_id"], sb.credentials().feishu_helpdesk_id);
    assert_eq!(data["next_page_token"], "3");
    let last = list("page_size=3&page_token=3").await.json();
    assert_eq!(last["data"]["has_more"], false);
    assert_eq!(last["data"]["items"][0]["ticket_customized_field_id"], "f4");
    assert!(last["data"].get("next_page_token").is_none());
    assert_eq!(list("page_size=101").await.code(), 154_000);
    let user = client
        .get(sb.feishu_fields_url())
        .bearer_auth(sb.current_access_token())
        .header(
            "X-Lark-Helpdesk-Authorization",
            sb.credentials().feishu_helpdesk_authorization(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(read(user).await.code(), 99_991_668);

    // Clearing the definitions leaves the stored tag, shown as stored.
    let resp = client
        .delete(format!("{}/feishu/fields", sb.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(sb.feishu_fields().is_empty());
    let t = ticket_of(&fs_get(&sb, &client, "d").await);
    assert_eq!(t["customized_fields"][0]["value"], "t-hi");
}

#[tokio::test]
async fn comments_per_ticket_through_the_admin_api() {
    let sb = Sandbox::builder()
        .seed_feishu("c", FeishuTicket::default().with_comment("seeded"))
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(
        fs_put(&sb, &client, "c", r#"{"comment":"added"}"#)
            .await
            .code(),
        0
    );
    let resp = client
        .get(format!("{}/tickets/feishu/c/comments", sb.admin_url()))
        .send()
        .await
        .unwrap();
    let list = read(resp).await.json();
    let texts: Vec<(i64, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["content"].as_str().unwrap()))
        .collect();
    assert_eq!(texts, [(1, "seeded"), (2, "added")]);
    let resp = client
        .get(format!("{}/tickets/feishu/nope/comments", sb.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// In the rate-limit mode reads have their own bucket (the Get Ticket page's 10/s unless set),
/// refused like updates: 429, 99991400, `x-ogw-ratelimit-*`. Updates keep their own.
#[tokio::test]
async fn get_has_its_own_rate_limit() {
    let sb = Sandbox::builder()
        .rate_limit(Provider::Feishu, 1)
        .feishu_get_rate_limit(2)
        .seed_feishu_default("r")
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(sb.rate_limits()["feishu_get"], Some(2));
    // The bucket holds one second's worth and starts full; 12 reads would need 5 s to all find
    // a token, far longer than this loop takes, so some are refused.
    let mut reads = Vec::new();
    for _ in 0..12 {
        reads.push(fs_get(&sb, &client, "r").await);
    }
    let refused: Vec<&Resp> = reads.iter().filter(|r| r.status == 429).collect();
    assert!(!refused.is_empty(), "{reads:?}");
    let r = refused[0];
    assert_eq!(r.code(), 99_991_400);
    assert_eq!(r.header("x-ogw-ratelimit-limit"), Some("2"));
    assert_eq!(r.header("x-ogw-ratelimit-reset"), Some("1"));
    assert!(r.header("x-tt-logid").is_some());
    // The update bucket (1/s, full at start) was not touched by the reads.
    assert_eq!(
        fs_put(&sb, &client, "r", r#"{"status":2}"#).await.status,
        200
    );
    assert_eq!(
        sb.stats().rate_limited,
        u64::try_from(refused.len()).unwrap()
    );

    // 0 leaves reads unpaced while updates stay paced.
    sb.set_feishu_get_rate_limit(0);
    assert_eq!(sb.rate_limits()["feishu_get"], None);
    for _ in 0..12 {
        assert_eq!(fs_get(&sb, &client, "r").await.status, 200);
    }
}

#[tokio::test]
async fn get_rate_limit_defaults_to_the_documented_10_per_second() {
    let sb = Sandbox::builder()
        .rate_limit(Provider::Feishu, 1000)
        .seed_feishu_default("r")
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(sb.rate_limits()["feishu_get"], Some(10));
    // 40 reads would need 3 s to all find a token.
    let mut refused = None;
    for _ in 0..40 {
        let resp = fs_get(&sb, &client, "r").await;
        if resp.status == 429 {
            refused = Some(resp);
            break;
        }
    }
    let refused = refused.expect("some read is refused");
    assert_eq!(refused.header("x-ogw-ratelimit-limit"), Some("10"));
    // Off with the Feishu mode.
    sb.set_rate_limit(Provider::Feishu, None);
    assert_eq!(sb.rate_limits()["feishu_get"], None);
    assert_eq!(fs_get(&sb, &client, "r").await.status, 200);
}

#[tokio::test]
async fn faults_on_the_tenant_token_endpoint_have_their_own_scope() {
    let sb = Sandbox::builder()
        .seed_feishu_default("t")
        .start()
        .await
        .unwrap();
    let client = client();
    sb.inject(
        Fault::ServerError { status: 503 },
        Scope::FeishuTenantToken,
        1,
    );
    // A read does not take it.
    assert_eq!(fs_get(&sb, &client, "t").await.code(), 0);
    let resp = tenant_token(&sb, &client, &app_body(&sb)).await;
    assert_eq!((resp.status, resp.code()), (503, 155_000));
    assert!(resp.header("x-tt-logid").is_some());
    let resp = tenant_token(&sb, &client, &app_body(&sb)).await;
    assert_eq!((resp.status, resp.code()), (200, 0));
    let s = sb.stats();
    assert_eq!((s.tenant_token_requests, s.faults_applied), (2, 1));
}
