//! Counters and the request log.

use super::{Presented, RouteKind, Shared};
use crate::model::{RecordedRequest, Stats};

/// A ticket read or update as it arrived, for the per-method counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TicketCall {
    EngageLabGet { bare: bool },
    EngageLabPut,
    FeishuGet(Presented),
    FeishuPut(Presented),
}

impl Shared {
    pub(crate) fn count_connection(&self) {
        self.lock().stats.connections += 1;
    }

    pub(crate) fn record(&self, kind: RouteKind, request: Option<RecordedRequest>) {
        let cap = self.config.request_log_capacity;
        let mut inner = self.lock();
        let stats = &mut inner.stats;
        match kind {
            RouteKind::EngageLab => stats.engagelab_requests += 1,
            RouteKind::Feishu => stats.feishu_requests += 1,
            RouteKind::FeishuToken => stats.token_refresh_requests += 1,
            RouteKind::FeishuTenantToken => stats.tenant_token_requests += 1,
            RouteKind::Admin => stats.admin_requests += 1,
            RouteKind::Other => stats.other_requests += 1,
        }
        if let Some(mut request) = request {
            let max_bytes = self.config.request_log_max_bytes;
            if cap == 0 || max_bytes == 0 {
                return;
            }
            let size = request.size();
            if size > max_bytes {
                // Keep the request, not all of its body.
                let cut = request.body.len().saturating_sub(size - max_bytes);
                request.body.truncate(cut);
                request.body_truncated = true;
            }
            let size = request.size();
            while inner.log.len() >= cap
                || (inner.log_bytes + size > max_bytes && !inner.log.is_empty())
            {
                if let Some(old) = inner.log.pop_front() {
                    inner.log_bytes -= old.size();
                }
            }
            inner.log_bytes += size;
            inner.log.push_back(request);
        }
    }

    /// The request log's current size in bytes (as counted against its limit).
    pub(crate) fn request_log_bytes(&self) -> usize {
        self.lock().log_bytes
    }

    pub(crate) fn count_noncanonical_helpdesk_auth(&self) {
        self.lock().stats.noncanonical_helpdesk_auth += 1;
    }

    pub(crate) fn count_ticket_call(&self, call: TicketCall) {
        let stats = &mut self.lock().stats;
        match call {
            TicketCall::EngageLabGet { bare } => {
                stats.engagelab_gets += 1;
                stats.engagelab_gets_bare_path += u64::from(bare);
            }
            TicketCall::EngageLabPut => stats.engagelab_puts += 1,
            TicketCall::FeishuGet(token) => {
                stats.feishu_gets += 1;
                match token {
                    Presented::Tenant(_) => stats.feishu_gets_tenant_token += 1,
                    Presented::User(_) => stats.feishu_gets_user_token += 1,
                    Presented::Unknown => {}
                }
            }
            TicketCall::FeishuPut(token) => {
                stats.feishu_puts += 1;
                match token {
                    Presented::User(_) => stats.feishu_puts_user_token += 1,
                    Presented::Tenant(_) => stats.feishu_puts_tenant_token += 1,
                    Presented::Unknown => {}
                }
            }
        }
    }

    pub(crate) fn count_tenant_token_refused(&self) {
        self.lock().stats.tenant_token_refused += 1;
    }

    pub(crate) fn count_silent_drop(&self) {
        self.lock().stats.silent_drops += 1;
    }

    pub(crate) fn count_comment(&self) {
        self.lock().stats.comments_applied += 1;
    }

    pub(crate) fn stats(&self) -> Stats {
        self.lock().stats
    }

    pub(crate) fn reset_stats(&self) {
        self.lock().stats = Stats::default();
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.log_bytes = 0;
    }
}
