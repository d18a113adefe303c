//! Feishu `GET` ticket: the stored ticket in the Get Ticket page's own form (`ticket_v2`).
//!
//! What differs from the update's vocabulary, and how the sandbox maps it:
//! - `status`: the update's numbers show unchanged. Both pages give 2–5, 50 and 51 the same
//!   meanings; 1 is "waiting for response" in the update and "created" in the read, which the
//!   sandbox takes as one state under two names (nothing else on either page could be it). 52,
//!   "closed by the user", exists only in the read: only seeding sets it.
//! - `solved` shows as `solve`; `tag_names` as `tags: [{id, name}]` (left out when empty, as the
//!   page says), with an id derived from the name; customized fields are completed from their
//!   definitions, dropdowns showing the option label (see `fields.rs`); left out when empty.
//! - `comments` is one object on this page, not a list: the sandbox shows the latest comment an
//!   update added (left out when there is none), authored by one fixed agent.
//! - `created_at`, `updated_at`, `closed_at` are Unix milliseconds, as the examples' 13 digits
//!   suggest; `closed_at` is left out while the ticket is open.
//! - People (`guest`, `agents`, …), scores and durations are not modelled and left out.

use axum::body::Body;
use hyper::Response;
use serde::Serialize;

use super::fields::{self, FieldView};
use super::{success, ticket_not_found};
use crate::model::{FeishuComment, FeishuFieldDef, FeishuTicket};
use crate::state::Shared;

/// The one agent every comment is attributed to (a 64-bit id, like the page's example).
const AGENT_ID: i64 = 7_000_000_000_000_000_001;
const AGENT_NAME: &str = "Sandbox Agent";
const AGENT_AVATAR: &str = "https://example.invalid/sandbox-agent.png";

#[derive(Serialize)]
struct TicketData<'a> {
    ticket: TicketV2<'a>,
}

#[derive(Serialize)]
struct TicketV2<'a> {
    ticket_id: &'a str,
    helpdesk_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comments: Option<CommentView>,
    ticket_type: i64,
    status: i64,
    created_at: i64,
    updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_at: Option<i64>,
    channel: i64,
    solve: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    customized_fields: Vec<FieldView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<TagView<'a>>,
}

#[derive(Serialize)]
struct CommentView {
    content: String,
    created_at: i64,
    id: i64,
    user_avatar_url: &'static str,
    user_name: &'static str,
    user_id: i64,
}

impl From<FeishuComment> for CommentView {
    fn from(c: FeishuComment) -> Self {
        Self {
            content: c.content,
            created_at: c.created_at,
            id: c.id,
            user_avatar_url: AGENT_AVATAR,
            user_name: AGENT_NAME,
            user_id: AGENT_ID,
        }
    }
}

#[derive(Serialize)]
struct TagView<'a> {
    id: String,
    name: &'a str,
}

/// The read's status for a stored one: the same number (see the module comment).
fn read_status(stored: i64) -> i64 {
    stored
}

/// A stable tag id for a name (FNV-1a), shaped like the page's 19-digit ids.
fn tag_id(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("7{:018}", hash % 1_000_000_000_000_000_000)
}

fn ticket_v2<'a>(
    ticket: &'a FeishuTicket,
    latest: Option<FeishuComment>,
    defs: &[FeishuFieldDef],
    helpdesk_id: &'a str,
) -> TicketV2<'a> {
    TicketV2 {
        ticket_id: &ticket.ticket_id,
        helpdesk_id,
        comments: latest.map(CommentView::from),
        ticket_type: ticket.ticket_type,
        status: read_status(ticket.status),
        created_at: ticket.created_at,
        updated_at: ticket.updated_at,
        closed_at: ticket.is_closed().then_some(ticket.closed_at),
        channel: ticket.channel,
        solve: ticket.solved,
        customized_fields: ticket
            .customized_fields
            .iter()
            .map(|f| fields::view(defs, f))
            .collect(),
        tags: ticket
            .tag_names
            .iter()
            .map(|name| TagView {
                id: tag_id(name),
                name,
            })
            .collect(),
    }
}

/// `{"code":0,"msg":"success","data":{"ticket":<ticket_v2>}}`, or 404.
pub(super) fn answer(shared: &Shared, id: &str) -> Response<Body> {
    let Some(record) = shared.feishu_record(id) else {
        return ticket_not_found();
    };
    let latest = record.comments().pop();
    let defs = shared.feishu_fields();
    let helpdesk_id = &shared.config.credentials.feishu_helpdesk_id;
    success(TicketData {
        ticket: ticket_v2(&record.ticket, latest, &defs, helpdesk_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_ids_are_stable_and_shaped_like_the_vendors() {
        let id = tag_id("printer");
        assert_eq!(id, tag_id("printer"));
        assert_ne!(id, tag_id("printers"));
        assert_eq!(id.len(), 19);
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    }
}
