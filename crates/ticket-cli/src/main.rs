//! `helpdesk`: update helpdesk tickets from the shell — one with `update`, thousands from a
//! JSON Lines file with `apply` (checked first, at the server's rate, resumable); read one with
//! `get`, see what an update would change with `--plan`, change only what you name with
//! `--merge`, and check what landed with `--verify`.
//!
//! Exit codes: 0 everything applied (and, with `--verify`, landed); 1 some updates failed, have
//! an unknown outcome, did not land as sent (`--verify`), or (apply) were not sent because their
//! line changed after the check, or (`get`, `--plan`) a read failed; 2 usage, configuration or
//! invalid input (nothing sent); 74 (apply) the journal could not be written, so the run
//! stopped; 130 interrupted (SIGINT or SIGTERM).

mod apply;
mod get;
mod journal;
mod line;
mod plan;
mod reads;
mod send;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};
use ticket_facade::{
    Config, ConfigKey, Field, NativeStatus, Priority, RequestPreview, TicketError, TicketId,
    TicketKind, TicketStatus, TicketUpdate, UpdateReceipt,
};

/// Exit code: some updates failed.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit code: usage, configuration or invalid input.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: `apply` stopped because its journal could not be written (`EX_IOERR` of
/// sysexits.h).
pub(crate) const EXIT_JOURNAL: u8 = 74;
/// Exit code: interrupted (SIGINT or SIGTERM).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Update helpdesk tickets (EngageLab LiveDesk, Feishu/Lark Helpdesk) from the shell.
#[derive(Debug, Parser)]
#[command(name = "helpdesk", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Where the configuration comes from.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Read the configuration from this TOML file instead of the environment (TICKET_*).
    #[arg(long, global = true, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// The provider to use (overrides `provider` / TICKET_PROVIDER).
    #[arg(long, global = true, value_name = "NAME")]
    provider: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Update one ticket.
    Update(Box<UpdateArgs>),
    /// Read one ticket.
    Get(get::GetArgs),
    /// Apply a JSON Lines file of updates (`-` for stdin): checked first, then sent.
    Apply(apply::ApplyArgs),
    /// List the compiled-in providers and the fields each can carry.
    Providers,
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Show which keys were found where (secrets redacted), what is missing, and whether the
    /// configuration connects.
    Check,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

#[derive(Debug, Args)]
struct UpdateArgs {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Providers => providers(),
        Command::Config(ConfigCommand::Check) => config_check(&cli.global),
        Command::Update(args) => run_async(update(&cli.global, *args)),
        Command::Get(args) => run_async(get::get(&cli.global, args)),
        Command::Apply(args) => run_async(apply::run(&cli.global, args)),
    };
    ExitCode::from(code)
}

fn run_async<F: std::future::Future<Output = u8>>(fut: F) -> u8 {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => {
            eprintln!("helpdesk: cannot start the runtime: {e}");
            EXIT_USAGE
        }
    }
}

/// Reads the configuration (file or environment) and applies `--provider`.
pub(crate) fn load_config(global: &Global) -> Result<Config, TicketError> {
    let mut config = match &global.config {
        Some(path) => Config::from_toml_file(path)?,
        None => Config::from_env(),
    };
    if let Some(p) = &global.provider {
        config = config.with_provider(p.clone());
    }
    Ok(config)
}

/// The key `--max-retries` sets (one of `ticket_facade::HTTP_KEYS`).
pub(crate) const RETRIES_KEY: &str = "max_retries";

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

fn fields_json(fields: &[Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.as_str()).collect()
}

/// The JSON form of a receipt (`ticket-core`'s documented form).
pub(crate) fn receipt_json(r: &UpdateReceipt) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

pub(crate) fn preview_json(p: &RequestPreview) -> Value {
    json!({
        "method": p.method,
        "url": p.url,
        "headers": p.headers,
        "body": p.body,
        "dropped": fields_json(&p.dropped),
    })
}

/// The JSON form of an error in this command's output.
pub(crate) fn error_json(e: &TicketError) -> Value {
    let server = e.server();
    json!({
        "kind": format!("{:?}", e.kind()),
        "message": e.to_string(),
        "retryable": e.is_retryable(),
        "status": server.map(|s| s.status),
        "code": server.and_then(|s| s.code.as_ref()).map(|c| match c.as_i64() {
            Some(n) => json!(n),
            None => json!(c.to_string()),
        }),
        "request_id": server.and_then(|s| s.request_id.clone()),
    })
}

pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

pub(crate) fn usage_error(output: Output, err: &TicketError) -> u8 {
    match output {
        Output::Text => eprintln!("helpdesk: {err}"),
        Output::Json => print_json(&json!({"ok": false, "error": error_json(err)})),
    }
    EXIT_USAGE
}

async fn update(global: &Global, args: UpdateArgs) -> u8 {
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
    match outcome {
        send::Outcome::Applied(receipt) => {
            let landed = receipt
                .verification
                .as_ref()
                .is_none_or(|v| v.is_verified());
            match args.output {
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
            match args.output {
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

fn providers() -> u8 {
    let names = ticket_facade::providers();
    let caps = |name: &str| match name {
        "engagelab" => Some(ticket_facade::engagelab::CAPABILITIES),
        "feishu" => Some(ticket_facade::feishu::CAPABILITIES),
        _ => None,
    };
    const ANY: &str = "any field needed";
    // The first column fits the longest field name (`comment.visibility`) and a space.
    let width = Field::ALL
        .iter()
        .map(|f| f.as_str().len())
        .chain([ANY.len()])
        .max()
        .unwrap_or(0)
        + 2;
    print!("{:<width$}", "field");
    for n in &names {
        print!("{n:<12}");
    }
    println!();
    for field in Field::ALL {
        print!("{:<width$}", field.as_str());
        for n in &names {
            // Required: refused without it, or reset when left out (EngageLab's priority);
            // `--merge` fills it from the ticket.
            let cell = match caps(n) {
                Some(c) if c.must_carry().contains(field) => "required",
                Some(c) if c.supports(field) => "yes",
                Some(_) => "-",
                None => "?",
            };
            print!("{cell:<12}");
        }
        println!();
    }
    print!("{ANY:<width$}");
    for n in &names {
        let cell = match caps(n) {
            Some(c) if c.requires_any_field => "yes",
            Some(_) => "no",
            None => "?",
        };
        print!("{cell:<12}");
    }
    println!();
    // Reading: `get`, `--merge`, `--verify`, `--plan`.
    print!("{:<width$}", "read");
    for n in &names {
        let cell = match caps(n) {
            Some(c) if c.read => "yes",
            Some(_) => "no",
            None => "?",
        };
        print!("{cell:<12}");
    }
    println!();
    0
}

/// The key `key` of `provider` in the facade's key tables (the provider's own, then the keys
/// every provider accepts), or `None` when it is not a known key.
fn config_key(provider: &str, key: &str) -> Option<ConfigKey> {
    ticket_facade::provider_keys(provider)
        .unwrap_or_default()
        .iter()
        .chain(ticket_facade::HTTP_KEYS)
        .find(|k| k.name == key)
        .copied()
}

fn config_check(global: &Global) -> u8 {
    let config = match load_config(global) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("helpdesk: {e}");
            return EXIT_USAGE;
        }
    };
    let source = match &global.config {
        Some(p) => p.display().to_string(),
        None => "the environment (TICKET_*)".to_owned(),
    };
    println!("configuration from {source}");
    let Some(provider) = config.provider().map(str::to_ascii_lowercase) else {
        println!("provider: missing (set TICKET_PROVIDER, `provider` in the file, or --provider)");
        println!(
            "available providers: {}",
            ticket_facade::providers().join(", ")
        );
        return EXIT_USAGE;
    };
    println!("provider: {provider}");
    let entries = config.provider_entries(&provider);
    if entries.is_empty() {
        println!("no keys found for {provider}");
    }
    for (key, value, origin) in entries {
        // Secrets, and keys the tables do not know (a mistyped secret is still a secret), are
        // redacted.
        let known = config_key(&provider, &key);
        let shown = match known {
            Some(k) if !k.secret => value,
            _ => RequestPreview::REDACTED.to_owned(),
        };
        let note = if known.is_some() {
            ""
        } else {
            " (unknown key)"
        };
        println!("  {key:<26} {shown:<32} from {origin}{note}");
    }
    match ticket_facade::connect(&config) {
        Ok(u) => {
            println!(
                "connects: yes ({} client built; no request sent)",
                u.provider()
            );
            0
        }
        Err(e) => {
            println!("connects: no: {e}");
            EXIT_USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_retries_key_is_a_key_every_provider_accepts() {
        assert!(
            ticket_facade::HTTP_KEYS
                .iter()
                .any(|k| k.name == super::RETRIES_KEY)
        );
    }
}
