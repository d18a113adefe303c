//! Where a request goes: the vendor and admin paths, and the ticket id taken from the path.

use hyper::Method;

use crate::fault::Scope;
use crate::ratelimit::Lane;
use crate::state::RouteKind;
use crate::util::percent_decode;

/// The EngageLab ticket route prefix (every update page, and some Get Ticket pages).
pub(crate) const ENGAGELAB_TICKETS: &str = "/api/v2/accounts/tickets/";
/// The EngageLab ticket prefix without `/api` (the other Get Ticket pages); `GET` only.
pub(crate) const ENGAGELAB_BARE_TICKETS: &str = "/v2/accounts/tickets/";
/// The Feishu ticket route prefix.
pub(crate) const FEISHU_TICKETS: &str = "/open-apis/helpdesk/v1/tickets/";
/// The Feishu ticket custom field list.
pub(crate) const FEISHU_FIELDS: &str = "/open-apis/helpdesk/v1/ticket_customized_fields";
/// The Feishu user token refresh route.
pub(crate) const FEISHU_TOKEN: &str = "/open-apis/authen/v2/oauth/token";
/// The Feishu tenant token route (self-built apps).
pub(crate) const FEISHU_TENANT_TOKEN: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// The admin route prefix.
pub(crate) const ADMIN_PREFIX: &str = "/__sandbox";

/// Where a request is going.
#[derive(Debug)]
pub(super) enum Route {
    /// `/api/v2/accounts/tickets/{id}`, or `/v2/...` when `bare`; `id` is `None` when its
    /// percent-encoding is invalid.
    EngageLabTicket { id: Option<String>, bare: bool },
    /// Any other `/api/...` or `/v2/accounts/tickets/...` path.
    EngageLabUnknown,
    /// `/open-apis/helpdesk/v1/tickets/{id}`; `None` when the id's percent-encoding is invalid.
    FeishuTicket(Option<String>),
    /// The ticket custom field list.
    FeishuFields,
    /// The user token refresh endpoint.
    FeishuToken,
    /// The tenant token endpoint.
    FeishuTenantToken,
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
        match path {
            FEISHU_TOKEN => return Self::FeishuToken,
            FEISHU_TENANT_TOKEN => return Self::FeishuTenantToken,
            FEISHU_FIELDS => return Self::FeishuFields,
            _ => {}
        }
        if let Some(rest) = path.strip_prefix(FEISHU_TICKETS) {
            return single_segment(rest).map_or(Self::FeishuUnknown, Self::FeishuTicket);
        }
        if path.starts_with("/open-apis/") {
            return Self::FeishuUnknown;
        }
        for (prefix, bare) in [(ENGAGELAB_TICKETS, false), (ENGAGELAB_BARE_TICKETS, true)] {
            if let Some(rest) = path.strip_prefix(prefix) {
                return single_segment(rest).map_or(Self::EngageLabUnknown, |id| {
                    Self::EngageLabTicket { id, bare }
                });
            }
        }
        if path.starts_with("/api/") {
            return Self::EngageLabUnknown;
        }
        Self::Other
    }

    pub(super) fn kind(&self) -> RouteKind {
        match self {
            Self::EngageLabTicket { .. } | Self::EngageLabUnknown => RouteKind::EngageLab,
            Self::FeishuTicket(_) | Self::FeishuFields | Self::FeishuUnknown => RouteKind::Feishu,
            Self::FeishuToken => RouteKind::FeishuToken,
            Self::FeishuTenantToken => RouteKind::FeishuTenantToken,
            Self::Admin => RouteKind::Admin,
            Self::Other => RouteKind::Other,
        }
    }

    /// The fault queue a request on this route takes from (after its ticket's own queue).
    pub(super) fn fault_scope(&self) -> Option<Scope> {
        match self.kind() {
            RouteKind::EngageLab => Some(Scope::EngageLab),
            RouteKind::Feishu => Some(Scope::Feishu),
            RouteKind::FeishuToken => Some(Scope::FeishuToken),
            RouteKind::FeishuTenantToken => Some(Scope::FeishuTenantToken),
            RouteKind::Admin | RouteKind::Other => None,
        }
    }

    /// The decoded ticket id, for a ticket route with a well-encoded id.
    pub(super) fn ticket_id(&self) -> Option<&str> {
        match self {
            Self::EngageLabTicket { id, .. } | Self::FeishuTicket(id) => id.as_deref(),
            _ => None,
        }
    }

    /// Which bucket the rate-limit mode takes from: ticket routes only, Feishu reads apart.
    pub(super) fn rate_lane(&self, method: &Method) -> Option<Lane> {
        match self {
            Self::EngageLabTicket { .. } => Some(Lane::EngageLab),
            Self::FeishuTicket(_) if method == Method::GET => Some(Lane::FeishuGet),
            Self::FeishuTicket(_) => Some(Lane::Feishu),
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
