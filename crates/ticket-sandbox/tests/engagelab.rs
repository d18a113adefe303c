//! EngageLab LiveDesk emulation over real loopback HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use helpdesk_ticket_sandbox::{EngageLabTicket, OmittedPriority, Sandbox};
use serde_json::json;

const VENDOR_EXAMPLE_LISTED_PRIORITY: &str = r#"{
"title": "打印機卡紙,無法打印(已更新)",
"description": "客戶反映 A4 紙卡在出紙口,急需處理。\n已派技術員前往。",
"attachments": [{"file_url": "https://example.com/files/error-photo.jpg"}],
"priority": "medium",
"ticket_type": "incident",
"custom_fields": {
"department": "IT 支持",
"device_sn": "PRN-2024-001",
"location": "北京總部-3 樓打印室",
"resolution_note": "更換了進紙器"
},
"tags": ["printer", "hardware", "resolved"]
}"#;

fn looks_like_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 25
        && s.ends_with("+00:00")
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s[..4].parse::<u32>().is_ok_and(|y| y >= 2025)
}

#[tokio::test]
async fn update_success_is_byte_exact_and_applied() {
    let mut old = EngageLabTicket::default();
    old.updated_at = "2000-01-01T00:00:00+00:00".to_owned();
    old.tags = vec!["old".to_owned()];
    let sb = Sandbox::builder()
        .seed_engagelab("tk_20251104_789abc", old)
        .start()
        .await
        .unwrap();
    let client = client();
    let resp = el_put(
        &sb,
        &client,
        "tk_20251104_789abc",
        VENDOR_EXAMPLE_LISTED_PRIORITY,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );

    let stored = sb.engagelab_ticket("tk_20251104_789abc").unwrap();
    assert!(
        looks_like_rfc3339_utc(&stored.updated_at),
        "{}",
        stored.updated_at
    );
    assert_ne!(stored.updated_at, "2000-01-01T00:00:00+00:00");
    assert_eq!(
        resp.body,
        format!(
            r#"{{"code":0,"message":"Success","data":{{"ticket_id":"tk_20251104_789abc","updated_at":"{}"}}}}"#,
            stored.updated_at
        )
    );
    assert_eq!(stored.title, "打印機卡紙,無法打印(已更新)");
    assert_eq!(
        stored.description,
        "客戶反映 A4 紙卡在出紙口,急需處理。\n已派技術員前往。"
    );
    assert_eq!(stored.attachments.len(), 1);
    assert_eq!(
        stored.attachments[0].file_url,
        "https://example.com/files/error-photo.jpg"
    );
    assert_eq!(stored.priority, "medium");
    assert_eq!(stored.ticket_type.as_deref(), Some("incident"));
    assert_eq!(stored.custom_fields["device_sn"], json!("PRN-2024-001"));
    assert_eq!(stored.tags, ["printer", "hardware", "resolved"]);
}

/// In `keep` mode an omitted priority stays, like every other optional field (the `reset`
/// default is in tests/engagelab_read.rs).
#[tokio::test]
async fn optional_fields_are_kept_when_absent_in_keep_mode() {
    let mut seeded = EngageLabTicket::default();
    seeded.priority = "urgent".to_owned();
    seeded.tags = vec!["keep".to_owned()];
    seeded.ticket_type = Some("task".to_owned());
    let sb = Sandbox::builder()
        .engagelab_omitted_priority(OmittedPriority::Keep)
        .seed_engagelab("t1", seeded)
        .start()
        .await
        .unwrap();
    let resp = el_put(
        &sb,
        &client(),
        "t1",
        r#"{"title":"New","description":"Body"}"#,
    )
    .await;
    assert_eq!(resp.status, 200);
    let t = sb.engagelab_ticket("t1").unwrap();
    assert_eq!((t.title.as_str(), t.description.as_str()), ("New", "Body"));
    assert_eq!(t.priority, "urgent");
    assert_eq!(t.tags, ["keep"]);
    assert_eq!(t.ticket_type.as_deref(), Some("task"));
}

#[tokio::test]
async fn get_returns_the_ticket() {
    let sb = Sandbox::start().await.unwrap();
    sb.seed_engagelab_default("g1");
    let client = client();
    el_put(
        &sb,
        &client,
        "g1",
        r#"{"title":"A","description":"B","tags":["x"]}"#,
    )
    .await;
    let resp = el_get(&sb, &client, "g1").await;
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["code"], 0);
    assert_eq!(v["message"], "Success");
    assert_eq!(v["data"]["ticket_id"], "g1");
    assert_eq!(v["data"]["title"], "A");
    assert_eq!(v["data"]["tags"], json!(["x"]));
    let stored: EngageLabTicket = serde_json::from_value(v["data"].clone()).unwrap();
    assert_eq!(Some(stored), sb.engagelab_ticket("g1"));
}

#[tokio::test]
async fn validation_refusals() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("v")
        .start()
        .await
        .unwrap();
    let client = client();
    let cases: &[(&str, &str)] = &[
        (r#"{"description":"d"}"#, "title"),
        (r#"{"title":"t"}"#, "description"),
        (r#"{"title":"","description":"d"}"#, "title"),
        (r#"{"title":"t","description":""}"#, "description"),
        (r#"{"title":1,"description":"d"}"#, "title"),
        (
            r#"{"title":"t","description":"d","priority":"normal"}"#,
            "priority",
        ),
        (
            r#"{"title":"t","description":"d","priority":"HIGH"}"#,
            "priority",
        ),
        (
            r#"{"title":"t","description":"d","ticket_type":"bug"}"#,
            "ticket_type",
        ),
        (
            r#"{"title":"t","description":"d","attachments":{"file_url":"u"}}"#,
            "attachments",
        ),
        (
            r#"{"title":"t","description":"d","attachments":[{"url":"u"}]}"#,
            "attachments[0]",
        ),
        (
            r#"{"title":"t","description":"d","attachments":[{"file_url":"u","name":"n"}]}"#,
            "attachments[0]",
        ),
        (
            r#"{"title":"t","description":"d","custom_fields":["a"]}"#,
            "custom_fields",
        ),
        (r#"{"title":"t","description":"d","tags":"a"}"#, "tags"),
        (r#"{"title":"t","description":"d","tags":[1]}"#, "tags[0]"),
        (r#"{"title":"t","description":"d","status":1}"#, "status"),
        (r#"["title"]"#, "object"),
        (r#"{"title":"t","#, "JSON"),
    ];
    for (body, field) in cases {
        let resp = el_put(&sb, &client, "v", body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        let v = resp.json();
        assert_eq!(v["code"], 40001, "{body}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    // Nothing was applied.
    assert_eq!(
        sb.engagelab_ticket("v").unwrap().title,
        EngageLabTicket::default().title
    );
}

#[tokio::test]
async fn content_type_is_checked() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("c")
        .start()
        .await
        .unwrap();
    let client = client();
    for (ct, expected) in [
        (Some("text/plain"), 415),
        (Some("application/x-www-form-urlencoded"), 415),
        (None, 415),
        (Some("application/json; charset=utf-8"), 200),
        (Some("application/json"), 200),
    ] {
        let mut req = client
            .put(sb.engagelab_ticket_url("c"))
            .header("Authorization", sb.credentials().engagelab_authorization())
            .body(EL_MIN);
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        let resp = read(req.send().await.unwrap()).await;
        assert_eq!(resp.status, expected, "{ct:?}: {}", resp.body);
        if expected == 415 {
            assert_eq!(resp.code(), 40002);
        }
    }
}

#[tokio::test]
async fn auth_is_checked_with_the_nested_error_shape() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("a")
        .start()
        .await
        .unwrap();
    let client = client();
    let c = sb.credentials();
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let wrong = [
        None,
        Some(format!(
            "Basic {}",
            b64(&format!("{}:wrong", c.engagelab_api_key))
        )),
        Some(format!("Basic {}", b64(&c.engagelab_api_key))),
        Some(format!(
            "Bearer {}",
            b64(&format!(
                "{}:{}",
                c.engagelab_api_key, c.engagelab_api_secret
            ))
        )),
        Some("Basic !!!".to_owned()),
    ];
    for auth in wrong {
        for method in [reqwest::Method::PUT, reqwest::Method::GET] {
            let mut req = client
                .request(method.clone(), sb.engagelab_ticket_url("a"))
                .header("Content-Type", CT_JSON)
                .body(EL_MIN);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            let resp = read(req.send().await.unwrap()).await;
            assert_eq!(resp.status, 401, "{auth:?}");
            assert_eq!(
                resp.body,
                r#"{"error":{"code":40101,"message":"authentication failed"}}"#
            );
        }
    }
    // The right pair, spelled by hand, works.
    let resp = client
        .put(sb.engagelab_ticket_url("a"))
        .basic_auth(&c.engagelab_api_key, Some(&c.engagelab_api_secret))
        .header("Content-Type", CT_JSON)
        .body(EL_MIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn unknown_ticket_and_unknown_routes() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    let resp = el_put(&sb, &client, "missing", EL_MIN).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, r#"{"code":40401,"message":"ticket not found"}"#);
    let resp = el_get(&sb, &client, "missing").await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.code(), 40401);

    sb.seed_engagelab_default("x");
    for path in [
        "/api/v2/accounts/tickets/x/extra",
        "/api/v2/accounts/tickets/",
        "/api/v2/accounts/ticket/x",
    ] {
        let resp = client
            .put(format!("{}{path}", sb.base_url()))
            .header("Authorization", sb.credentials().engagelab_authorization())
            .header("Content-Type", CT_JSON)
            .body(EL_MIN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    let resp = client
        .delete(sb.engagelab_ticket_url("x"))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn percent_encoded_ids_arrive_as_one_segment() {
    let ids = ["a/b", "工单 1?#", "../x", "100%"];
    let mut builder = Sandbox::builder();
    for id in ids {
        builder = builder.seed_engagelab_default(id);
    }
    let sb = builder.start().await.unwrap();
    let client = client();
    for id in ids {
        let resp = el_put(&sb, &client, id, EL_MIN).await;
        assert_eq!(resp.status, 200, "{id}: {}", resp.body);
        assert_eq!(resp.json()["data"]["ticket_id"], id);
        assert_eq!(sb.engagelab_ticket(id).unwrap().title, "t");
    }
    let paths: Vec<String> = sb.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/v2/accounts/tickets/a%2Fb",
            "/api/v2/accounts/tickets/%E5%B7%A5%E5%8D%95%201%3F%23",
            "/api/v2/accounts/tickets/..%2Fx",
            "/api/v2/accounts/tickets/100%25",
        ]
    );
    // Lower-case escapes decode too; a bad escape is a 400.
    let resp = client
        .get(format!("{}/api/v2/accounts/tickets/a%2fb", sb.base_url()))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client
        .get(format!("{}/api/v2/accounts/tickets/a%zzb", sb.base_url()))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn custom_credentials_are_used() {
    let mut creds = helpdesk_ticket_sandbox::Credentials::default();
    creds.engagelab_api_key = "k2".to_owned();
    creds.engagelab_api_secret = "s2".to_owned();
    let sb = Sandbox::builder()
        .credentials(creds)
        .seed_engagelab_default("t")
        .start()
        .await
        .unwrap();
    let client = client();
    let resp = client
        .put(sb.engagelab_ticket_url("t"))
        .basic_auth("k2", Some("s2"))
        .header("Content-Type", CT_JSON)
        .body(EL_MIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client
        .put(sb.engagelab_ticket_url("t"))
        .basic_auth("sandbox-engagelab-key", Some("sandbox-engagelab-secret"))
        .header("Content-Type", CT_JSON)
        .body(EL_MIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
