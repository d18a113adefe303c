//! `--plan`: what an update would change on a ticket as it stands, field by field, as
//! `~ priority: high → urgent`, `+ tag vip`, `- tag old`; and the text and JSON forms of a
//! ticket as read (`helpdesk get`).

use helpdesk::{
    Check, FieldCheck, TicketError, TicketSnapshot, TicketUpdate, TicketUpdater, compare,
};
use serde_json::{Value, json};

/// One ticket's plan.
pub(crate) struct TicketPlan {
    /// The changes, one line each, in field order.
    pub(crate) lines: Vec<String>,
    /// The fields merge mode keeps from the ticket (filled from the read).
    pub(crate) kept: Vec<&'static str>,
    /// The fields dropped as unsupported (lenient).
    pub(crate) dropped: Vec<&'static str>,
    /// The same, as JSON.
    pub(crate) json: Value,
}

impl TicketPlan {
    /// Whether the update would change the ticket (or cannot be shown not to).
    pub(crate) fn changes(&self) -> bool {
        !self.lines.is_empty()
    }
}

/// What `update` would do to `current`: the update resolved against it (merge mode), checked
/// as the provider checks it, compared field by field.
pub(crate) fn plan(
    updater: &dyn TicketUpdater,
    update: &TicketUpdate,
    current: &TicketSnapshot,
) -> Result<TicketPlan, TicketError> {
    let caps = updater.capabilities();
    let (to_send, filled) = if update.merges() {
        let merged = update.merged_with(current, &caps)?;
        (merged.update, merged.filled)
    } else {
        (update.without_reads(), Vec::new())
    };
    let checked = updater.check(&current.ticket_id, &to_send)?;
    let checks = compare(&to_send, checked.carried, &caps, current);
    let mut lines = Vec::new();
    let mut changes = Vec::new();
    for check in &checks {
        let before = lines.len();
        render(check, &mut lines);
        if lines.len() > before {
            changes.push(json!({
                "field": check.field,
                "current": check.found,
                "new": check.sent,
                "known": check.check != Check::Unknown,
            }));
        }
    }
    let kept: Vec<&'static str> = filled.iter().map(|f| f.as_str()).collect();
    let dropped: Vec<&'static str> = checked.dropped.iter().map(|f| f.as_str()).collect();
    Ok(TicketPlan {
        json: json!({
            "ticket_id": current.ticket_id.as_str(),
            "changes": changes,
            "kept": kept,
            "dropped": dropped,
        }),
        lines,
        kept,
        dropped,
    })
}

/// The lines of one field's comparison: none when the ticket already holds it.
fn render(check: &FieldCheck, out: &mut Vec<String>) {
    let field = check.field.as_str();
    // A comment is added whatever the ticket holds.
    if field == "comment" {
        out.push(format!("+ comment {}", show(&check.sent)));
        return;
    }
    match check.check {
        Check::Same => {}
        Check::Unknown => out.push(format!(
            "? {field}: {} (the read does not show it: cannot tell)",
            show(&check.sent)
        )),
        Check::Differs => match (field, &check.sent, &check.found) {
            ("tags" | "attachments", Value::Array(new), found) => {
                let old = found.as_array().cloned().unwrap_or_default();
                let name = if field == "tags" { "tag" } else { "attachment" };
                for item in new.iter().filter(|i| !old.contains(i)) {
                    out.push(format!("+ {name} {}", show(item)));
                }
                for item in old.iter().filter(|i| !new.contains(i)) {
                    out.push(format!("- {name} {}", show(item)));
                }
            }
            (_, Value::Null, found) => out.push(format!("- {field} (was {})", show(found))),
            (_, sent, Value::Null) => out.push(format!("+ {field}: {}", show(sent))),
            (_, sent, found) => out.push(format!("~ {field}: {} → {}", show(found), show(sent))),
        },
    }
}

/// A value as a plan shows it: a short one-line text as is, anything else as JSON, cut at 60
/// characters.
pub(crate) fn show(value: &Value) -> String {
    let text = match value {
        Value::String(s) if !s.contains(['\n', '\r']) && !s.is_empty() => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(59).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// A ticket as read, for people.
pub(crate) fn print_snapshot(s: &TicketSnapshot) {
    println!("ticket {} on {}", s.ticket_id, s.provider);
    let line = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            println!("  {name:<13}{value}");
        }
    };
    line("title", s.title.clone());
    line(
        "description",
        s.description.as_deref().map(|d| show(&d.into())),
    );
    line("priority", s.priority.map(|p| p.as_str().to_owned()));
    line("kind", s.kind.map(|k| k.as_str().to_owned()));
    let native = s
        .native_status
        .as_ref()
        .map(|n| format!("{}:{}", n.provider(), n.value()));
    line(
        "status",
        match (s.status, native) {
            (Some(u), Some(n)) => Some(format!("{u} ({n})")),
            (Some(u), None) => Some(u.to_string()),
            (None, n) => n,
        },
    );
    line("solved", s.solved.map(|b| b.to_string()));
    line("tags", s.tags.as_ref().map(|t| t.join(", ")));
    if let Some(fields) = s.custom_fields.as_ref().filter(|f| !f.is_empty()) {
        println!("  custom fields");
        for f in fields {
            let option = f
                .option
                .as_deref()
                .map_or_else(String::new, |o| format!(" (option {o})"));
            println!("    {} = {}{option}", f.label(), show(&f.value));
        }
    }
    line(
        "attachments",
        s.attachments
            .as_ref()
            .filter(|a| !a.is_empty())
            .map(|a| a.join(", ")),
    );
    line(
        "last comment",
        s.latest_comment.as_deref().map(|c| show(&c.into())),
    );
    // RFC 3339, as the JSON form writes it.
    let json = serde_json::to_value(s).unwrap_or(Value::Null);
    line("updated at", json["updated_at"].as_str().map(str::to_owned));
}
