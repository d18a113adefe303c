//! Injectable faults and where they apply.

mod silent_drop;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ratelimit::Provider;

pub use silent_drop::DropTarget;

/// A failure to serve instead of (or before) the normal answer.
///
/// Serialized (for the admin route) as an object tagged by `kind`, e.g.
/// `{"kind":"rate_limit","reset_secs":3}` or `{"kind":"latency","millis":250}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FaultWire", try_from = "FaultWire")]
#[non_exhaustive]
pub enum Fault {
    /// Rate limited. Feishu: HTTP 429, `x-ogw-ratelimit-limit: 50`,
    /// `x-ogw-ratelimit-reset: <reset_secs>`, code 99991400. EngageLab: HTTP 429,
    /// `Retry-After: <reset_secs>`, code 42901.
    RateLimit {
        /// Seconds until the window reopens.
        reset_secs: u64,
    },
    /// Like [`Fault::RateLimit`] but with HTTP 400, as some older APIs answer.
    RateLimitLegacy400 {
        /// Seconds until the window reopens.
        reset_secs: u64,
    },
    /// An internal error with this HTTP status (meant for 5xx). Feishu code 155000,
    /// EngageLab code 50001.
    ServerError {
        /// HTTP status to answer with.
        status: u16,
    },
    /// Wait this long, then handle the request normally.
    Latency(Duration),
    /// Close the TCP connection without sending any response (the request was received).
    DropConnection,
    /// Send the status line and headers with a `Content-Length` larger than the bytes that
    /// follow, then close the connection.
    TruncatedBody,
    /// HTTP 200 with a `text/html` body `<html>gateway</html>`.
    NonJsonBody,
    /// HTTP 200 carrying an authentication error code. Feishu: 99991677 "Authentication token
    /// expired". EngageLab: `{"error":{"code":40101,...}}`.
    AuthErrorHttp200,
    /// Every Feishu access token issued so far, user and tenant, counts as expired from now on;
    /// the request is then handled normally (so an update carrying one fails with 99991677, a
    /// read with 99991663). No effect on EngageLab requests.
    ExpireToken,
    /// HTTP 200 carrying a not-found code. EngageLab: code 40401; Feishu: code 154004.
    NotFoundHttp200,
    /// HTTP 403 permission denied. EngageLab: code 40301; Feishu: code 154003.
    Forbidden,
    /// The next update of the target's provider that carries the target field (in this scope)
    /// is answered with success, but that field (one tag, one custom field key) is not stored:
    /// the ticket keeps its old value. Something a "verify after update" must catch.
    ///
    /// Unlike the other faults it is not served to the next request: requests it does not fit
    /// (reads, other providers, updates without the field, refused updates) pass it by.
    SilentDrop(DropTarget),
}

/// Which requests a fault applies to.
///
/// Serialized as `"engagelab"`, `"feishu"`, `"feishu_token"`, `"feishu_tenant_token"` or
/// `{"ticket":"<id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Every EngageLab request (`/api/...` and the bare `/v2/accounts/tickets/...`).
    #[serde(rename = "engagelab")]
    EngageLab,
    /// Every Feishu helpdesk request (`/open-apis/...` except the two token endpoints).
    #[serde(rename = "feishu")]
    Feishu,
    /// The Feishu user token refresh endpoint (`POST /open-apis/authen/v2/oauth/token`).
    #[serde(rename = "feishu_token")]
    FeishuToken,
    /// The Feishu tenant token endpoint
    /// (`POST /open-apis/auth/v3/tenant_access_token/internal`).
    #[serde(rename = "feishu_tenant_token")]
    FeishuTenantToken,
    /// Ticket requests (`GET`/`PUT`, either provider) for this ticket id (decoded).
    /// Checked before the provider-wide scopes.
    #[serde(rename = "ticket")]
    Ticket(String),
}

/// A fault still waiting in a queue, as listed by [`crate::Sandbox::pending_faults`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PendingFault {
    /// The fault.
    pub fault: Fault,
    /// Where it applies.
    pub scope: Scope,
    /// How many more matching requests will get it.
    pub remaining: u32,
}

impl PendingFault {
    /// A queued fault (for comparisons in tests).
    pub fn new(fault: Fault, scope: Scope, remaining: u32) -> Self {
        Self {
            fault,
            scope,
            remaining,
        }
    }
}

/// The admin-route / serde form of [`Fault`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultWire {
    RateLimit {
        #[serde(default = "one")]
        reset_secs: u64,
    },
    #[serde(rename = "rate_limit_legacy_400")]
    RateLimitLegacy400 {
        #[serde(default = "one")]
        reset_secs: u64,
    },
    ServerError {
        #[serde(default = "five_hundred")]
        status: u16,
    },
    Latency {
        millis: u64,
    },
    DropConnection,
    TruncatedBody,
    NonJsonBody,
    #[serde(rename = "auth_error_http_200")]
    AuthErrorHttp200,
    ExpireToken,
    #[serde(rename = "not_found_http_200")]
    NotFoundHttp200,
    Forbidden,
    SilentDrop {
        provider: Provider,
        field: String,
    },
}

fn one() -> u64 {
    1
}

fn five_hundred() -> u16 {
    500
}

impl From<Fault> for FaultWire {
    fn from(f: Fault) -> Self {
        match f {
            Fault::RateLimit { reset_secs } => Self::RateLimit { reset_secs },
            Fault::RateLimitLegacy400 { reset_secs } => Self::RateLimitLegacy400 { reset_secs },
            Fault::ServerError { status } => Self::ServerError { status },
            Fault::Latency(d) => Self::Latency {
                millis: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            },
            Fault::DropConnection => Self::DropConnection,
            Fault::TruncatedBody => Self::TruncatedBody,
            Fault::NonJsonBody => Self::NonJsonBody,
            Fault::AuthErrorHttp200 => Self::AuthErrorHttp200,
            Fault::ExpireToken => Self::ExpireToken,
            Fault::NotFoundHttp200 => Self::NotFoundHttp200,
            Fault::Forbidden => Self::Forbidden,
            Fault::SilentDrop(target) => Self::SilentDrop {
                provider: target.provider(),
                field: target.spec(),
            },
        }
    }
}

impl TryFrom<FaultWire> for Fault {
    type Error = String;

    fn try_from(f: FaultWire) -> Result<Self, String> {
        Ok(match f {
            FaultWire::RateLimit { reset_secs } => Self::RateLimit { reset_secs },
            FaultWire::RateLimitLegacy400 { reset_secs } => Self::RateLimitLegacy400 { reset_secs },
            FaultWire::ServerError { status } => Self::ServerError { status },
            FaultWire::Latency { millis } => Self::Latency(Duration::from_millis(millis)),
            FaultWire::DropConnection => Self::DropConnection,
            FaultWire::TruncatedBody => Self::TruncatedBody,
            FaultWire::NonJsonBody => Self::NonJsonBody,
            FaultWire::AuthErrorHttp200 => Self::AuthErrorHttp200,
            FaultWire::ExpireToken => Self::ExpireToken,
            FaultWire::NotFoundHttp200 => Self::NotFoundHttp200,
            FaultWire::Forbidden => Self::Forbidden,
            FaultWire::SilentDrop { provider, field } => {
                Self::SilentDrop(DropTarget::new(provider, &field)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wire_forms() {
        let f: Fault = serde_json::from_str(r#"{"kind":"latency","millis":250}"#).unwrap();
        assert_eq!(f, Fault::Latency(Duration::from_millis(250)));
        let f: Fault = serde_json::from_str(r#"{"kind":"rate_limit_legacy_400"}"#).unwrap();
        assert_eq!(f, Fault::RateLimitLegacy400 { reset_secs: 1 });
        assert_eq!(
            serde_json::to_string(&Fault::AuthErrorHttp200).unwrap(),
            r#"{"kind":"auth_error_http_200"}"#
        );
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"nope"}"#).is_err());
        let s: Scope = serde_json::from_str(r#"{"ticket":"a/b"}"#).unwrap();
        assert_eq!(s, Scope::Ticket("a/b".to_owned()));
        assert_eq!(
            serde_json::to_string(&Scope::EngageLab).unwrap(),
            r#""engagelab""#
        );
        let drop = Fault::SilentDrop(DropTarget::new(Provider::Feishu, "tag_names.vip").unwrap());
        let text = r#"{"kind":"silent_drop","provider":"feishu","field":"tag_names.vip"}"#;
        assert_eq!(serde_json::to_string(&drop).unwrap(), text);
        assert_eq!(serde_json::from_str::<Fault>(text).unwrap(), drop);
        let err = serde_json::from_str::<Fault>(
            r#"{"kind":"silent_drop","provider":"feishu","field":"priority"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("priority"), "{err}");
    }
}
