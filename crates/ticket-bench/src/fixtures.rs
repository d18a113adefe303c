//! The updates the benchmarks send: a small and a large one per provider, built
//! deterministically.

use std::fmt::Write as _;

use ticket_core::{Priority, TicketId, TicketKind, TicketStatus, TicketUpdate};

/// The EngageLab ticket id used throughout (the vendor document's example).
pub const ENGAGELAB_TICKET: &str = "tk_20251104_789abc";

/// The Feishu ticket id used throughout (the vendor document's example).
pub const FEISHU_TICKET: &str = "6945345902185807891";

/// The EngageLab success body of the vendor document.
pub const ENGAGELAB_SUCCESS: &str = r#"{"code":0,"message":"Success","data":{"ticket_id":"tk_20251104_789abc","updated_at":"2025-11-04T10:30:00+08:00"}}"#;

/// The Feishu success body of the vendor document.
pub const FEISHU_SUCCESS: &str = r#"{"code":0,"msg":"success","data":{}}"#;

/// How many tags and custom fields a large update carries.
pub const LARGE_COUNT: usize = 50;

/// How many bytes of Markdown a large update carries (description or comment).
pub const LARGE_TEXT_BYTES: usize = 10 * 1024;

/// The EngageLab ticket id, validated.
pub fn engagelab_id() -> TicketId {
    TicketId::new(ENGAGELAB_TICKET).expect("a valid ticket id")
}

/// The Feishu ticket id, validated.
pub fn feishu_id() -> TicketId {
    TicketId::new(FEISHU_TICKET).expect("a valid ticket id")
}

/// A typical small EngageLab update: title, a one-line description, priority, two tags and
/// one custom field (about 200 bytes of JSON).
pub fn engagelab_small() -> TicketUpdate {
    TicketUpdate::builder()
        .title("Printer jammed (updated)")
        .description("A4 paper is stuck in the output tray; a technician is on the way.")
        .priority(Priority::High)
        .tags(["printer", "hardware"])
        .custom_field("device_sn", "PRN-2024-001")
        .build()
        .expect("a valid update")
}

/// A large EngageLab update: title, 10 KB of Markdown description, priority, kind, 50 tags,
/// 50 custom fields.
pub fn engagelab_large() -> TicketUpdate {
    let mut builder = TicketUpdate::builder()
        .title("Printer fleet: paper jams on every floor (weekly digest)")
        .description(markdown(LARGE_TEXT_BYTES))
        .priority(Priority::Urgent)
        .kind(TicketKind::Problem)
        .tags(tags(LARGE_COUNT));
    for i in 0..LARGE_COUNT {
        builder = builder.custom_field(format!("field_{i:02}"), custom_value(i));
    }
    builder.build().expect("a valid update")
}

/// A typical small Feishu update: a status and a short comment.
pub fn feishu_small() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .comment("Picked up by the on-call agent.")
        .build()
        .expect("a valid update")
}

/// A small Feishu update without a comment (the sandbox appends comments to the ticket, so a
/// long sandbox run sends this one to keep the sandbox's own state flat).
pub fn feishu_small_no_comment() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .tags(["printer", "hardware"])
        .build()
        .expect("a valid update")
}

/// A large Feishu update: status, solved, 50 tags, 50 custom fields (with ids), and a 10 KB
/// Markdown comment.
pub fn feishu_large() -> TicketUpdate {
    let mut builder = TicketUpdate::builder()
        .status(TicketStatus::Pending)
        .solved(false)
        .comment(markdown(LARGE_TEXT_BYTES))
        .tags(tags(LARGE_COUNT));
    for i in 0..LARGE_COUNT {
        builder = builder.custom_field_with_id(
            format!("{}", 6_746_000_000_000_000_000u64 + i as u64),
            format!("field_{i:02}"),
            custom_value(i),
        );
    }
    builder.build().expect("a valid update")
}

/// `n` distinct tags.
pub fn tags(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("tag-{i:02}-printer")).collect()
}

fn custom_value(i: usize) -> String {
    format!("value {i} — floor {} / room {}", i % 7, 100 + i)
}

/// About `bytes` bytes (at least that many, cut at a line end) of realistic Markdown:
/// headings, lists, code blocks, links, quotes, non-ASCII text, and characters JSON must
/// escape (`"`, `\`, newlines, tabs).
pub fn markdown(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 512);
    let mut section = 0;
    while text.len() < bytes {
        section += 1;
        let _ = write!(
            text,
            "## Incident {section}: printer `PRN-{section:04}`\n\n\
             The printer on floor {floor} reports **paper jam** (error `E-{section}3`). \
             Steps tried by the user:\n\n\
             1. Opened tray 2 and removed the \"crumpled\" sheet.\n\
             2. Power-cycled the device; the jam came back after ~{section} pages.\n\
             3. Checked the path `C:\\\\Spool\\\\PRN-{section:04}` for stuck jobs.\n\n\
             > Quote from the user: \"It worked yesterday — 昨天还好好的。\"\n\n\
             ```text\n\
             status\t= jammed\n\
             counter\t= {counter}\n\
             ```\n\n\
             See [the runbook](https://wiki.example.com/runbooks/printers#jam-{section}) \
             and attach logs if it happens again.\n\n",
            floor = section % 9,
            counter = section * 1_234,
        );
    }
    text
}
