//! Ticket custom fields: the helpdesk's definitions as the list endpoint
//! (`GET /open-apis/helpdesk/v1/ticket_customized_fields`) returns them, the dropdown check on
//! update, and how `GET` ticket shows a field.
//!
//! An update writes a dropdown's option `tag`; `GET` ticket shows the option's `display_name`
//! (the Get Ticket page: "value holds the option's children.display_name"). The sandbox takes a
//! ticket field's `id` to be the definition's `ticket_customized_field_id`, which the pages imply
//! but do not state. Fields with no definition are free text, shown as stored.

use axum::body::Body;
use hyper::{Method, Response};
use serde::Serialize;

use super::{auth, bad_request, method_not_allowed, success};
use crate::model::{FeishuCustomizedField, FeishuDropdownOption, FeishuFieldDef};
use crate::server::ReceivedRequest;
use crate::state::Shared;
use crate::util::percent_decode;

/// The list's default and largest page sizes.
const PAGE_SIZE: (usize, usize) = (20, 100);

/// A ticket field as `GET` ticket shows it (`customized_field_display_item`).
#[derive(Debug, Serialize)]
pub(super) struct FieldView {
    id: String,
    value: String,
    key_name: String,
    display_name: String,
    position: i64,
    required: bool,
    editable: bool,
}

/// The definition a ticket field item names, if any.
fn def_of<'a>(
    defs: &'a [FeishuFieldDef],
    item: &FeishuCustomizedField,
) -> Option<&'a FeishuFieldDef> {
    defs.iter().find(|d| d.names(item))
}

/// How `GET` ticket shows a stored field: completed from its definition, a dropdown's tag
/// turned into its label (a value that is no option's tag is shown as stored).
pub(super) fn view(defs: &[FeishuFieldDef], item: &FeishuCustomizedField) -> FieldView {
    let value = item.value.clone().unwrap_or_default();
    match def_of(defs, item) {
        Some(def) => FieldView {
            id: def.id.clone(),
            value: def.label_of(&value).map_or(value, str::to_owned),
            key_name: def.key_name.clone(),
            display_name: def.display_name.clone(),
            position: def.position,
            required: def.required,
            editable: def.editable,
        },
        None => {
            let key_name = item.key_name.clone().unwrap_or_default();
            FieldView {
                id: item.id.clone().unwrap_or_default(),
                value,
                display_name: key_name.clone(),
                key_name,
                position: 0,
                required: false,
                editable: true,
            }
        }
    }
}

/// Checks that an update writes only option tags to a defined dropdown, and completes every
/// item that names a definition with its id and key name, so an item written by key name
/// merges with one stored by id.
pub(super) fn resolve(
    defs: &[FeishuFieldDef],
    items: &mut [FeishuCustomizedField],
) -> Result<(), String> {
    for (i, item) in items.iter_mut().enumerate() {
        let Some(def) = def_of(defs, item) else {
            continue;
        };
        if let Some(value) = &item.value
            && def.is_dropdown()
            && def.label_of(value).is_none()
        {
            return Err(format!(
                "customized_fields[{i}].value: {value:?} is not an option tag of dropdown field {}",
                def.id
            ));
        }
        item.id = Some(def.id.clone());
        item.key_name = Some(def.key_name.clone());
    }
    Ok(())
}

#[derive(Serialize)]
struct Page<'a> {
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    items: Vec<ListItem<'a>>,
}

#[derive(Serialize)]
struct DropdownOptions<'a> {
    children: &'a [FeishuDropdownOption],
}

/// One `ticket_customized_field`. `created_at`/`updated_at` and the users are not modelled.
#[derive(Serialize)]
struct ListItem<'a> {
    ticket_customized_field_id: &'a str,
    helpdesk_id: &'a str,
    key_name: &'a str,
    display_name: &'a str,
    /// A string here, an int on the ticket: as the pages have it.
    position: String,
    field_type: &'a str,
    description: &'a str,
    visible: bool,
    editable: bool,
    required: bool,
    dropdown_options: DropdownOptions<'a>,
    dropdown_allow_multiple: bool,
}

impl<'a> ListItem<'a> {
    fn new(def: &'a FeishuFieldDef, helpdesk_id: &'a str) -> Self {
        Self {
            ticket_customized_field_id: &def.id,
            helpdesk_id,
            key_name: &def.key_name,
            display_name: &def.display_name,
            position: def.position.to_string(),
            field_type: &def.field_type,
            description: &def.description,
            visible: def.visible,
            editable: def.editable,
            required: def.required,
            dropdown_options: DropdownOptions {
                children: &def.dropdown_options,
            },
            dropdown_allow_multiple: false,
        }
    }
}

/// The list endpoint: tenant token and helpdesk header, `page_size` (at most 100) and
/// `page_token` (the previous page's `next_page_token`) in the query.
pub(crate) fn handle(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    if req.method != Method::GET {
        return method_not_allowed("GET");
    }
    let refusal =
        auth::check_tenant_token(shared, req).or_else(|| auth::check_helpdesk(shared, req));
    if let Some(resp) = refusal {
        return resp;
    }
    let (size, start) = match paging(req.query.as_deref()) {
        Ok(paging) => paging,
        Err(reason) => return bad_request(&reason),
    };
    let defs = shared.feishu_fields();
    let helpdesk_id = &shared.config.credentials.feishu_helpdesk_id;
    let end = defs.len().min(start.saturating_add(size));
    let has_more = end < defs.len();
    success(Page {
        has_more,
        next_page_token: has_more.then(|| end.to_string()),
        items: defs
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|d| ListItem::new(d, helpdesk_id))
            .collect(),
    })
}

/// `(page_size, offset)` from the query; the page token is the offset where the page starts.
fn paging(query: Option<&str>) -> Result<(usize, usize), String> {
    let (mut size, mut start) = (PAGE_SIZE.0, 0);
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(raw).unwrap_or_default();
        match name {
            "page_size" => {
                size = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=PAGE_SIZE.1).contains(n))
                    .ok_or_else(|| {
                        format!("page_size: must be 1 to {} (got {value:?})", PAGE_SIZE.1)
                    })?;
            }
            "page_token" if !value.is_empty() => {
                start = value
                    .parse()
                    .map_err(|_| format!("page_token: unknown token {value:?}"))?;
            }
            _ => {}
        }
    }
    Ok((size, start))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn defs() -> Vec<FeishuFieldDef> {
        vec![
            FeishuFieldDef::dropdown(
                "d1",
                "level",
                [
                    FeishuDropdownOption::new("t-a", "Alpha")
                        .with_children([FeishuDropdownOption::new("t-a1", "Alpha one")]),
                    FeishuDropdownOption::new("t-b", "Beta"),
                ],
            ),
            FeishuFieldDef::text("x1", "note"),
        ]
    }

    #[test]
    fn dropdown_tags_show_as_labels() {
        let defs = defs();
        let by_id = view(
            &defs,
            &FeishuCustomizedField::new(Some("d1"), None, Some("t-a1")),
        );
        assert_eq!(
            (by_id.value.as_str(), by_id.key_name.as_str()),
            ("Alpha one", "level")
        );
        let by_key = view(
            &defs,
            &FeishuCustomizedField::new(None, Some("level"), Some("t-b")),
        );
        assert_eq!((by_key.id.as_str(), by_key.value.as_str()), ("d1", "Beta"));
        let text = view(
            &defs,
            &FeishuCustomizedField::new(Some("x1"), None, Some("t-b")),
        );
        assert_eq!(text.value, "t-b");
        let free = view(
            &defs,
            &FeishuCustomizedField::new(None, Some("k"), Some("v")),
        );
        assert_eq!(
            (free.display_name.as_str(), free.value.as_str()),
            ("k", "v")
        );
    }

    #[test]
    fn updates_may_only_write_option_tags_and_are_completed() {
        let defs = defs();
        let mut ok = [
            FeishuCustomizedField::new(None, Some("level"), Some("t-a1")),
            FeishuCustomizedField::new(Some("x1"), None, Some("anything")),
            FeishuCustomizedField::new(Some("undefined"), None, Some("anything")),
        ];
        resolve(&defs, &mut ok).unwrap();
        assert_eq!(
            ok[0],
            FeishuCustomizedField::new(Some("d1"), Some("level"), Some("t-a1"))
        );
        assert_eq!(ok[1].key_name.as_deref(), Some("note"));
        assert_eq!(
            ok[2],
            FeishuCustomizedField::new(Some("undefined"), None, Some("anything"))
        );
        let mut label = [FeishuCustomizedField::new(
            None,
            Some("level"),
            Some("Beta"),
        )];
        let err = resolve(&defs, &mut label).unwrap_err();
        assert!(
            err.starts_with("customized_fields[0].value: \"Beta\""),
            "{err}"
        );
    }

    #[test]
    fn paging_reads_size_and_token() {
        assert_eq!(paging(None).unwrap(), (20, 0));
        assert_eq!(paging(Some("page_size=2&page_token=4")).unwrap(), (2, 4));
        assert_eq!(paging(Some("page_token=")).unwrap(), (20, 0));
        assert!(paging(Some("page_size=101")).is_err());
        assert!(paging(Some("page_size=0")).is_err());
        assert!(paging(Some("page_token=abc")).is_err());
    }
}
