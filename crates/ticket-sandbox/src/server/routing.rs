//! Where a request goes: the vendor and admin paths, and the ticket id taken from the path.

use crate::fault::Scope;
use crate::ratelimit::Provider;
use crate::state::RouteKind;
use crate::util::percent_decode;

/// The EngageLab ticket route prefix.
const ENGAGELAB_TICKETS: &str = "/api/v2/accounts/tickets/";
/// The Feishu ticket route prefix.
const FEISHU_TICKETS: &str = "/open-apis/helpdesk/v1/tickets/";
/// The Feishu token refresh route.
pub(crate) const FEISHU_TOKEN: &str = "/open-apis/authen/v2/oauth/token";
/// The admin route prefix.
pub(crate) const ADMIN_PREFIX: &str = "/__sandbox";

/// Where a request is going.
#[derive(Debug)]
pub(super) enum Route {
    /// `/api/v2/accounts/tickets/{id}`; `None` when the id's percent-encoding is invalid.
    EngageLabTicket(Option<String>),
    /// Any other `/api/...` path.
    EngageLabUnknown,
    /// `/open-apis/helpdesk/v1/tickets/{id}`; `None` when the id's percent-encoding is invalid.
    FeishuTicket(Option<String>),
    /// The token refresh endpoint.
    FeishuToken,
    /// Any other `/open-apis/...` path.
    FeishuUnknown,
    /// `/__sandbox...`.
    Admin,
    /// Anything else.
    Other,
}

impl Route {
    pub(super) fn classify(path: &str) -> Self {
        if path == ADMIN_PREFIX || path.starts_with("/__sandbox/") {
            return Self::Admin;
        }
        if path == FEISHU_TOKEN {
            return Self::FeishuToken;
        }
        if let Some(rest) = path.strip_prefix(FEISHU_TICKETS) {
            return match single_segment(rest) {
                Some(id) => Self::FeishuTicket(id),
                None => Self::FeishuUnknown,
            };
        }
        if path.starts_with("/open-apis/") {
            return Self::FeishuUnknown;
        }
        if let Some(rest) = path.strip_prefix(ENGAGELAB_TICKETS) {
            return match single_segment(rest) {
                Some(id) => Self::EngageLabTicket(id),
                None => Self::EngageLabUnknown,
            };
        }
        if path.starts_with("/api/") {
            return Self::EngageLabUnknown;
        }
        Self::Other
    }

    pub(super) fn kind(&self) -> RouteKind {
        match self {
            Self::EngageLabTicket(_) | Self::EngageLabUnknown => RouteKind::EngageLab,
            Self::FeishuTicket(_) | Self::FeishuUnknown => RouteKind::Feishu,
            Self::FeishuToken => RouteKind::FeishuToken,
            Self::Admin => RouteKind::Admin,
            Self::Other => RouteKind::Other,
        }
    }

    /// The fault queue a request on this route takes from (after its ticket's own queue).
    pub(super) fn fault_scope(&self) -> Option<Scope> {
        match self {
            Self::EngageLabTicket(_) | Self::EngageLabUnknown => Some(Scope::EngageLab),
            Self::FeishuTicket(_) | Self::FeishuUnknown => Some(Scope::Feishu),
            Self::FeishuToken => Some(Scope::FeishuToken),
            Self::Admin | Self::Other => None,
        }
    }

    /// The decoded ticket id, for a ticket route with a well-encoded id.
    pub(super) fn ticket_id(&self) -> Option<&str> {
        match self {
            Self::EngageLabTicket(id) | Self::FeishuTicket(id) => id.as_deref(),
            _ => None,
        }
    }

    /// Whose bucket the rate-limit mode takes from: ticket routes only.
    pub(super) fn rate_limited_provider(&self) -> Option<Provider> {
        match self {
            Self::EngageLabTicket(_) => Some(Provider::EngageLab),
            Self::FeishuTicket(_) => Some(Provider::Feishu),
            _ => None,
        }
    }
}

/// `Some(Some(id))` for one non-empty, well-encoded segment; `Some(None)` for one segment whose
/// encoding is invalid; `None` when the rest is empty or has more segments.
fn single_segment(rest: &str) -> Option<Option<String>> {
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    Some(percent_decode(rest))
}
