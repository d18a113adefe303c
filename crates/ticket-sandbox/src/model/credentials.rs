//! The credentials the sandbox accepts, and the header values built from them.

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
    /// The Feishu `tenant_access_token` valid at start-up (for the tenant token lifetime): the
    /// one the tenant token endpoint hands out until it is due for renewal.
    #[serde(default = "default_tenant_token")]
    pub feishu_tenant_access_token: String,
}

fn default_tenant_token() -> String {
    "t-sandbox-tenant-token".to_owned()
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
            feishu_tenant_access_token: default_tenant_token(),
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
