//! Admin routes, counters, the request log and the server's lifecycle.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use helpdesk_ticket_sandbox::{EngageLabTicket, Sandbox, Stats};
use serde_json::{Value, json};

async fn admin(
    client: &reqwest::Client,
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let mut req = client.request(method, format!("{}{path}", sb.admin_url()));
    if let Some(body) = body {
        req = req.header("Content-Type", CT_JSON).body(body.to_string());
    }
    read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn keep_alive_reuses_connections() {
    let sb = Sandbox::builder()
        .seed_engagelab_default("k")
        .start()
        .await
        .unwrap();
    let client = client();
    for _ in 0..200 {
        assert_eq!(el_get(&sb, &client, "k").await.status, 200);
    }
    let stats = sb.stats();
    assert_eq!(stats.engagelab_requests, 200);
    assert!(stats.connections <= 2, "{stats:?}");

    // Without pooling every request opens a new connection, and the counter sees it.
    sb.reset_stats();
    assert_eq!(sb.stats(), Stats::default());
    let unpooled = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..10 {
        assert_eq!(el_get(&sb, &unpooled, "k").await.status, 200);
    }
    let stats = sb.stats();
    assert_eq!(stats.engagelab_requests, 10);
    assert_eq!(stats.connections, 10);
}

#[tokio::test]
async fn stats_count_each_route_kind() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .start()
        .await
        .unwrap();
    let client = client();
    el_get(&sb, &client, "none").await;
    fs_get(&sb, &client, "f").await;
    fs_get(&sb, &client, "f").await;
    refresh(&sb, &client, "x").await;
    admin(&client, &sb, reqwest::Method::GET, "/stats", None).await;
    client
        .get(format!("{}/favicon.ico", sb.base_url()))
        .send()
        .await
        .unwrap();
    let s = sb.stats();
    assert_eq!(
        (
            s.engagelab_requests,
            s.feishu_requests,
            s.token_refresh_requests,
            s.admin_requests,
            s.other_requests
        ),
        (1, 2, 1, 1, 1)
    );
    assert_eq!(s.total_requests(), 6);
}

#[tokio::test]
async fn request_log_keeps_raw_requests() {
    let sb = Sandbox::builder()
        .request_log_capacity(3)
        .seed_engagelab_default("r")
        .start()
        .await
        .unwrap();
    let client = client();
    for i in 0..4 {
        el_put(
            &sb,
            &client,
            "r",
            &format!(r#"{{"title":"t{i}","description":"d"}}"#),
        )
        .await;
    }
    admin(&client, &sb, reqwest::Method::GET, "/stats", None).await;
    let log = sb.requests();
    assert_eq!(log.len(), 3, "capacity and no admin requests");
    let last = log.last().unwrap();
    assert_eq!(last.method, "PUT");
    assert_eq!(last.path, "/api/v2/accounts/tickets/r");
    assert_eq!(last.header("content-type"), Some(CT_JSON));
    assert_eq!(
        last.header("Authorization"),
        Some(sb.credentials().engagelab_authorization().as_str())
    );
    assert_eq!(last.body_json().unwrap()["title"], "t3");
    assert_eq!(log[0].body_json().unwrap()["title"], "t1");

    client
        .get(format!(
            "{}/api/v2/accounts/tickets/r?x=1%202",
            sb.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sb.requests().last().unwrap().query.as_deref(),
        Some("x=1%202")
    );
    sb.clear_requests();
    assert!(sb.requests().is_empty());
}

#[tokio::test]
async fn admin_seed_read_and_use_tickets() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    // Seed with a partial body and with no body.
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::POST,
        "/tickets/engagelab/a%2Fb",
        Some(json!({"title": "Seeded", "tags": ["x"]})),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["ticket_id"], "a/b");
    assert_eq!(resp.json()["priority"], "medium");
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::POST,
        "/tickets/feishu/42",
        None,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["status"], 1);

    let stored = sb.engagelab_ticket("a/b").unwrap();
    assert_eq!(stored.title, "Seeded");
    assert_eq!(stored.tags, ["x"]);
    assert!(sb.feishu_ticket("42").is_some());

    // The seeded tickets are served by the vendor routes.
    assert_eq!(el_put(&sb, &client, "a/b", EL_MIN).await.status, 200);
    assert_eq!(
        fs_put(&sb, &client, "42", r#"{"comment":"c"}"#)
            .await
            .status,
        200
    );

    // Reading back reflects the updates.
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::GET,
        "/tickets/engagelab/a%2Fb",
        None,
    )
    .await;
    assert_eq!(resp.json()["title"], "t");
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::GET,
        "/tickets/feishu/42",
        None,
    )
    .await;
    assert_eq!(resp.json()["comments"], json!(["c"]));
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::GET,
        "/tickets/feishu/nope",
        None,
    )
    .await;
    assert_eq!(resp.status, 404);
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::GET,
        "/tickets/zendesk/1",
        None,
    )
    .await;
    assert_eq!(resp.status, 404);
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::POST,
        "/tickets/engagelab/bad",
        Some(json!({"title": 5})),
    )
    .await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn admin_faults_stats_tokens_and_reset() {
    let sb = Sandbox::builder()
        .seed_engagelab("keep", {
            let mut t = EngageLabTicket::default();
            t.title = "Original".into();
            t
        })
        .start()
        .await
        .unwrap();
    let client = client();
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"fault": {"kind": "rate_limit", "reset_secs": 9}, "scope": "engagelab", "times": 2})),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.json(),
        json!([{"fault": {"kind": "rate_limit", "reset_secs": 9}, "scope": "engagelab", "remaining": 2}])
    );
    let resp = admin(
        &client,
        &sb,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"fault": {"kind": "latency", "millis": 10}, "scope": {"ticket": "keep"}})),
    )
    .await;
    assert_eq!(resp.json().as_array().unwrap().len(), 2);
    for bad in [
        json!({"fault": {"kind": "explode"}, "scope": "engagelab"}),
        json!({"fault": {"kind": "drop_connection"}, "scope": "zendesk"}),
        json!({"fault": {"kind": "server_error", "status": 200}, "scope": "feishu"}),
        json!({"fault": {"kind": "drop_connection"}}),
    ] {
        let resp = admin(
            &client,
            &sb,
            reqwest::Method::POST,
            "/faults",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(resp.status, 400, "{bad}");
        assert!(resp.json()["error"].is_string());
    }
    let resp = el_put(&sb, &client, "keep", EL_MIN).await;
    assert_eq!(
        resp.status, 200,
        "latency (ticket scope) first, then served"
    );
    let resp = el_put(&sb, &client, "keep", EL_MIN).await;
    assert_eq!((resp.status, resp.header("retry-after")), (429, Some("9")));
    let resp = admin(&client, &sb, reqwest::Method::GET, "/faults", None).await;
    assert_eq!(resp.json()[0]["remaining"], 1);
    let resp = admin(&client, &sb, reqwest::Method::DELETE, "/faults", None).await;
    assert_eq!(resp.body, r#"{"ok":true}"#);
    assert!(sb.pending_faults().is_empty());

    let resp = admin(&client, &sb, reqwest::Method::GET, "/stats", None).await;
    let stats: Stats = serde_json::from_str(&resp.body).unwrap();
    assert_eq!(stats.engagelab_requests, 2);
    assert_eq!(stats.faults_applied, 2);
    assert_eq!(stats.admin_requests, 9, "2 + 4 injects, list, clear, stats");

    let resp = admin(&client, &sb, reqwest::Method::GET, "/requests", None).await;
    let log = resp.json();
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[0]["path"], "/api/v2/accounts/tickets/keep");
    assert_eq!(log[0]["body"], EL_MIN);

    let resp = admin(&client, &sb, reqwest::Method::GET, "/tokens", None).await;
    assert_eq!(
        resp.json()["refresh_token"],
        sb.credentials().feishu_refresh_token
    );
    assert_eq!(
        resp.json()["tenant_access_token"],
        sb.credentials().feishu_tenant_access_token
    );
    admin(&client, &sb, reqwest::Method::POST, "/tokens/expire", None).await;
    sb.seed_feishu_default("f");
    // Both kinds expire: the read's tenant token (99991663), the update's user token (99991677).
    assert_eq!(fs_get(&sb, &client, "f").await.code(), 99991663);
    assert_eq!(
        fs_put(&sb, &client, "f", r#"{"status":2}"#).await.code(),
        99991677
    );

    // Reset restores the seeded state, fresh tokens, zero counters and an empty log.
    let resp = admin(&client, &sb, reqwest::Method::POST, "/reset", None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(sb.engagelab_ticket("keep").unwrap().title, "Original");
    assert!(sb.feishu_ticket("f").is_none());
    assert!(sb.requests().is_empty());
    assert_eq!(sb.stats().engagelab_requests, 0);
    sb.seed_feishu_default("f");
    assert_eq!(fs_get(&sb, &client, "f").await.code(), 0);

    let resp = admin(&client, &sb, reqwest::Method::GET, "", None).await;
    assert!(resp.json().as_array().unwrap().len() > 5);
    let resp = admin(&client, &sb, reqwest::Method::GET, "/nope", None).await;
    assert_eq!(resp.status, 404);
}

#[tokio::test]
async fn urls_and_credentials() {
    let sb = Sandbox::start().await.unwrap();
    let base = sb.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'));
    assert_eq!(sb.engagelab_base_url(), base);
    assert_eq!(sb.feishu_base_url(), base);
    assert_eq!(sb.admin_url(), format!("{base}/__sandbox"));
    assert_eq!(
        sb.addr().port(),
        base.rsplit(':').next().unwrap().parse::<u16>().unwrap()
    );
    let c = sb.credentials();
    assert_eq!(c.engagelab_api_key, "sandbox-engagelab-key");
    assert_eq!(
        c.engagelab_authorization(),
        "Basic c2FuZGJveC1lbmdhZ2VsYWIta2V5OnNhbmRib3gtZW5nYWdlbGFiLXNlY3JldA=="
    );
    assert_eq!(
        c.feishu_helpdesk_authorization(),
        "c2FuZGJveC1oZWxwZGVzay1pZDpzYW5kYm94LWhlbHBkZXNrLXRva2Vu"
    );
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let sb = Sandbox::start().await.unwrap();
    let addr = sb.addr();
    let client = client();
    assert!(
        client
            .get(format!("http://{addr}/__sandbox/stats"))
            .send()
            .await
            .is_ok()
    );
    sb.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let sb = Sandbox::start().await.unwrap();
    let addr = sb.addr();
    // Open a keep-alive connection, then drop the sandbox: the connection is closed too.
    assert!(
        client
            .get(format!("http://{addr}/__sandbox/stats"))
            .send()
            .await
            .is_ok()
    );
    drop(sb);
    // The listener closes on the server's own task: poll for it with a generous deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped sandbox still accepts connections"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        client
            .get(format!("http://{addr}/__sandbox/stats"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn fixed_port_binding() {
    // Find a free port, release it, and ask for it explicitly.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = Sandbox::builder().port(port).start().await.unwrap();
    assert_eq!(sb.addr().port(), port);
    // A second sandbox cannot take the same port.
    assert!(Sandbox::builder().port(port).start().await.is_err());
}
