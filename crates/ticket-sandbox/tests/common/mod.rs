//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use helpdesk_ticket_sandbox::Sandbox;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response read to the end.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub(crate) fn code(&self) -> i64 {
        self.json()["code"].as_i64().unwrap()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

pub(crate) async fn read(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    Resp {
        status,
        headers,
        body,
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

pub(crate) const CT_JSON: &str = "application/json";
pub(crate) const CT_FEISHU: &str = "application/json; charset=utf-8";

/// An EngageLab PUT with the right credentials.
pub(crate) async fn el_put(sb: &Sandbox, client: &reqwest::Client, id: &str, body: &str) -> Resp {
    let resp = client
        .put(sb.engagelab_ticket_url(id))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .header("Content-Type", CT_JSON)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// An EngageLab GET with the right credentials.
pub(crate) async fn el_get(sb: &Sandbox, client: &reqwest::Client, id: &str) -> Resp {
    let resp = client
        .get(sb.engagelab_ticket_url(id))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// A Feishu PUT request builder with the right headers and the given bearer token.
pub(crate) fn fs_put_with(
    sb: &Sandbox,
    client: &reqwest::Client,
    id: &str,
    token: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    client
        .put(sb.feishu_ticket_url(id))
        .header("Authorization", format!("Bearer {token}"))
        .header(
            "X-Lark-Helpdesk-Authorization",
            sb.credentials().feishu_helpdesk_authorization(),
        )
        .header("Content-Type", CT_FEISHU)
        .body(body.to_owned())
}

/// A Feishu PUT with the current access token.
pub(crate) async fn fs_put(sb: &Sandbox, client: &reqwest::Client, id: &str, body: &str) -> Resp {
    let token = sb.current_access_token();
    read(
        fs_put_with(sb, client, id, &token, body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A Feishu GET with the current tenant access token (the read takes a tenant token).
pub(crate) async fn fs_get(sb: &Sandbox, client: &reqwest::Client, id: &str) -> Resp {
    fs_get_with(sb, client, id, &sb.current_tenant_access_token()).await
}

/// A Feishu GET with the given bearer token and the right helpdesk header.
pub(crate) async fn fs_get_with(
    sb: &Sandbox,
    client: &reqwest::Client,
    id: &str,
    token: &str,
) -> Resp {
    let resp = client
        .get(sb.feishu_ticket_url(id))
        .header("Authorization", format!("Bearer {token}"))
        .header(
            "X-Lark-Helpdesk-Authorization",
            sb.credentials().feishu_helpdesk_authorization(),
        )
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// A token refresh with the configured client and the given refresh token.
pub(crate) async fn refresh(sb: &Sandbox, client: &reqwest::Client, refresh_token: &str) -> Resp {
    let c = sb.credentials();
    let body = serde_json::json!({
        "grant_type": "refresh_token",
        "client_id": c.feishu_app_id,
        "client_secret": c.feishu_app_secret,
        "refresh_token": refresh_token,
    });
    let resp = client
        .post(sb.feishu_token_url())
        .header("Content-Type", CT_FEISHU)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// A minimal valid EngageLab update body.
pub(crate) const EL_MIN: &str = r#"{"title":"t","description":"d"}"#;
