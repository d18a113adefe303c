//! Tickets: seeding, reading and updating the stored ones.

use std::collections::BTreeMap;

use super::Shared;
use crate::model::{EngageLabTicket, FeishuTicket};
use crate::util::{rfc3339_now, unix_millis_now};

impl Shared {
    pub(crate) fn seed_engagelab(&self, id: String, ticket: EngageLabTicket) {
        let ticket = prepare_engagelab(id.clone(), ticket);
        self.lock().engagelab.insert(id, ticket);
    }

    pub(crate) fn seed_feishu(&self, id: String, ticket: FeishuTicket) {
        let ticket = prepare_feishu(id.clone(), ticket);
        self.lock().feishu.insert(id, ticket);
    }

    pub(crate) fn engagelab_ticket(&self, id: &str) -> Option<EngageLabTicket> {
        self.lock().engagelab.get(id).cloned()
    }

    pub(crate) fn feishu_ticket(&self, id: &str) -> Option<FeishuTicket> {
        self.lock().feishu.get(id).cloned()
    }

    /// Applies `f` to the stored ticket; `None` when there is no such ticket.
    pub(crate) fn update_engagelab<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut EngageLabTicket) -> R,
    ) -> Option<R> {
        self.lock().engagelab.get_mut(id).map(f)
    }

    /// Applies `f` to the stored ticket; `None` when there is no such ticket.
    pub(crate) fn update_feishu<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut FeishuTicket) -> R,
    ) -> Option<R> {
        self.lock().feishu.get_mut(id).map(f)
    }

    /// Comments stored per Feishu ticket, for every ticket with at least one.
    pub(crate) fn comment_counts(&self) -> BTreeMap<String, usize> {
        self.lock()
            .feishu
            .iter()
            .filter(|(_, t)| !t.comments.is_empty())
            .map(|(id, t)| (id.clone(), t.comments.len()))
            .collect()
    }
}

pub(super) fn prepare_engagelab(id: String, mut ticket: EngageLabTicket) -> EngageLabTicket {
    ticket.ticket_id = id;
    if ticket.updated_at.is_empty() {
        ticket.updated_at = rfc3339_now();
    }
    ticket
}

pub(super) fn prepare_feishu(id: String, mut ticket: FeishuTicket) -> FeishuTicket {
    ticket.ticket_id = id;
    if ticket.updated_at == 0 {
        ticket.updated_at = unix_millis_now();
    }
    ticket
}
