//! Request counters and the recorded requests.

use serde::{Deserialize, Serialize};

/// Request and connection counters. Every request is counted once, faulted ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Requests on EngageLab routes (`/api/...`, and the bare `/v2/accounts/tickets/...`).
    pub engagelab_requests: u64,
    /// Requests on Feishu helpdesk routes (`/open-apis/...` except the two token endpoints).
    pub feishu_requests: u64,
    /// Requests on the Feishu user token refresh endpoint.
    pub token_refresh_requests: u64,
    /// Of those, refreshes refused because the refresh token was unknown or already used
    /// (`20026 invalid_grant`): each one is a refresh wasted by a client.
    #[serde(default)]
    pub token_refresh_refused: u64,
    /// Requests on the admin routes (`/__sandbox/...`).
    pub admin_requests: u64,
    /// Requests on any other path (answered 404).
    pub other_requests: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// Injected faults applied.
    pub faults_applied: u64,
    /// Ticket requests refused by the rate-limit mode (not counting injected rate-limit faults).
    #[serde(default)]
    pub rate_limited: u64,
    /// Feishu requests accepted with a non-canonical `X-Lark-Helpdesk-Authorization` value
    /// (`Bearer <base64>`, as the official Node SDK's helper sends it).
    #[serde(default)]
    pub noncanonical_helpdesk_auth: u64,
    /// Feishu comments appended to tickets (one per accepted update carrying `comment`).
    #[serde(default)]
    pub comments_applied: u64,
    /// EngageLab ticket `GET`s received, on either path.
    #[serde(default)]
    pub engagelab_gets: u64,
    /// Of those, on the bare `/v2/accounts/tickets/{id}` path.
    #[serde(default)]
    pub engagelab_gets_bare_path: u64,
    /// EngageLab ticket `PUT`s received.
    #[serde(default)]
    pub engagelab_puts: u64,
    /// Feishu ticket `GET`s received.
    #[serde(default)]
    pub feishu_gets: u64,
    /// Of those, with a tenant access token the sandbox issued (live or expired).
    #[serde(default)]
    pub feishu_gets_tenant_token: u64,
    /// Of those, with a user access token the sandbox issued (refused: 99991668).
    #[serde(default)]
    pub feishu_gets_user_token: u64,
    /// Feishu ticket `PUT`s received.
    #[serde(default)]
    pub feishu_puts: u64,
    /// Of those, with a user access token the sandbox issued (live or expired).
    #[serde(default)]
    pub feishu_puts_user_token: u64,
    /// Of those, with a tenant access token the sandbox issued (refused: 99991663).
    #[serde(default)]
    pub feishu_puts_tenant_token: u64,
    /// Requests on the tenant access token endpoint.
    #[serde(default)]
    pub tenant_token_requests: u64,
    /// Tenant access tokens minted there (an answer repeating the current token is not one).
    #[serde(default)]
    pub tenant_tokens_issued: u64,
    /// Tenant token requests refused (malformed body, unknown app id, wrong app secret).
    #[serde(default)]
    pub tenant_token_refused: u64,
    /// Updates answered with success while a [`crate::Fault::SilentDrop`] kept one of their
    /// fields from being stored.
    #[serde(default)]
    pub silent_drops: u64,
}

impl Stats {
    /// Requests of every kind, admin included.
    pub fn total_requests(&self) -> u64 {
        self.engagelab_requests
            + self.feishu_requests
            + self.token_refresh_requests
            + self.tenant_token_requests
            + self.admin_requests
            + self.other_requests
    }
}

/// One request as received (admin requests are not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method, e.g. `PUT`.
    pub method: String,
    /// The raw path exactly as received, not percent-decoded, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Headers in received order; names are lower case, values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body bytes (cut short when `body_truncated`).
    pub body: Vec<u8>,
    /// Whether the body was cut to keep the request log within its byte limit.
    pub body_truncated: bool,
}

impl RecordedRequest {
    /// Roughly how many bytes this entry holds, for the request log's byte limit.
    pub(crate) fn size(&self) -> usize {
        self.method.len()
            + self.path.len()
            + self.query.as_ref().map_or(0, String::len)
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + self.body.len()
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}
