//! `helpdesk update ID`: one ticket's update from flags, previewed (`--dry-run`), planned
//! against the ticket (`--plan`), merged (`--merge`) or verified (`--verify`), then sent.

use clap::Args;
use helpdesk::{
    NativeStatus, Priority, TicketError, TicketId, TicketKind, TicketStatus, TicketUpdate,
};
use serde_json::{Value, json};

use crate::{
    EXIT_FAILED, Global, Output, error_json, fields_json, get, preview_json, print_json, reads,
    receipt_json, send, usage_error,
};

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The ticket to update.
    ticket_id: String,
    /// New title.
    #[arg(long)]
    title: Option<String>,
    /// New description (Markdown).
    #[arg(long)]
    description: Option<String>,
    /// New priority: low, medium (or normal), high, urgent.
    #[arg(long)]
    priority: Option<String>,
    /// New kind: incident, question, problem, task.
    #[arg(long)]
    kind: Option<String>,
    /// A tag (repeat for several); the ticket's tags are replaced by those given.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// A custom field, `KEY=VALUE` or `ID:KEY=VALUE` (repeatable).
    #[arg(long = "custom-field", value_name = "KEY=VALUE")]
    custom_fields: Vec<String>,
    /// An attachment by URL (repeatable).
    #[arg(long = "attachment", value_name = "URL")]
    attachments: Vec<String>,
    /// New status: a unified one (open, in_progress, pending, on_hold, solved, closed), or a
    /// provider's own as `PROVIDER:VALUE` (e.g. `feishu:queued`).
    #[arg(long)]
    status: Option<String>,
    /// Mark solved (`--solved`, `--solved=true`) or unsolved (`--solved=false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    solved: Option<bool>,
    /// A comment to add.
    #[arg(long)]
    comment: Option<String>,
    /// A raw field for the chosen provider, `KEY=JSON` (repeatable).
    #[arg(long = "provider-field", value_name = "KEY=JSON")]
    provider_fields: Vec<String>,
    /// Drop fields the provider cannot carry (listed in the result) instead of refusing.
    #[arg(long)]
    lenient: bool,
    /// Add a tag to the ticket's current ones (repeatable; needs --merge).
    #[arg(long = "add-tag", value_name = "TAG")]
    add_tags: Vec<String>,
    /// Remove a tag from the ticket's current ones (repeatable; needs --merge).
    #[arg(long = "remove-tag", value_name = "TAG")]
    remove_tags: Vec<String>,
    /// Remove a custom field, keeping the others (repeatable; needs --merge).
    #[arg(long = "unset-custom-field", value_name = "KEY")]
    unset_custom_fields: Vec<String>,
    /// Change only the fields named: read the ticket first (one read) and keep what the
    /// provider's update would otherwise need or reset (EngageLab's title, description,
    /// priority). Not atomic: see the README.
    #[arg(long)]
    merge: bool,
    /// Read the ticket back after the update and compare every field sent; exit 1 if one did
    /// not land.
    #[arg(long)]
    verify: bool,
    /// Read the ticket and show what the update would change (current → new); send nothing.
    #[arg(long, conflicts_with_all = ["dry_run", "verify"])]
    plan: bool,
    /// Print the request that would be sent (secrets redacted) and send nothing (with
    /// --merge, the ticket is read first).
    #[arg(long)]
    dry_run: bool,
    /// Retries after a failure that may be retried, instead of the configuration's
    /// `max_retries` (default 3). Rate-limit answers do not use them up (see the README).
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Builds the update from `update`'s flags.
fn build_update(args: &UpdateArgs, provider: &str) -> Result<TicketUpdate, TicketError> {
    let mut b = TicketUpdate::builder();
    if let Some(v) = &args.title {
        b = b.title(v);
    }
    if let Some(v) = &args.description {
        b = b.description(v);
    }
    if let Some(v) = &args.priority {
        b = b.priority(v.parse::<Priority>()?);
    }
    if let Some(v) = &args.kind {
        b = b.kind(v.parse::<TicketKind>()?);
    }
    if !args.tags.is_empty() {
        b = b.tags(args.tags.iter().cloned());
    }
    for text in &args.custom_fields {
        let (head, value) = text.split_once('=').ok_or_else(|| {
            TicketError::invalid("--custom-field", format!("{text:?} is not KEY=VALUE"))
        })?;
        b = match head.split_once(':') {
            Some((id, key)) => b.custom_field_with_id(id, key, value),
            None => b.custom_field(head, value),
        };
    }
    for url in &args.attachments {
        b = b.attachment(url);
    }
    if let Some(v) = &args.status {
        b = match v.split_once(':') {
            Some((provider, value)) => b.status(NativeStatus::new(provider, value)?),
            None => b.status(v.parse::<TicketStatus>()?),
        };
    }
    if let Some(v) = args.solved {
        b = b.solved(v);
    }
    if let Some(v) = &args.comment {
        b = b.comment(v);
    }
    for text in &args.provider_fields {
        let (key, raw) = text.split_once('=').ok_or_else(|| {
            TicketError::invalid("--provider-field", format!("{text:?} is not KEY=JSON"))
        })?;
        let value: Value = serde_json::from_str(raw).map_err(|e| {
            TicketError::invalid("--provider-field", format!("{key}: not JSON ({e})"))
        })?;
        b = b.provider_field(provider, key, value);
    }
    if args.lenient {
        b = b.lenient();
    }
    for tag in &args.add_tags {
        b = b.add_tag(tag);
    }
    for tag in &args.remove_tags {
        b = b.remove_tag(tag);
    }
    for key in &args.unset_custom_fields {
        b = b.unset_custom_field(key);
    }
    if args.merge {
        b = b.merge();
    }
    if args.verify {
        b = b.verify();
    }
    b.build()
}

pub(crate) async fn run(global: &Global, args: UpdateArgs) -> u8 {
    let shared = match send::Shared::connect(global, None, args.max_retries, None) {
        Ok(s) => s,
        Err(e) => return usage_error(args.output, &e),
    };
    let updater = &shared.updater;
    let id = match TicketId::new(args.ticket_id.clone()) {
        Ok(id) => id,
        Err(e) => return usage_error(args.output, &e),
    };
    let update = match build_update(&args, updater.provider()) {
        Ok(u) => u,
        Err(e) => return usage_error(args.output, &e),
    };
    if args.plan {
        return get::plan_one(std::sync::Arc::clone(updater), &id, &update, args.output).await;
    }
    // An update in merge mode has no request before its read: checked here, shown after it.
    if update.merges() {
        if let Err(e) = updater.check(&id, &update) {
            return usage_error(args.output, &e);
        }
        if args.dry_run {
            return get::dry_run_merged(std::sync::Arc::clone(updater), &id, &update, args.output)
                .await;
        }
    }
    // Checked before anything is sent, dry run or not.
    let preview = match update.merges() {
        true => None,
        false => match updater.preview(&id, &update) {
            Ok(p) => Some(p),
            Err(e) => return usage_error(args.output, &e),
        },
    };
    if let (true, Some(preview)) = (args.dry_run, preview) {
        match args.output {
            Output::Text => println!("{preview}"),
            Output::Json => {
                print_json(&json!({"dry_run": true, "request": preview_json(&preview)}))
            }
        }
        return 0;
    }
    let (outcome, attempts, _) = reads::send(&shared, &id, &update, || true).await;
    report(&id, &update, outcome, attempts, args.output)
}

/// Prints one update's outcome and says the exit code.
fn report(
    id: &TicketId,
    update: &TicketUpdate,
    outcome: send::Outcome,
    attempts: u32,
    output: Output,
) -> u8 {
    match outcome {
        send::Outcome::Applied(receipt) => {
            let landed = receipt
                .verification
                .as_ref()
                .is_none_or(|v| v.is_verified());
            match output {
                Output::Text => {
                    print!("updated {} on {}", receipt.ticket_id, receipt.provider);
                    if let Some(rid) = &receipt.request_id {
                        print!(" (request id {rid})");
                    }
                    println!(" after {attempts} attempt(s)");
                    if !receipt.dropped.is_empty() {
                        println!(
                            "dropped as unsupported: {}",
                            fields_json(&receipt.dropped).join(", ")
                        );
                    }
                    get::print_reads(&receipt);
                }
                Output::Json => {
                    let mut r = receipt_json(&receipt);
                    r["attempts"] = json!(attempts);
                    print_json(&json!({"ok": landed, "receipt": r}));
                }
            }
            if landed { 0 } else { EXIT_FAILED }
        }
        // Only `apply`'s journal refuses to send.
        send::Outcome::NotSent => EXIT_FAILED,
        send::Outcome::Failed(err) | send::Outcome::Unknown(err) => {
            let unknown = err.may_have_applied() && update.comment().is_some();
            match output {
                Output::Text => {
                    eprintln!("helpdesk: update of {id} failed after {attempts} attempt(s): {err}");
                    if unknown {
                        eprintln!(
                            "helpdesk: the update may have been applied; it carries a comment, so it was not re-sent"
                        );
                    }
                }
                Output::Json => print_json(&json!({
                    "ok": false,
                    "outcome": if unknown { "unknown" } else { "failed" },
                    "attempts": attempts,
                    "error": error_json(&err),
                })),
            }
            EXIT_FAILED
        }
    }
}
