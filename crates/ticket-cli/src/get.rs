//! `helpdesk get`, and what `helpdesk update` does with reads: `--plan` (read, show current →
//! new, send nothing), `--dry-run` with `--merge` (read, show the merged request), and the
//! merge report and verification of an update sent with `--merge` or `--verify`.

use std::sync::Arc;

use clap::Args;
use helpdesk::{ErrorKind, TicketError, TicketId, TicketUpdate, TicketUpdater, UpdateReceipt};
use serde_json::{Value, json};

use crate::plan::{plan, print_snapshot};
use crate::send::Shared;
use crate::{EXIT_FAILED, EXIT_USAGE, Global, Output, error_json, print_json, usage_error};

/// Arguments of `get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The ticket to read.
    ticket_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// The exit code of a failed read: 2 when it is the configuration's or the provider's doing
/// (no app credentials, a provider that cannot read), else 1.
fn read_failure(err: &TicketError) -> u8 {
    match err.kind() {
        ErrorKind::Configuration | ErrorKind::UnsupportedOperation | ErrorKind::InvalidInput => {
            EXIT_USAGE
        }
        _ => EXIT_FAILED,
    }
}

fn failed(output: Output, what: &str, err: &TicketError) -> u8 {
    match output {
        Output::Text => eprintln!("helpdesk: {what}: {err}"),
        Output::Json => print_json(&json!({"ok": false, "error": error_json(err)})),
    }
    read_failure(err)
}

/// `helpdesk get TICKET_ID`: one read, shown.
pub(crate) async fn get(global: &Global, args: GetArgs) -> u8 {
    let updater = match Shared::connect(global, None, None, None) {
        Ok(shared) => shared.updater,
        Err(e) => return usage_error(args.output, &e),
    };
    let id = match TicketId::new(args.ticket_id) {
        Ok(id) => id,
        Err(e) => return usage_error(args.output, &e),
    };
    match updater.read(&id).await {
        Ok(snapshot) => {
            match args.output {
                Output::Text => print_snapshot(&snapshot),
                Output::Json => print_json(&json!({"ok": true, "ticket": snapshot})),
            }
            0
        }
        Err(e) => failed(args.output, &format!("reading {id} failed"), &e),
    }
}

/// `helpdesk update --plan`: reads the ticket and shows what the update would change.
pub(crate) async fn plan_one(
    updater: Arc<dyn TicketUpdater>,
    id: &TicketId,
    update: &TicketUpdate,
    output: Output,
) -> u8 {
    let current = match updater.read(id).await {
        Ok(s) => s,
        Err(e) => return failed(output, &format!("reading {id} failed"), &e),
    };
    let planned = match plan(updater.as_ref(), update, &current) {
        Ok(p) => p,
        Err(e) => return usage_error(output, &e),
    };
    match output {
        Output::Json => print_json(&json!({
            "plan": [planned.json],
            "would_change": u8::from(planned.changes()),
            "up_to_date": u8::from(!planned.changes()),
            "read_failed": 0,
        })),
        Output::Text => {
            print_ticket_plan(id, &planned);
            println!(
                "Plan: {} ticket(s) would change, {} already up to date; nothing was sent.",
                u8::from(planned.changes()),
                u8::from(!planned.changes())
            );
        }
    }
    0
}

/// One ticket's plan, for people: a header, its change lines, what merge keeps.
pub(crate) fn print_ticket_plan(id: &TicketId, planned: &crate::plan::TicketPlan) {
    if !planned.changes() {
        println!("  ticket {id}: up to date");
        return;
    }
    println!("~ ticket {id}");
    for line in &planned.lines {
        println!("    {line}");
    }
    if !planned.kept.is_empty() {
        println!("    (kept from the ticket: {})", planned.kept.join(", "));
    }
    if !planned.dropped.is_empty() {
        println!(
            "    (dropped as unsupported: {})",
            planned.dropped.join(", ")
        );
    }
}

/// `helpdesk update --dry-run --merge`: reads the ticket (a GET) and shows the request the
/// merged update would send; sends no update.
pub(crate) async fn dry_run_merged(
    updater: Arc<dyn TicketUpdater>,
    id: &TicketId,
    update: &TicketUpdate,
    output: Output,
) -> u8 {
    let current = match updater.read(id).await {
        Ok(s) => s,
        Err(e) => return failed(output, &format!("reading {id} failed"), &e),
    };
    let merged = match update.merged_with(&current, &updater.capabilities()) {
        Ok(m) => m,
        Err(e) => return usage_error(output, &e),
    };
    let preview = match updater.preview(id, &merged.update) {
        Ok(p) => p,
        Err(e) => return usage_error(output, &e),
    };
    let kept: Vec<&str> = merged.filled.iter().map(|f| f.as_str()).collect();
    match output {
        Output::Text => {
            println!("{preview}");
            if !kept.is_empty() {
                println!("(kept from the ticket: {})", kept.join(", "));
            }
        }
        Output::Json => print_json(&json!({
            "dry_run": true,
            "request": crate::preview_json(&preview),
            "kept": kept,
        })),
    }
    0
}

/// What the receipt of an update says beyond its acceptance: the fields merge mode kept, and
/// the verification. Returns whether something sent did not land (or could not be read back).
pub(crate) fn print_reads(receipt: &UpdateReceipt) -> bool {
    if let Some(merge) = &receipt.merge
        && !merge.filled.is_empty()
    {
        let kept: Vec<&str> = merge.filled.iter().map(|f| f.as_str()).collect();
        println!("kept from the ticket: {}", kept.join(", "));
    }
    let Some(v) = &receipt.verification else {
        return false;
    };
    if let Some(err) = &v.read_error {
        println!("unverified: the ticket could not be read back: {err}");
    }
    if !v.verified.is_empty() {
        println!("verified: {}", v.verified.join(", "));
    }
    for drift in &v.drifted {
        println!(
            "did not land: {}: sent {}, found {}",
            drift.field,
            show(&drift.sent),
            show(&drift.found)
        );
    }
    if !v.not_verifiable.is_empty() {
        println!("not verifiable: {}", v.not_verifiable.join(", "));
    }
    for note in &v.concurrent {
        println!("concurrent change: {note}");
    }
    !v.is_verified()
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        other => crate::plan::show(other),
    }
}
