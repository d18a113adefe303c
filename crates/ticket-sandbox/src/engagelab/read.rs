//! EngageLab `GET` ticket: the stored ticket in the order of the vendor's example.
//!
//! The stored copies of the Get Ticket page stop inside `status_changes`, so the fields after
//! it are not documented; `tags` and `updated_at` are shown there because the update writes
//! tags and answers `updated_at`. `requester`, `submitter` and `assignment_team` are not
//! modelled and left out; `conversation_list` and `status_changes` are always empty.

use axum::body::Body;
use hyper::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{success, ticket_not_found};
use crate::model::{EngageLabAttachment, EngageLabTicket};
use crate::state::Shared;

#[derive(Serialize)]
struct TicketView<'a> {
    ticket_id: &'a str,
    title: &'a str,
    description: &'a str,
    attachments: &'a [EngageLabAttachment],
    status: &'a str,
    priority: &'a str,
    ticket_type: Option<&'a str>,
    custom_fields: &'a Map<String, Value>,
    conversation_list: [Value; 0],
    status_changes: [Value; 0],
    tags: &'a [String],
    updated_at: &'a str,
}

impl<'a> From<&'a EngageLabTicket> for TicketView<'a> {
    fn from(t: &'a EngageLabTicket) -> Self {
        Self {
            ticket_id: &t.ticket_id,
            title: &t.title,
            description: &t.description,
            attachments: &t.attachments,
            status: &t.status,
            priority: &t.priority,
            ticket_type: t.ticket_type.as_deref(),
            custom_fields: &t.custom_fields,
            conversation_list: [],
            status_changes: [],
            tags: &t.tags,
            updated_at: &t.updated_at,
        }
    }
}

/// `{"code":0,"message":"Success","data":<ticket>}`, or 404.
pub(super) fn answer(shared: &Shared, id: &str) -> Response<Body> {
    match shared.engagelab_ticket(id) {
        Some(ticket) => success(TicketView::from(&ticket)),
        None => ticket_not_found(),
    }
}
