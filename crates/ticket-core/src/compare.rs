//! Comparing an update with a ticket as read, field by field, with the read-back rules every
//! provider shares: one comparison for a plan (what would change) and for a verification
//! (what did not land).

use serde_json::Value;

use crate::{
    Capabilities, CustomField, Field, FieldSet, NativeStatus, Status, TicketSnapshot, TicketStatus,
    TicketUpdate,
};

/// How one field of an update compares with the ticket as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The ticket holds what the update sets.
    Same,
    /// The ticket holds something else.
    Differs,
    /// The read does not show the field (a comment's visibility, a raw provider field, a
    /// field the provider's read leaves out): it cannot be compared.
    Unknown,
}

/// One field of an update compared with the ticket as read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FieldCheck {
    /// The field: a unified name (`priority`), `custom_fields.<key or id>`, or
    /// `provider_fields.<provider>`.
    pub field: String,
    /// What the update sets, as JSON (`null` for a custom field it removes).
    pub sent: Value,
    /// What the ticket holds, as JSON (`null` when it holds nothing or the read does not show
    /// it).
    pub found: Value,
    /// The outcome.
    pub check: Check,
}

impl FieldCheck {
    fn new(field: impl Into<String>, sent: Value, found: Value, check: Check) -> Self {
        Self {
            field: field.into(),
            sent,
            found,
            check,
        }
    }
}

/// Text as a helpdesk stores it back: line ends as `\n`, surrounding whitespace trimmed.
pub fn normalize_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

/// Compares the `fields` of `update` with `snapshot`, in the order of [`Field::ALL`], with the
/// read-back rules every provider shares:
///
/// - title, description and comments after [`normalize_text`];
/// - tags and attachments as sets (order and repeats do not matter);
/// - a custom field by id or key, its value as text (`3` and `"3"` are one value), or the
///   option id a choice field's label stands for ([`SnapshotField::option`](crate::SnapshotField::option));
///   for a provider that replaces custom fields whole, the fields the ticket holds and the
///   update leaves out are listed as removed (sent `null`);
/// - a unified status against [`TicketSnapshot::status`] (`solved` also against a solved
///   flag); a native one against [`TicketSnapshot::native_status`];
/// - a comment against the latest comment the read shows, if it shows one;
/// - a comment's visibility and raw provider fields cannot be compared
///   ([`Check::Unknown`]).
pub fn compare(
    update: &TicketUpdate,
    fields: FieldSet,
    caps: &Capabilities,
    snapshot: &TicketSnapshot,
) -> Vec<FieldCheck> {
    let mut out = Vec::new();
    for field in fields.iter() {
        match field {
            Field::Title => out.push(text(field, update.title(), snapshot.title.as_deref())),
            Field::Description => out.push(text(
                field,
                update.description(),
                snapshot.description.as_deref(),
            )),
            Field::Priority => out.push(named(
                field,
                update.priority().map(|p| p.as_str()),
                snapshot.priority.map(|p| p.as_str()),
            )),
            Field::Kind => out.push(named(
                field,
                update.kind().map(|k| k.as_str()),
                snapshot.kind.map(|k| k.as_str()),
            )),
            Field::Tags => out.push(sets(field, update.tags(), snapshot.tags.as_deref())),
            Field::Attachments => out.push(attachments(update, snapshot)),
            Field::CustomFields => custom_fields(update, caps, snapshot, &mut out),
            Field::Status => out.extend(update.status().map(|s| status_check(s, snapshot))),
            Field::Solved => out.extend(update.solved().map(|s| solved_check(s, snapshot))),
            Field::Comment => out.extend(update.comment().map(|b| comment_check(b, snapshot))),
            Field::CommentVisibility => out.extend(update.comment_visibility().map(|v| {
                FieldCheck::new(
                    field.as_str(),
                    v.as_str().into(),
                    Value::Null,
                    Check::Unknown,
                )
            })),
            // Parts of `custom_fields`, compared with it.
            Field::CustomFieldIds | Field::CustomFieldKeys => {}
        }
    }
    if let Some(raw) = update.provider_fields(&snapshot.provider) {
        out.push(FieldCheck::new(
            format!("provider_fields.{}", snapshot.provider),
            Value::Object(raw.clone()),
            Value::Null,
            Check::Unknown,
        ));
    }
    out
}

fn attachments(update: &TicketUpdate, snapshot: &TicketSnapshot) -> FieldCheck {
    let sent: Option<Vec<String>> = update
        .attachments()
        .map(|list| list.iter().map(|a| a.file_url().to_owned()).collect());
    sets(
        Field::Attachments,
        sent.as_deref(),
        snapshot.attachments.as_deref(),
    )
}

fn solved_check(solved: bool, snapshot: &TicketSnapshot) -> FieldCheck {
    let check = match snapshot.solved {
        None => Check::Unknown,
        Some(found) if found == solved => Check::Same,
        Some(_) => Check::Differs,
    };
    FieldCheck::new(
        Field::Solved.as_str(),
        solved.into(),
        snapshot.solved.map_or(Value::Null, Value::from),
        check,
    )
}

fn comment_check(body: &str, snapshot: &TicketSnapshot) -> FieldCheck {
    // Only the latest comment is ever shown: none, and nothing can be said.
    let check = match &snapshot.latest_comment {
        None => Check::Unknown,
        Some(found) if normalize_text(found) == normalize_text(body) => Check::Same,
        Some(_) => Check::Differs,
    };
    FieldCheck::new(
        Field::Comment.as_str(),
        body.into(),
        snapshot
            .latest_comment
            .clone()
            .map_or(Value::Null, Value::from),
        check,
    )
}

fn text(field: Field, sent: Option<&str>, found: Option<&str>) -> FieldCheck {
    let check = match (sent, found) {
        (_, None) => Check::Unknown,
        (Some(a), Some(b)) if normalize_text(a) == normalize_text(b) => Check::Same,
        _ => Check::Differs,
    };
    FieldCheck::new(field.as_str(), opt(sent), opt(found), check)
}

fn named(field: Field, sent: Option<&str>, found: Option<&str>) -> FieldCheck {
    let check = match (sent, found) {
        (_, None) => Check::Unknown,
        (a, b) if a == b => Check::Same,
        _ => Check::Differs,
    };
    FieldCheck::new(field.as_str(), opt(sent), opt(found), check)
}

fn opt(text: Option<&str>) -> Value {
    text.map_or(Value::Null, Value::from)
}

fn sets(field: Field, sent: Option<&[String]>, found: Option<&[String]>) -> FieldCheck {
    let list = |items: Option<&[String]>| items.map_or(Value::Null, |l| Value::from(l.to_vec()));
    let check = match (sent, found) {
        (_, None) => Check::Unknown,
        (Some(a), Some(b)) => {
            let same = a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x));
            if same { Check::Same } else { Check::Differs }
        }
        (None, Some(_)) => Check::Unknown,
    };
    FieldCheck::new(field.as_str(), list(sent), list(found), check)
}

fn custom_fields(
    update: &TicketUpdate,
    caps: &Capabilities,
    snapshot: &TicketSnapshot,
    out: &mut Vec<FieldCheck>,
) {
    let sent = update.custom_fields().unwrap_or_default();
    out.extend(sent.iter().map(|field| custom_field(field, snapshot)));
    // A provider that replaces custom fields whole keeps only those sent.
    if caps.replaces_whole.contains(crate::Field::CustomFields) && update.custom_fields().is_some()
    {
        for item in snapshot.custom_fields.iter().flatten() {
            if sent.iter().any(|f| item.names(f)) || item.value.is_null() {
                continue;
            }
            out.push(FieldCheck::new(
                format!("custom_fields.{}", item.label()),
                Value::Null,
                item.value.clone(),
                Check::Differs,
            ));
        }
    }
}

/// One custom field sent, against the item of the read that names it.
fn custom_field(field: &CustomField, snapshot: &TicketSnapshot) -> FieldCheck {
    let name = format!(
        "custom_fields.{}",
        field_name(field.key(), field.id().map(ToString::to_string))
    );
    let Some(items) = &snapshot.custom_fields else {
        return FieldCheck::new(name, field.value().to_json(), Value::Null, Check::Unknown);
    };
    let found = items.iter().find(|item| item.names(field));
    let sent_text = field.value().to_text().map(|t| t.into_owned());
    let found_text = found.and_then(|f| f.value_text()).filter(|t| !t.is_empty());
    let same = match (&sent_text, &found_text) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || found.and_then(|f| f.option.as_deref()) == Some(a.as_str()),
        _ => false,
    };
    FieldCheck::new(
        name,
        field.value().to_json(),
        found.map_or(Value::Null, |f| f.value.clone()),
        if same { Check::Same } else { Check::Differs },
    )
}

fn field_name(key: Option<&str>, id: Option<String>) -> String {
    match (key, id) {
        (Some(key), _) => key.to_owned(),
        (None, Some(id)) => id,
        (None, None) => "(unnamed)".to_owned(),
    }
}

fn status_check(status: &Status, snapshot: &TicketSnapshot) -> FieldCheck {
    let found_native = snapshot.native_status.as_ref().map(NativeStatus::qualified);
    match status {
        Status::Unified(wanted) => {
            let solved = *wanted == TicketStatus::Solved && snapshot.solved == Some(true);
            let check = match snapshot.status {
                _ if solved => Check::Same,
                Some(found) if found == *wanted || snapshot.status_aliases.contains(wanted) => {
                    Check::Same
                }
                Some(_) => Check::Differs,
                None if found_native.is_some() => Check::Differs,
                None => Check::Unknown,
            };
            let found = snapshot
                .status
                .map(|s| Value::from(s.as_str()))
                .or(found_native.map(Value::from))
                .unwrap_or(Value::Null);
            FieldCheck::new("status", wanted.as_str().into(), found, check)
        }
        Status::Native(wanted) => {
            let check = match &snapshot.native_status {
                None => Check::Unknown,
                Some(found)
                    if found.provider() == wanted.provider()
                        && (found.value().eq_ignore_ascii_case(wanted.value().trim())
                            || snapshot.native_status_code.as_deref()
                                == Some(wanted.value().trim())) =>
                {
                    Check::Same
                }
                Some(_) => Check::Differs,
            };
            FieldCheck::new(
                "status",
                wanted.qualified().into(),
                found_native.map_or(Value::Null, Value::from),
                check,
            )
        }
    }
}
