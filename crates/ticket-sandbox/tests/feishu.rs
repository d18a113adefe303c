//! Feishu Helpdesk emulation (tickets and tokens) over real loopback HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use helpdesk_ticket_sandbox::{FeishuCustomizedField, FeishuTicket, Sandbox};
use serde_json::json;

const VENDOR_EXAMPLE: &str = r#"{
    "status": 1,
    "tag_names": ["abc"],
    "comment": "good",
    "customized_fields": [{"id": "123", "value": "value", "key_name": "key"}],
    "ticket_type": 1,
    "solved": 1,
    "channel": 1
}"#;

#[tokio::test]
async fn update_success_is_byte_exact_and_applied() {
    let mut seeded = FeishuTicket::default();
    seeded.status = 2;
    seeded.tag_names = vec!["old".to_owned()];
    seeded.comments = vec!["first".to_owned()];
    seeded.solved = 2;
    seeded.channel = 7;
    seeded.updated_at = 1;
    let sb = Sandbox::builder()
        .seed_feishu("6945345902185807891", seeded)
        .start()
        .await
        .unwrap();
    let resp = fs_put(&sb, &client(), "6945345902185807891", VENDOR_EXAMPLE).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body, r#"{"code":0,"msg":"success","data":{}}"#);
    assert!(resp.header("x-tt-logid").is_some_and(|v| !v.is_empty()));

    let t = sb.feishu_ticket("6945345902185807891").unwrap();
    assert_eq!(t.status, 1);
    assert_eq!(t.tag_names, ["abc"]);
    assert_eq!(t.comments, ["first", "good"]);
    assert_eq!(
        t.customized_fields,
        [FeishuCustomizedField::new(
            Some("123"),
            Some("key"),
            Some("value")
        )]
    );
    assert_eq!((t.ticket_type, t.solved, t.channel), (1, 1, 1));
    assert!(t.updated_at > 1);
}

#[tokio::test]
async fn comments_append_and_fields_merge() {
    let sb = Sandbox::builder()
        .seed_feishu_default("m")
        .start()
        .await
        .unwrap();
    let client = client();
    for body in [
        r#"{"comment":"one","customized_fields":[{"id":"1","key_name":"k","value":"a"}]}"#,
        r#"{"comment":"two","customized_fields":[{"key_name":"k","value":"b"},{"key_name":"z","value":"c"}]}"#,
        r#"{"solved":2,"customized_fields":[{"id":"1","value":"d"}]}"#,
    ] {
        let resp = fs_put(&sb, &client, "m", body).await;
        assert_eq!(resp.status, 200, "{body}: {}", resp.body);
    }
    let t = sb.feishu_ticket("m").unwrap();
    assert_eq!(t.comments, ["one", "two"]);
    assert_eq!(t.solved, 2);
    let values: Vec<_> = t
        .customized_fields
        .iter()
        .map(|f| (f.key_name.as_deref(), f.value.as_deref()))
        .collect();
    assert_eq!(values, [(Some("k"), Some("d")), (Some("z"), Some("c"))]);
}

#[tokio::test]
async fn get_returns_the_ticket() {
    let sb = Sandbox::builder()
        .seed_feishu_default("g")
        .start()
        .await
        .unwrap();
    let client = client();
    fs_put(&sb, &client, "g", r#"{"status":51,"comment":"closing"}"#).await;
    let resp = fs_get(&sb, &client, "g").await;
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["code"], 0);
    assert_eq!(v["msg"], "success");
    // The read's own form (the full shape is in tests/feishu_read.rs).
    let t = &v["data"]["ticket"];
    assert_eq!(t["ticket_id"], "g");
    assert_eq!(t["status"], 51);
    assert_eq!(t["comments"]["content"], "closing");
    assert_eq!(t["solve"], 1);
    let stored = sb.feishu_ticket("g").unwrap();
    assert_eq!(t["updated_at"], stored.updated_at);
    assert_eq!(t["closed_at"], stored.closed_at);
}

#[tokio::test]
async fn validation_refusals() {
    let sb = Sandbox::builder()
        .seed_feishu_default("v")
        .start()
        .await
        .unwrap();
    let client = client();
    let cases = [
        "{}",
        "[]",
        "not json",
        r#"{"status":0}"#,
        r#"{"status":6}"#,
        r#"{"status":"1"}"#,
        r#"{"solved":3}"#,
        r#"{"solved":true}"#,
        r#"{"ticket_type":1.5}"#,
        r#"{"channel":"web"}"#,
        r#"{"tag_names":"abc"}"#,
        r#"{"tag_names":[1]}"#,
        r#"{"comment":["x"]}"#,
        r#"{"customized_fields":{"id":"1"}}"#,
        r#"{"customized_fields":[{"id":123,"value":"v"}]}"#,
        r#"{"customized_fields":[{"id":"1","value":2}]}"#,
        r#"{"customized_fields":[{"id":"1","extra":"x"}]}"#,
        r#"{"title":"x"}"#,
        r#"{"status":1,"priority":"high"}"#,
    ];
    for body in cases {
        let resp = fs_put(&sb, &client, "v", body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(resp.code(), 154000, "{body}");
        let msg = resp.json()["msg"].as_str().unwrap().to_owned();
        assert!(
            msg.starts_with("Bad request, please check your request body"),
            "{msg}"
        );
        assert!(resp.header("x-tt-logid").is_some());
    }
    let t = sb.feishu_ticket("v").unwrap();
    assert_eq!((t.status, t.solved), (1, 1));
    assert!(t.tag_names.is_empty() && t.comments.is_empty() && t.customized_fields.is_empty());
}

#[tokio::test]
async fn content_type_is_checked() {
    let sb = Sandbox::builder()
        .seed_feishu_default("c")
        .start()
        .await
        .unwrap();
    let client = client();
    let token = sb.current_access_token();
    for (ct, expected) in [
        ("application/json; charset=utf-8", 200),
        ("Application/JSON; Charset=UTF-8", 200),
        ("application/json", 200),
        ("text/plain", 400),
        ("application/json; charset=gbk", 400),
    ] {
        let resp = client
            .put(sb.feishu_ticket_url("c"))
            .header("Authorization", format!("Bearer {token}"))
            .header(
                "X-Lark-Helpdesk-Authorization",
                sb.credentials().feishu_helpdesk_authorization(),
            )
            .header("Content-Type", ct)
            .body(r#"{"status":2}"#)
            .send()
            .await
            .unwrap();
        let resp = read(resp).await;
        assert_eq!(resp.status, expected, "{ct}: {}", resp.body);
        if expected == 400 {
            assert_eq!(resp.code(), 154000);
        }
    }
    // No Content-Type at all.
    let resp = client
        .put(sb.feishu_ticket_url("c"))
        .header("Authorization", format!("Bearer {token}"))
        .header(
            "X-Lark-Helpdesk-Authorization",
            sb.credentials().feishu_helpdesk_authorization(),
        )
        .body(r#"{"status":2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn auth_errors() {
    let sb = Sandbox::builder()
        .seed_feishu_default("a")
        .start()
        .await
        .unwrap();
    let client = client();
    let body = r#"{"status":2}"#;

    // Unknown token: 401 99991663.
    let resp = read(
        fs_put_with(&sb, &client, "a", "u-nope", body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.body,
        r#"{"code":99991663,"msg":"Invalid access token for authorization. Please make a request with token attached."}"#
    );
    assert!(resp.header("x-tt-logid").is_some());

    // Missing Authorization: the same.
    let resp = client
        .put(sb.feishu_ticket_url("a"))
        .header(
            "X-Lark-Helpdesk-Authorization",
            sb.credentials().feishu_helpdesk_authorization(),
        )
        .header("Content-Type", CT_FEISHU)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(read(resp).await.code(), 99991663);

    // Wrong or missing helpdesk header: 403 154003.
    let token = sb.current_access_token();
    for helpdesk in [Some("d3Jvbmc6d3Jvbmc="), Some("%%%"), None] {
        let mut req = client
            .put(sb.feishu_ticket_url("a"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", CT_FEISHU)
            .body(body);
        if let Some(h) = helpdesk {
            req = req.header("X-Lark-Helpdesk-Authorization", h);
        }
        let resp = read(req.send().await.unwrap()).await;
        assert_eq!(resp.status, 403, "{helpdesk:?}");
        assert_eq!(
            resp.body,
            r#"{"code":154003,"msg":"Please check you have the correct access"}"#
        );
    }
    assert_eq!(sb.feishu_ticket("a").unwrap().status, 1);
}

#[tokio::test]
async fn unknown_ticket_and_routes() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    let resp = fs_put(&sb, &client, "404", r#"{"status":2}"#).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, r#"{"code":154004,"msg":"Resource not found"}"#);
    assert_eq!(fs_get(&sb, &client, "404").await.status, 404);
    let resp = client
        .get(format!(
            "{}/open-apis/helpdesk/v1/tickets/a/b",
            sb.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn logids_are_unique() {
    let sb = Sandbox::builder()
        .seed_feishu_default("l")
        .start()
        .await
        .unwrap();
    let client = client();
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let resp = fs_get(&sb, &client, "l").await;
        assert!(seen.insert(resp.header("x-tt-logid").unwrap().to_owned()));
    }
    let resp = refresh(&sb, &client, "bogus").await;
    assert!(seen.insert(resp.header("x-tt-logid").unwrap().to_owned()));
    // EngageLab responses do not carry it.
    sb.seed_engagelab_default("e");
    assert!(
        el_get(&sb, &client, "e")
            .await
            .header("x-tt-logid")
            .is_none()
    );
}

#[tokio::test]
async fn refresh_rotates_and_refuses_reuse() {
    let sb = Sandbox::builder()
        .token_ttl(Duration::from_secs(90))
        .seed_feishu_default("r")
        .start()
        .await
        .unwrap();
    let client = client();
    let first_refresh = sb.credentials().feishu_refresh_token.clone();
    assert_eq!(sb.current_refresh_token(), first_refresh);

    let resp = refresh(&sb, &client, &first_refresh).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v = resp.json();
    let access = v["access_token"].as_str().unwrap().to_owned();
    let new_refresh = v["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(access, sb.credentials().feishu_user_access_token);
    assert_ne!(new_refresh, first_refresh);
    assert_eq!(
        resp.body,
        format!(
            r#"{{"code":0,"access_token":"{access}","expires_in":90,"refresh_token":"{new_refresh}","refresh_token_expires_in":604800,"token_type":"Bearer","scope":""}}"#
        )
    );
    assert_eq!(sb.current_refresh_token(), new_refresh);
    assert_eq!(sb.current_access_token(), access);

    // The new access token works.
    let resp = read(
        fs_put_with(&sb, &client, "r", &access, r#"{"status":2}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 200);

    // The used refresh token is refused.
    let resp = refresh(&sb, &client, &first_refresh).await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.body,
        r#"{"code":20026,"error":"invalid_grant","error_description":"The refresh token passed is invalid"}"#
    );
    // An unknown one too.
    assert_eq!(refresh(&sb, &client, "ur-made-up").await.code(), 20026);
    // The rotated one works once.
    assert_eq!(refresh(&sb, &client, &new_refresh).await.status, 200);
    assert_eq!(refresh(&sb, &client, &new_refresh).await.status, 400);
    assert_eq!(sb.stats().token_refresh_requests, 5);
}

#[tokio::test]
async fn refresh_refuses_bad_clients_and_bodies() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    let c = sb.credentials().clone();
    let post = |body: serde_json::Value| {
        client
            .post(sb.feishu_token_url())
            .header("Content-Type", CT_FEISHU)
            .body(body.to_string())
            .send()
    };
    let resp = read(
        post(
            json!({"grant_type":"refresh_token","client_id":c.feishu_app_id,
            "client_secret":"wrong","refresh_token":c.feishu_refresh_token}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.code(), 20002);
    assert_eq!(resp.json()["error"], "invalid_client");
    let resp = read(
        post(
            json!({"grant_type":"authorization_code","client_id":c.feishu_app_id,
            "client_secret":c.feishu_app_secret,"refresh_token":c.feishu_refresh_token}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 400);
    let resp = read(post(json!({"grant_type":"refresh_token"})).await.unwrap()).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.code(), 20001);
    // None of these used up the refresh token.
    assert_eq!(sb.current_refresh_token(), c.feishu_refresh_token);
    assert_eq!(
        refresh(&sb, &client, &c.feishu_refresh_token).await.status,
        200
    );
    // GET is not allowed.
    let resp = client.get(sb.feishu_token_url()).send().await.unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn access_tokens_expire_after_the_ttl() {
    // Five seconds: a token is used right after its issue, and no loaded machine takes that
    // long for one loopback request; its expiry is then awaited by polling, not guessed.
    let sb = Sandbox::builder()
        .token_ttl(Duration::from_secs(5))
        .seed_feishu_default("e")
        .start()
        .await
        .unwrap();
    let client = client();
    let original = sb.credentials().feishu_user_access_token.clone();
    assert_eq!(
        fs_put(&sb, &client, "e", r#"{"status":2}"#).await.status,
        200
    );

    // Until the token is refused (the status it sets is already the ticket's).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let resp = read(
            fs_put_with(&sb, &client, "e", &original, r#"{"status":2}"#)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if resp.code() != 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the token never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Expired for good: an update with it is refused and changes nothing.
    let resp = read(
        fs_put_with(&sb, &client, "e", &original, r#"{"status":3}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        resp.status, 200,
        "Feishu answers an expired token with HTTP 200"
    );
    assert_eq!(
        resp.body,
        r#"{"code":99991677,"msg":"Authentication token expired"}"#
    );
    assert_eq!(sb.feishu_ticket("e").unwrap().status, 2);

    let resp = refresh(&sb, &client, &sb.current_refresh_token()).await;
    assert_eq!(resp.json()["expires_in"], 5);
    let fresh = resp.json()["access_token"].as_str().unwrap().to_owned();
    let resp = read(
        fs_put_with(&sb, &client, "e", &fresh, r#"{"status":3}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.code(), 0);
    assert_eq!(sb.feishu_ticket("e").unwrap().status, 3);
}

#[tokio::test]
async fn sub_second_ttls_round_up_in_expires_in() {
    // Only the figure the refresh answer states: nothing here needs the token to stay valid.
    let sb = Sandbox::builder()
        .token_ttl(Duration::from_millis(900))
        .seed_feishu_default("e")
        .start()
        .await
        .unwrap();
    let client = client();
    let resp = refresh(&sb, &client, &sb.current_refresh_token()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["expires_in"], 1, "sub-second TTLs round up");
}

#[tokio::test]
async fn expire_access_tokens_on_demand() {
    let sb = Sandbox::builder()
        .seed_feishu_default("x")
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(fs_get(&sb, &client, "x").await.code(), 0);
    assert_eq!(fs_put(&sb, &client, "x", r#"{"status":2}"#).await.code(), 0);
    sb.expire_access_tokens();
    // An expired tenant token is 99991663 (fetch another), an expired user token 99991677.
    assert_eq!(fs_get(&sb, &client, "x").await.code(), 99991663);
    assert_eq!(
        fs_put(&sb, &client, "x", r#"{"status":2}"#).await.code(),
        99991677
    );
}

#[tokio::test]
async fn percent_encoded_ids() {
    let sb = Sandbox::builder()
        .seed_feishu_default("a/b?c")
        .start()
        .await
        .unwrap();
    let resp = fs_put(&sb, &client(), "a/b?c", r#"{"comment":"hi"}"#).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(sb.feishu_ticket("a/b?c").unwrap().comments, ["hi"]);
    assert_eq!(
        sb.requests()[0].path,
        "/open-apis/helpdesk/v1/tickets/a%2Fb%3Fc"
    );
}
