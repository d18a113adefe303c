//! Public data types: credentials, tickets, counters and recorded requests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The credentials the sandbox accepts. Every default is an obviously fake fixed string.
///
/// Start from [`Credentials::default`] and change the fields you need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Credentials {
    /// EngageLab API key (user part of `Authorization: Basic`).
    pub engagelab_api_key: String,
    /// EngageLab API secret (password part of `Authorization: Basic`).
    pub engagelab_api_secret: String,
    /// The Feishu `user_access_token` valid at start-up (for the configured TTL).
    pub feishu_user_access_token: String,
    /// Feishu helpdesk id (first half of `X-Lark-Helpdesk-Authorization`).
    pub feishu_helpdesk_id: String,
    /// Feishu helpdesk token (second half of `X-Lark-Helpdesk-Authorization`).
    pub feishu_helpdesk_token: String,
    /// Feishu app id, the `client_id` of the token refresh endpoint.
    pub feishu_app_id: String,
    /// Feishu app secret, the `client_secret` of the token refresh endpoint.
    pub feishu_app_secret: String,
    /// The Feishu refresh token valid at start-up (single use: refreshing rotates it).
    pub feishu_refresh_token: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            engagelab_api_key: "sandbox-engagelab-key".to_owned(),
            engagelab_api_secret: "sandbox-engagelab-secret".to_owned(),
            feishu_user_access_token: "u-sandbox-feishu-user-token".to_owned(),
            feishu_helpdesk_id: "sandbox-helpdesk-id".to_owned(),
            feishu_helpdesk_token: "sandbox-helpdesk-token".to_owned(),
            feishu_app_id: "cli_sandbox_app".to_owned(),
            feishu_app_secret: "sandbox-app-secret".to_owned(),
            feishu_refresh_token: "ur-sandbox-refresh-token".to_owned(),
        }
    }
}

impl Credentials {
    /// The full EngageLab `Authorization` header value: `Basic base64(key:secret)`.
    pub fn engagelab_authorization(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                self.engagelab_api_key, self.engagelab_api_secret
            ))
        )
    }

    /// The Feishu `X-Lark-Helpdesk-Authorization` header value: `base64(helpdesk_id:helpdesk_token)`.
    pub fn feishu_helpdesk_authorization(&self) -> String {
        STANDARD.encode(format!(
            "{}:{}",
            self.feishu_helpdesk_id, self.feishu_helpdesk_token
        ))
    }
}

/// One EngageLab ticket attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EngageLabAttachment {
    /// The attachment's URL.
    pub file_url: String,
}

impl EngageLabAttachment {
    /// An attachment with this URL.
    pub fn new(file_url: impl Into<String>) -> Self {
        Self {
            file_url: file_url.into(),
        }
    }
}

/// An EngageLab LiveDesk ticket as the sandbox stores it (and as `GET` returns it).
///
/// Deserializing accepts partial JSON: missing fields take the [`Default`] values. Start from
/// [`EngageLabTicket::default`] and change the fields you need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EngageLabTicket {
    /// Ticket id (the sandbox sets it to the id the ticket is stored under).
    pub ticket_id: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// Ticket-level attachments.
    pub attachments: Vec<EngageLabAttachment>,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// `incident`, `question`, `problem` or `task`; `None` when never set.
    pub ticket_type: Option<String>,
    /// Custom fields, any JSON value per key.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Last update, RFC 3339 with offset (e.g. `2025-11-04T10:30:00+00:00`). Seeding fills an
    /// empty value with the current time.
    pub updated_at: String,
}

impl Default for EngageLabTicket {
    fn default() -> Self {
        Self {
            ticket_id: String::new(),
            title: "Sandbox ticket".to_owned(),
            description: "Seeded by ticket-sandbox.".to_owned(),
            attachments: Vec::new(),
            priority: "medium".to_owned(),
            ticket_type: None,
            custom_fields: serde_json::Map::new(),
            tags: Vec::new(),
            updated_at: String::new(),
        }
    }
}

/// One Feishu customized field (`customized_field_display_item`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FeishuCustomizedField {
    /// Field id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Key name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Value (always a string on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl FeishuCustomizedField {
    /// A field with the given parts (any may be absent).
    pub fn new(id: Option<&str>, key_name: Option<&str>, value: Option<&str>) -> Self {
        Self {
            id: id.map(str::to_owned),
            key_name: key_name.map(str::to_owned),
            value: value.map(str::to_owned),
        }
    }
}

/// A Feishu Helpdesk ticket as the sandbox stores it (and as `GET` returns it under `data.ticket`).
///
/// Deserializing accepts partial JSON: missing fields take the [`Default`] values. Start from
/// [`FeishuTicket::default`] and change the fields you need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FeishuTicket {
    /// Ticket id (the sandbox sets it to the id the ticket is stored under).
    pub ticket_id: String,
    /// Status: 1, 2, 3, 4, 5, 50 or 51.
    pub status: i64,
    /// Tag names (an update replaces them).
    pub tag_names: Vec<String>,
    /// Every comment received, oldest first (each update's `comment` is appended).
    pub comments: Vec<String>,
    /// Customized fields (an update merges by `id`, else by `key_name`).
    pub customized_fields: Vec<FeishuCustomizedField>,
    /// Ticket stage.
    pub ticket_type: i64,
    /// 1 unsolved, 2 solved.
    pub solved: i64,
    /// Channel id.
    pub channel: i64,
    /// Last update, Unix milliseconds. Seeding fills `0` with the current time.
    pub updated_at: i64,
}

impl Default for FeishuTicket {
    fn default() -> Self {
        Self {
            ticket_id: String::new(),
            status: 1,
            tag_names: Vec::new(),
            comments: Vec::new(),
            customized_fields: Vec::new(),
            ticket_type: 1,
            solved: 1,
            channel: 0,
            updated_at: 0,
        }
    }
}

/// Request and connection counters. Every request is counted once, faulted ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Requests on EngageLab routes (`/api/...`).
    pub engagelab_requests: u64,
    /// Requests on Feishu helpdesk routes (`/open-apis/...` except the token endpoint).
    pub feishu_requests: u64,
    /// Requests on the Feishu token refresh endpoint.
    pub token_refresh_requests: u64,
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
}

impl Stats {
    /// Requests of every kind, admin included.
    pub fn total_requests(&self) -> u64 {
        self.engagelab_requests
            + self.feishu_requests
            + self.token_refresh_requests
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
