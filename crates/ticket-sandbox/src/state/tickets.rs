//! Tickets and the helpdesk's custom field definitions: seeding, reading, updating.

use std::collections::BTreeMap;

use super::Shared;
use crate::model::{EngageLabTicket, FeishuComment, FeishuFieldDef, FeishuTicket};
use crate::util::{rfc3339_now, unix_millis_now};

/// A stored Feishu ticket and when each of its comments arrived (`GET` shows the time of the
/// latest; the public ticket keeps comments as plain text).
#[derive(Debug, Clone)]
pub(crate) struct FeishuRecord {
    pub(crate) ticket: FeishuTicket,
    /// Unix milliseconds, one per entry of `ticket.comments`.
    pub(crate) comment_times: Vec<i64>,
}

impl FeishuRecord {
    /// A seeded ticket: its id set, missing times filled with now.
    pub(super) fn seeded(id: String, mut ticket: FeishuTicket) -> Self {
        let now = unix_millis_now();
        ticket.ticket_id = id;
        if ticket.created_at == 0 {
            ticket.created_at = now;
        }
        if ticket.updated_at == 0 {
            ticket.updated_at = now;
        }
        if ticket.is_closed() && ticket.closed_at == 0 {
            ticket.closed_at = ticket.updated_at.max(ticket.created_at);
        }
        let comment_times = vec![now; ticket.comments.len()];
        Self {
            ticket,
            comment_times,
        }
    }

    /// The comments with their positions and times.
    pub(crate) fn comments(&self) -> Vec<FeishuComment> {
        self.ticket
            .comments
            .iter()
            .zip(&self.comment_times)
            .zip(1..)
            .map(|((content, at), id)| FeishuComment {
                id,
                content: content.clone(),
                created_at: *at,
            })
            .collect()
    }
}

impl Shared {
    pub(crate) fn seed_engagelab(&self, id: String, ticket: EngageLabTicket) {
        let ticket = prepare_engagelab(id.clone(), ticket);
        self.lock().engagelab.insert(id, ticket);
    }

    pub(crate) fn seed_feishu(&self, id: String, ticket: FeishuTicket) {
        let record = FeishuRecord::seeded(id.clone(), ticket);
        self.lock().feishu.insert(id, record);
    }

    pub(crate) fn engagelab_ticket(&self, id: &str) -> Option<EngageLabTicket> {
        self.lock().engagelab.get(id).cloned()
    }

    pub(crate) fn feishu_ticket(&self, id: &str) -> Option<FeishuTicket> {
        self.lock().feishu.get(id).map(|r| r.ticket.clone())
    }

    pub(crate) fn has_engagelab_ticket(&self, id: &str) -> bool {
        self.lock().engagelab.contains_key(id)
    }

    pub(crate) fn has_feishu_ticket(&self, id: &str) -> bool {
        self.lock().feishu.contains_key(id)
    }

    pub(crate) fn feishu_record(&self, id: &str) -> Option<FeishuRecord> {
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
        f: impl FnOnce(&mut FeishuRecord) -> R,
    ) -> Option<R> {
        self.lock().feishu.get_mut(id).map(f)
    }

    /// Comments stored per Feishu ticket, for every ticket with at least one.
    pub(crate) fn comment_counts(&self) -> BTreeMap<String, usize> {
        self.lock()
            .feishu
            .iter()
            .filter(|(_, r)| !r.ticket.comments.is_empty())
            .map(|(id, r)| (id.clone(), r.ticket.comments.len()))
            .collect()
    }

    /// Adds a field definition, replacing one with the same id.
    pub(crate) fn define_feishu_field(&self, def: FeishuFieldDef) {
        let fields = &mut self.lock().feishu_fields;
        match fields.iter_mut().find(|f| f.id == def.id) {
            Some(slot) => *slot = def,
            None => fields.push(def),
        }
    }

    pub(crate) fn feishu_fields(&self) -> Vec<FeishuFieldDef> {
        self.lock().feishu_fields.clone()
    }

    pub(crate) fn clear_feishu_fields(&self) {
        self.lock().feishu_fields.clear();
    }
}

pub(super) fn prepare_engagelab(id: String, mut ticket: EngageLabTicket) -> EngageLabTicket {
    ticket.ticket_id = id;
    if ticket.updated_at.is_empty() {
        ticket.updated_at = rfc3339_now();
    }
    ticket
}
