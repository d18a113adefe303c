//! The sandbox as a server people leave running: bounded memory, slow clients closed, what
//! the official SDKs send accepted, and the rate-limit mode and comment counts the `helpdesk`
//! command is tested with.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use helpdesk_ticket_sandbox::{Provider, Sandbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the peer closes; panics after 10 s (a guard against hanging, not a timing check).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the sandbox never closed the connection")
        .unwrap();
    out
}

#[tokio::test]
async fn request_log_is_bounded_in_bytes() {
    let sb = Sandbox::builder()
        .request_log_max_bytes(300_000)
        .seed_engagelab_default("t")
        .start()
        .await
        .unwrap();
    let client = client();
    let body = format!(r#"{{"title":"T","description":"{}"}}"#, "x".repeat(100_000));
    for _ in 0..20 {
        assert_eq!(el_put(&sb, &client, "t", &body).await.status, 200);
    }
    assert!(
        sb.request_log_bytes() <= 300_000,
        "{}",
        sb.request_log_bytes()
    );
    let log = sb.requests();
    assert!((1..=2).contains(&log.len()), "{}", log.len());
    assert!(
        log.iter()
            .all(|r| !r.body_truncated && r.body.len() > 100_000)
    );

    // One request bigger than the whole limit is kept, its body cut short.
    let big = format!(r#"{{"title":"T","description":"{}"}}"#, "y".repeat(400_000));
    assert_eq!(el_put(&sb, &client, "t", &big).await.status, 200);
    let log = sb.requests();
    assert_eq!(log.len(), 1);
    assert!(log[0].body_truncated);
    assert!(sb.request_log_bytes() <= 300_000);
    assert_eq!(
        sb.stats().engagelab_requests,
        21,
        "every request is still counted"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_closed() {
    let sb = Sandbox::builder()
        .header_read_timeout(Some(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    // Half a request head, then nothing.
    let mut slow = TcpStream::connect(sb.addr()).await.unwrap();
    slow.write_all(b"PUT /api/v2/accounts/tickets/t HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(read_to_close(&mut slow).await.is_empty());
    // Connected, silent.
    let mut silent = TcpStream::connect(sb.addr()).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_empty());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_not_closed() {
    let sb = Sandbox::builder()
        .header_read_timeout(Some(Duration::from_millis(100)))
        .start()
        .await
        .unwrap();
    let mut conn = TcpStream::connect(sb.addr()).await.unwrap();
    let get = b"GET /__sandbox/stats HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        conn.write_all(get).await.unwrap();
        let n = conn.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        // Idle well past the head timeout: a pooled client connection must survive this.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(sb.stats().connections, 1);
}

#[tokio::test]
async fn feishu_headers_use_the_vendors_spelling() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .start()
        .await
        .unwrap();
    let mut conn = TcpStream::connect(sb.addr()).await.unwrap();
    conn.write_all(
        b"GET /open-apis/helpdesk/v1/tickets/f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let raw = String::from_utf8(read_to_close(&mut conn).await).unwrap();
    assert!(raw.contains("\r\nX-Tt-Logid: "), "{raw}");
    assert!(raw.contains("\r\nContent-Type: application/json"), "{raw}");
}

#[tokio::test]
async fn helpdesk_header_with_a_bearer_scheme_is_accepted_and_counted() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .start()
        .await
        .unwrap();
    let client = client();
    let resp = client
        .put(sb.feishu_ticket_url("f"))
        .header(
            "Authorization",
            format!("Bearer {}", sb.current_access_token()),
        )
        .header(
            "X-Lark-Helpdesk-Authorization",
            format!(
                "Bearer {}",
                sb.credentials().feishu_helpdesk_authorization()
            ),
        )
        .header("Content-Type", CT_FEISHU)
        .body(r#"{"comment":"from the Node SDK"}"#)
        .send()
        .await
        .unwrap();
    let resp = read(resp).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        sb.feishu_ticket("f").unwrap().comments,
        ["from the Node SDK"]
    );
    assert_eq!(sb.stats().noncanonical_helpdesk_auth, 1);

    // The canonical form is not counted; a wrong value under either form is still refused.
    assert_eq!(
        fs_put(&sb, &client, "f", r#"{"status":2}"#).await.status,
        200
    );
    assert_eq!(sb.stats().noncanonical_helpdesk_auth, 1);
    let resp = client
        .put(sb.feishu_ticket_url("f"))
        .header(
            "Authorization",
            format!("Bearer {}", sb.current_access_token()),
        )
        .header("X-Lark-Helpdesk-Authorization", "Bearer d3Jvbmc6d3Jvbmc=")
        .header("Content-Type", CT_FEISHU)
        .body(r#"{"status":2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(read(resp).await.code(), 154_003);
}

#[tokio::test]
async fn customized_fields_keys_of_the_official_models_are_ignored() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .start()
        .await
        .unwrap();
    let body = r#"{"customized_fields":[{"id":"6746384425543548981","key_name":"device","value":"PRN-1",
        "display_name":"Device","position":"2","required":false,"editable":true}]}"#;
    let resp = fs_put(&sb, &client(), "f", body).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let fields = sb.feishu_ticket("f").unwrap().customized_fields;
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].value.as_deref(), Some("PRN-1"));
    // Any other unknown key is still refused.
    let resp = fs_put(
        &sb,
        &client(),
        "f",
        r#"{"customized_fields":[{"id":"1","colour":"red"}]}"#,
    )
    .await;
    assert_eq!(resp.code(), 154_000);
}

#[tokio::test]
async fn rate_limit_mode_answers_as_each_vendor_does() {
    let sb = Sandbox::builder()
        .rate_limit(Provider::Feishu, 2)
        .rate_limit(Provider::EngageLab, 3)
        .seed_feishu_default("f")
        .seed_engagelab_default("e")
        .start()
        .await
        .unwrap();
    let client = client();
    // The bucket holds one second's worth and starts full; 8 requests would need 3 s to all
    // find a token, far longer than this loop takes, so some are refused.
    let mut feishu = Vec::new();
    for _ in 0..8 {
        feishu.push(fs_put(&sb, &client, "f", r#"{"comment":"x"}"#).await);
    }
    let refused: Vec<&Resp> = feishu.iter().filter(|r| r.status == 429).collect();
    assert!(!refused.is_empty(), "{feishu:?}");
    let r = refused[0];
    assert_eq!(r.code(), 99_991_400);
    assert_eq!(r.header("x-ogw-ratelimit-limit"), Some("2"));
    assert_eq!(r.header("x-ogw-ratelimit-reset"), Some("1"));
    assert!(r.header("x-tt-logid").is_some());

    let mut engagelab = Vec::new();
    for _ in 0..10 {
        engagelab.push(el_put(&sb, &client, "e", EL_MIN).await);
    }
    let refused: Vec<&Resp> = engagelab.iter().filter(|r| r.status == 429).collect();
    assert!(!refused.is_empty(), "{engagelab:?}");
    assert_eq!(refused[0].code(), 42901);
    assert_eq!(refused[0].header("retry-after"), Some("1"));

    // Refusals are counted; only accepted updates applied their comment.
    let stats = sb.stats();
    let feishu_refused = feishu.iter().filter(|r| r.status == 429).count();
    let engagelab_refused = engagelab.iter().filter(|r| r.status == 429).count();
    assert_eq!(
        stats.rate_limited,
        u64::try_from(feishu_refused + engagelab_refused).unwrap()
    );
    assert_eq!(sb.comment_count("f"), 8 - feishu_refused);
    assert_eq!(
        stats.comments_applied,
        u64::try_from(8 - feishu_refused).unwrap()
    );

    // Off at run time; the admin route shows and sets it.
    sb.set_rate_limit(Provider::Feishu, None);
    for _ in 0..5 {
        assert_eq!(
            fs_put(&sb, &client, "f", r#"{"status":2}"#).await.status,
            200
        );
    }
    let resp = client
        .put(format!("{}/rate_limit", sb.admin_url()))
        .body(r#"{"feishu":7}"#)
        .send()
        .await
        .unwrap();
    let resp = read(resp).await;
    // Turning the Feishu mode on paces reads at the documented 10/s in their own bucket.
    assert_eq!(
        resp.json(),
        serde_json::json!({"engagelab":3,"feishu":7,"feishu_get":10})
    );
}

#[tokio::test]
async fn comment_counts_show_duplicates() {
    let sb = Sandbox::builder()
        .seed_feishu_default("a")
        .seed_feishu_default("b")
        .seed_feishu_default("c")
        .start()
        .await
        .unwrap();
    let client = client();
    fs_put(&sb, &client, "a", r#"{"comment":"hello"}"#).await;
    fs_put(&sb, &client, "b", r#"{"comment":"hello"}"#).await;
    fs_put(&sb, &client, "b", r#"{"comment":"hello"}"#).await;
    fs_put(&sb, &client, "c", r#"{"status":3}"#).await;
    let counts = sb.comment_counts();
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("b"), Some(&2));
    assert_eq!(counts.get("c"), None);
    let resp = read(
        client
            .get(format!("{}/comments", sb.admin_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resp.json(), serde_json::json!({"a":1,"b":2}));
}
