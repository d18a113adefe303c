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
mod update;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use helpdesk::{Config, ConfigKey, Field, RequestPreview, TicketError, UpdateReceipt};
use serde_json::{Value, json};

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
    Update(Box<update::UpdateArgs>),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Providers => providers(),
        Command::Config(ConfigCommand::Check) => config_check(&cli.global),
        Command::Update(args) => run_async(update::run(&cli.global, *args)),
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

/// The key `--max-retries` sets (one of `helpdesk::HTTP_KEYS`).
pub(crate) const RETRIES_KEY: &str = "max_retries";

pub(crate) fn fields_json(fields: &[Field]) -> Vec<&'static str> {
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

fn providers() -> u8 {
    let names = helpdesk::providers();
    let caps = |name: &str| match name {
        "engagelab" => Some(helpdesk::engagelab::CAPABILITIES),
        "feishu" => Some(helpdesk::feishu::CAPABILITIES),
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
    helpdesk::provider_keys(provider)
        .unwrap_or_default()
        .iter()
        .chain(helpdesk::HTTP_KEYS)
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
        println!("available providers: {}", helpdesk::providers().join(", "));
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
    match helpdesk::connect(&config) {
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
            helpdesk::HTTP_KEYS
                .iter()
                .any(|k| k.name == super::RETRIES_KEY)
        );
    }
}
