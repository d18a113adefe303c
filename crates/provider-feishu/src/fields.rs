//! The helpdesk's custom field definitions (`GET /open-apis/helpdesk/v1/ticket_customized_fields`,
//! `api/feishu-helpdesk-customized-fields.md`): a read shows a dropdown's option label, an
//! update writes the option's `tag`, and only the definitions join the two.
//!
//! Fetched with the read's tenant token when a read first shows a field, kept for the
//! client's life, fetched again when a read shows a field they do not define (one fetch per
//! read at most).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use ticket_core::{TicketError, TicketSnapshot};
use ticket_http::{RawResponse, Reads};

use crate::{Feishu, PROVIDER, feishu_error};

/// The definitions list route (`page_size` up to 100; `page_token` to continue).
pub const FIELDS_ROUTE: &str = "/open-apis/helpdesk/v1/ticket_customized_fields";

/// The most pages fetched (100 definitions each): a helpdesk with more is not believed.
const MAX_PAGES: usize = 50;

/// One definition: its options as `(tag, label)`, every level of a nested dropdown.
#[derive(Debug, Default)]
pub(crate) struct Definition {
    options: Vec<(String, String)>,
}

/// Definitions by field id, shared by the reads of one client.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    known: Mutex<Option<Arc<HashMap<String, Definition>>>>,
}

impl Definitions {
    fn cached(&self) -> Option<Arc<HashMap<String, Definition>>> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, defs: HashMap<String, Definition>) -> Arc<HashMap<String, Definition>> {
        let defs = Arc::new(defs);
        *self.known.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&defs));
        defs
    }
}

/// Sets [`SnapshotField::option`](ticket_core::SnapshotField::option) of every dropdown field
/// of `snapshot`: the tag of the option its label names.
pub(crate) async fn complete(
    api: &Feishu,
    mut snapshot: TicketSnapshot,
    reads: Reads<'_, Feishu>,
) -> Result<TicketSnapshot, TicketError> {
    let ids: Vec<String> = snapshot
        .custom_fields
        .iter()
        .flatten()
        .filter_map(|f| f.id.as_ref().map(ToString::to_string))
        .collect();
    if ids.is_empty() {
        return Ok(snapshot);
    }
    let defs = match api.definitions.cached() {
        Some(defs) if ids.iter().all(|id| defs.contains_key(id)) => defs,
        _ => api.definitions.keep(fetch(&reads).await?),
    };
    for field in snapshot.custom_fields.iter_mut().flatten() {
        let (Some(id), Some(label)) = (&field.id, field.value.as_str()) else {
            continue;
        };
        if let Some(def) = defs.get(&id.to_string()) {
            field.option = def
                .options
                .iter()
                .find(|(_, l)| l == label)
                .map(|(tag, _)| tag.clone());
        }
    }
    Ok(snapshot)
}

/// Every definition, page by page.
async fn fetch(reads: &Reads<'_, Feishu>) -> Result<HashMap<String, Definition>, TicketError> {
    let mut defs = HashMap::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &token {
            None => format!("{FIELDS_ROUTE}?page_size=100"),
            Some(t) => format!("{FIELDS_ROUTE}?page_size=100&page_token={}", encode(t)),
        };
        let page = reads.get(&path, page).await?;
        for item in page.items {
            defs.insert(item.0, item.1);
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(defs),
        }
    }
    Ok(defs)
}

/// A query value percent-encoded (every byte but RFC 3986's unreserved ones).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One page of the list.
struct Page {
    items: Vec<(String, Definition)>,
    next: Option<String>,
}

fn page(response: &RawResponse) -> Result<Page, TicketError> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let code = body
        .as_ref()
        .and_then(|b| b.get("code"))
        .and_then(Value::as_i64);
    if !response.is_success() || code != Some(0) {
        if response.is_success() && code.is_none() {
            return Err(response.malformed(PROVIDER, "the field list has no `code`"));
        }
        let msg = body
            .as_ref()
            .and_then(|b| b.get("msg"))
            .and_then(Value::as_str);
        return Err(feishu_error(response, code, msg));
    }
    let data = body.as_ref().and_then(|b| b.get("data"));
    let items = data
        .and_then(|d| d.get("items"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let id = item.get("ticket_customized_field_id")?.as_str()?.to_owned();
                    let mut def = Definition::default();
                    if let Some(children) = item.pointer("/dropdown_options/children") {
                        options(children, &mut def.options);
                    }
                    Some((id, def))
                })
                .collect()
        })
        .unwrap_or_default();
    let more = data
        .and_then(|d| d.get("has_more"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let next = data
        .and_then(|d| d.get("next_page_token"))
        .and_then(Value::as_str)
        .filter(|t| more && !t.is_empty())
        .map(str::to_owned);
    Ok(Page { items, next })
}

/// The `(tag, display_name)` of every option, nested ones too.
fn options(children: &Value, out: &mut Vec<(String, String)>) {
    for option in children.as_array().into_iter().flatten() {
        if let (Some(tag), Some(label)) = (
            option.get("tag").and_then(Value::as_str),
            option.get("display_name").and_then(Value::as_str),
        ) {
            out.push((tag.to_owned(), label.to_owned()));
        }
        if let Some(nested) = option.get("children") {
            options(nested, out);
        }
    }
}
