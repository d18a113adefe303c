//! The floor: the cheapest honest use of reqwest for the very request the library sends.
//!
//! URL, headers and body are taken from the provider's own `prepare` and built once; each
//! call sends them on [`hand::bare_client`](crate::hand::bare_client) (proxies off, as the
//! library's client has them without a proxy configured), checks the status and reads the
//! body. No user-agent or other header beyond the library's own: the wire bytes are the
//! library's (`tests/same_request.rs` compares them whole).
//!
//! [`HeaderWay`] says how the prepared header map reaches reqwest. [`HeaderWay::CHEAPEST`]
//! is the one the benchmarks use, chosen by measurement (BENCHMARKS.md section 5); the others
//! stay selectable (`FLOOR_HEADERS`) so that the choice can be re-checked.

use bytes::Bytes;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use secrecy::SecretString;
use ticket_http::PreparedRequest;
use ticket_http::reqwest::header::HeaderMap;
use ticket_http::reqwest::{Client, Method, Request, Url};

use crate::fixtures;

/// The EngageLab API key every benchmark uses (the sandbox's default).
pub const ENGAGELAB_KEY: &str = "sandbox-engagelab-key";
/// The EngageLab API secret every benchmark uses (the sandbox's default).
pub const ENGAGELAB_SECRET: &str = "sandbox-engagelab-secret";
/// The Feishu user access token every benchmark uses (the sandbox's default).
pub const FEISHU_TOKEN: &str = "u-sandbox-feishu-user-token";
/// The Feishu helpdesk id every benchmark uses (the sandbox's default).
pub const FEISHU_HELPDESK_ID: &str = "sandbox-helpdesk-id";
/// The Feishu helpdesk token every benchmark uses (the sandbox's default).
pub const FEISHU_HELPDESK_TOKEN: &str = "sandbox-helpdesk-token";

/// The EngageLab client at `base`.
pub fn engagelab_client(base: &str) -> EngageLabClient {
    let config = EngageLabConfig::new(ENGAGELAB_KEY, ENGAGELAB_SECRET)
        .and_then(|c| c.with_base_url(base))
        .expect("a valid EngageLab config");
    EngageLabClient::new(config).expect("an EngageLab client")
}

/// The Feishu client (static user token) at `base`.
pub fn feishu_client(base: &str) -> FeishuClient {
    let config =
        FeishuConfig::with_static_token(FEISHU_TOKEN, FEISHU_HELPDESK_ID, FEISHU_HELPDESK_TOKEN)
            .and_then(|c| c.with_base_url(base))
            .expect("a valid Feishu config");
    FeishuClient::new(config).expect("a Feishu client")
}

/// The request the library sends for the small update of `provider` (`engagelab` or
/// `feishu`) to `base`: its own `prepare`.
pub fn library_request(provider: &str, base: &str) -> PreparedRequest {
    let (request, _) = if provider == "engagelab" {
        engagelab_client(base)
            .prepare(&fixtures::engagelab_id(), &fixtures::engagelab_small())
            .expect("prepare")
    } else {
        feishu_client(base)
            .prepare_with_token(
                &fixtures::feishu_id(),
                &fixtures::feishu_small(),
                &SecretString::from(FEISHU_TOKEN),
            )
            .expect("prepare")
    };
    request
}

/// How the floor hands the prepared headers to reqwest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderWay {
    /// `Request::new`, the map cloned and moved in, `Client::execute`: what the library does.
    Move,
    /// `RequestBuilder::header` once per header (reqwest appends each to an empty map).
    Calls,
    /// `RequestBuilder::headers(map.clone())` (reqwest re-inserts each into a fresh map).
    Clone,
}

impl HeaderWay {
    /// The cheapest in instructions per update, for both providers (BENCHMARKS.md section 5).
    pub const CHEAPEST: HeaderWay = HeaderWay::Move;

    /// From its name (`move`, `calls`, `clone`), as `FLOOR_HEADERS` gives it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "move" => Some(Self::Move),
            "calls" => Some(Self::Calls),
            "clone" => Some(Self::Clone),
            _ => None,
        }
    }
}

/// The floor for one prepared request.
#[derive(Debug)]
pub struct Floor {
    client: Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
    way: HeaderWay,
}

impl Floor {
    /// The floor that sends `request` (the library's own), its headers the `way` given.
    pub fn new(request: &PreparedRequest, way: HeaderWay) -> Self {
        Self {
            client: crate::hand::bare_client(),
            method: request.method().clone(),
            url: Url::parse(request.url()).expect("a URL"),
            headers: request.headers().clone(),
            body: request.body().clone(),
            way,
        }
    }

    /// Sends the request once, checks the status, reads the body.
    ///
    /// # Errors
    /// A transport error or a status that is not a success, as text.
    pub async fn send(&self) -> Result<(), String> {
        let sent = match self.way {
            HeaderWay::Move => {
                let mut request = Request::new(self.method.clone(), self.url.clone());
                *request.headers_mut() = self.headers.clone();
                *request.body_mut() = Some(self.body.clone().into());
                self.client.execute(request).await
            }
            HeaderWay::Calls => {
                let mut builder = self.client.request(self.method.clone(), self.url.clone());
                for (name, value) in &self.headers {
                    builder = builder.header(name, value.clone());
                }
                builder.body(self.body.clone()).send().await
            }
            HeaderWay::Clone => {
                self.client
                    .request(self.method.clone(), self.url.clone())
                    .headers(self.headers.clone())
                    .body(self.body.clone())
                    .send()
                    .await
            }
        };
        let response = sent.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        response.bytes().await.map_err(|e| e.to_string())?;
        Ok(())
    }
}
