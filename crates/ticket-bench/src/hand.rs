//! The hand-written contestant: what a caller writes with reqwest + serde and no library.
//! The request is built per call (body serialized from the caller's fields, URL formatted,
//! one `.header()` call per header), the answer checked and decoded with serde. The
//! credentials' header values are computed once, as any hand-written client would. It sends
//! the library's request byte for byte (method, path, every header in the same order, body;
//! `tests/same_request.rs`) and runs on [`bare_client`], as the floor does.

use serde::{Deserialize, Serialize};
use ticket_http::PreparedRequest;
use ticket_http::reqwest::header::{self, HeaderValue};
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

/// What a hand-written client holds: its reqwest client, the base URL, and the header values
/// it computes once (the credentials, from the library's own `prepare` of the same update, so
/// that both send the same secrets; and the library's `user-agent`, so that both send the same
/// bytes, `tests/same_request.rs` checks them whole).
#[derive(Debug)]
pub struct Hand {
    client: Client,
    provider: &'static str,
    base: String,
    authorization: HeaderValue,
    /// Feishu's `X-Lark-Helpdesk-Authorization`.
    helpdesk: Option<HeaderValue>,
    user_agent: HeaderValue,
}

impl Hand {
    /// The hand-written client for `provider` (`engagelab` or `feishu`) at `base`, its
    /// credentials' header values taken from `library` (the library's request for the same
    /// update).
    pub fn new(provider: &str, base: &str, library: &PreparedRequest) -> Self {
        let headers = library.headers();
        let (provider, helpdesk) = if provider == "engagelab" {
            ("engagelab", None)
        } else {
            (
                "feishu",
                Some(headers[provider_feishu::HELPDESK_AUTH_HEADER].clone()),
            )
        };
        Self {
            client: bare_client(),
            provider,
            base: base.to_owned(),
            authorization: headers[header::AUTHORIZATION].clone(),
            helpdesk,
            user_agent: headers[header::USER_AGENT].clone(),
        }
    }

    /// One update of ticket `id`: build, send, check, decode.
    ///
    /// # Errors
    /// A transport error, a status that is not a success, or an answer that is not the
    /// provider's success, as text.
    pub async fn update(&self, id: &str) -> Result<(), String> {
        let base = &self.base;
        let (url, content_type) = if self.provider == "engagelab" {
            (
                format!("{base}/api/v2/accounts/tickets/{id}"),
                "application/json",
            )
        } else {
            (
                format!("{base}/open-apis/helpdesk/v1/tickets/{id}"),
                "application/json; charset=utf-8",
            )
        };
        let mut request = self
            .client
            .request(Method::PUT, url)
            .header(header::AUTHORIZATION, self.authorization.clone());
        if let Some(helpdesk) = &self.helpdesk {
            request = request.header(provider_feishu::HELPDESK_AUTH_HEADER, helpdesk.clone());
        }
        let response = request
            .header(header::CONTENT_TYPE, HeaderValue::from_static(content_type))
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .header(header::USER_AGENT, self.user_agent.clone())
            .body(body(self.provider))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let code = if self.provider == "engagelab" {
            let answer: EngageLabAnswer =
                serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            std::hint::black_box(answer.data.and_then(|d| d.updated_at));
            answer.code
        } else {
            let answer: FeishuAnswer = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            answer.code
        };
        if code == 0 {
            Ok(())
        } else {
            Err(format!("code {code}"))
        }
    }
}

/// A bare reqwest client: reqwest's defaults (its own `accept: */*` the only default header,
/// no timeout), no redirects followed, `TCP_NODELAY`, and no proxies (the library's client
/// turns them off too when none is configured, and so skips reqwest's proxy matching). The
/// floor and the hand-written contestant run on it; every header they send is in the request
/// itself.
pub fn bare_client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .expect("a reqwest client")
}
