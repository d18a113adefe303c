//! The hand-written contestant: what a caller writes with reqwest + serde and no library.
//! The request is built per call (body serialized from the caller's fields, URL formatted,
//! headers inserted), the answer checked and decoded with serde. The credentials' header
//! value is computed once, as any hand-written client would. It runs on [`bare_client`],
//! as the raw floor does.

use serde::{Deserialize, Serialize};
use ticket_http::reqwest::header::{self, HeaderMap, HeaderValue};
use ticket_http::reqwest::{Client, Method, redirect};

#[derive(Serialize)]
struct EngageLabBody<'a> {
    title: &'a str,
    description: &'a str,
    priority: &'a str,
    custom_fields: EngageLabFields<'a>,
    tags: &'a [&'a str],
}

#[derive(Serialize)]
struct EngageLabFields<'a> {
    device_sn: &'a str,
}

#[derive(Deserialize)]
struct EngageLabAnswer {
    code: i64,
    #[serde(default)]
    data: Option<EngageLabData>,
}

#[derive(Deserialize)]
struct EngageLabData {
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Serialize)]
struct FeishuBody<'a> {
    status: u8,
    comment: &'a str,
}

#[derive(Deserialize)]
struct FeishuAnswer {
    code: i64,
}

/// The body this contestant sends for `provider`, for the check against the library's.
pub fn body(provider: &str) -> Vec<u8> {
    if provider == "engagelab" {
        serde_json::to_vec(&EngageLabBody {
            title: "Printer jammed (updated)",
            description: "A4 paper is stuck in the output tray; a technician is on the way.",
            priority: "high",
            custom_fields: EngageLabFields {
                device_sn: "PRN-2024-001",
            },
            tags: &["printer", "hardware"],
        })
    } else {
        serde_json::to_vec(&FeishuBody {
            status: 2,
            comment: "Picked up by the on-call agent.",
        })
    }
    .expect("JSON")
}

/// One update: build, send, check, decode.
pub async fn update(
    client: &Client,
    provider: &str,
    base: &str,
    id: &str,
    auth: &HeaderValue,
    user_agent: &HeaderValue,
) {
    let url = if provider == "engagelab" {
        format!("{base}/api/v2/accounts/tickets/{id}")
    } else {
        format!("{base}/open-apis/helpdesk/v1/tickets/{id}")
    };
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::AUTHORIZATION, auth.clone());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(header::USER_AGENT, user_agent.clone());
    let response = client
        .request(Method::PUT, url)
        .headers(headers)
        .body(body(provider))
        .send()
        .await
        .expect("an answer");
    assert!(response.status().is_success());
    let bytes = response.bytes().await.expect("a body");
    if provider == "engagelab" {
        let answer: EngageLabAnswer = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(answer.code, 0);
        std::hint::black_box(answer.data.and_then(|d| d.updated_at));
    } else {
        let answer: FeishuAnswer = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(answer.code, 0);
    }
}

/// A bare reqwest client: reqwest's defaults (its own `accept: */*` the only default header,
/// no timeout), no redirects followed, `TCP_NODELAY`. The floor and the hand-written
/// contestant run on it; every header they send is in the request itself.
pub fn bare_client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .expect("a reqwest client")
}
