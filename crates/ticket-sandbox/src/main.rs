//! `ticket-sandbox`: runs the EngageLab + Feishu helpdesk emulator until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use helpdesk_ticket_sandbox::{EngageLabGetPaths, OmittedPriority, Provider, Sandbox};

/// A stateful loopback emulator of the EngageLab LiveDesk and Feishu Helpdesk ticket APIs.
#[derive(Debug, Parser)]
#[command(name = "ticket-sandbox", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Seed an EngageLab ticket with this id (repeatable).
    #[arg(long = "seed-engagelab", value_name = "ID")]
    seed_engagelab: Vec<String>,
    /// Seed a Feishu ticket with this id (repeatable).
    #[arg(long = "seed-feishu", value_name = "ID")]
    seed_feishu: Vec<String>,
    /// Lifetime of Feishu user access tokens, in seconds.
    #[arg(long, value_name = "N", default_value_t = 7200)]
    token_ttl_secs: u64,
    /// Lifetime of Feishu tenant access tokens, in seconds.
    #[arg(long, value_name = "N", default_value_t = 7200)]
    tenant_token_ttl_secs: u64,
    /// What an EngageLab update without `priority` does: `reset` it to medium (the vendor
    /// document's reading) or `keep` it.
    #[arg(long, value_name = "MODE", default_value_t = OmittedPriority::Reset)]
    engagelab_omitted_priority: OmittedPriority,
    /// Which EngageLab GET paths answer: `both`, `api` (/api/v2/...) or `bare` (/v2/...).
    #[arg(long, value_name = "PATHS", default_value_t = EngageLabGetPaths::Both)]
    engagelab_get_paths: EngageLabGetPaths,
    /// Rate-limit mode: `R/s` for both providers, or `engagelab=R/s` / `feishu=R/s` for one
    /// (repeatable). Refusals are answered as each vendor does (429 and its headers).
    #[arg(long = "rate-limit", value_name = "[PROVIDER=]R/s", value_parser = parse_rate_limit)]
    rate_limit: Vec<(Option<Provider>, u32)>,
    /// Feishu ticket reads a second while the Feishu rate-limit mode is on (0: unpaced).
    #[arg(long, value_name = "N", default_value_t = helpdesk_ticket_sandbox::DEFAULT_FEISHU_GET_RATE_LIMIT)]
    feishu_get_rate_limit: u32,
    /// Seconds a client has to send a complete request head (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 10)]
    header_read_timeout_secs: u64,
    /// Bytes the request log keeps.
    #[arg(long, value_name = "N", default_value_t = helpdesk_ticket_sandbox::DEFAULT_REQUEST_LOG_MAX_BYTES)]
    request_log_max_bytes: usize,
}

fn parse_rate_limit(text: &str) -> Result<(Option<Provider>, u32), String> {
    let (provider, rate) = match text.split_once('=') {
        Some((p, r)) => (Some(p.parse::<Provider>()?), r),
        None => (None, text),
    };
    let number = rate.trim().strip_suffix("/s").unwrap_or(rate.trim());
    match number.parse::<u32>() {
        Ok(n) if n > 0 => Ok((provider, n)),
        _ => Err(format!(
            "{rate:?} must be R/s with R a positive integer, such as 200/s"
        )),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Listen for Ctrl-C before anything else so an early signal is not lost.
    let ctrl_c = tokio::spawn(tokio::signal::ctrl_c());
    tokio::task::yield_now().await;
    let mut builder = Sandbox::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .token_ttl(Duration::from_secs(args.token_ttl_secs))
        .tenant_token_ttl(Duration::from_secs(args.tenant_token_ttl_secs))
        .engagelab_omitted_priority(args.engagelab_omitted_priority)
        .engagelab_get_paths(args.engagelab_get_paths)
        .feishu_get_rate_limit(args.feishu_get_rate_limit)
        .header_read_timeout(
            (args.header_read_timeout_secs > 0)
                .then(|| Duration::from_secs(args.header_read_timeout_secs)),
        )
        .request_log_max_bytes(args.request_log_max_bytes);
    for (provider, per_second) in &args.rate_limit {
        for p in [Provider::EngageLab, Provider::Feishu] {
            if provider.is_none_or(|only| only == p) {
                builder = builder.rate_limit(p, *per_second);
            }
        }
    }
    for id in args.seed_engagelab {
        builder = builder.seed_engagelab_default(id);
    }
    for id in args.seed_feishu {
        builder = builder.seed_feishu_default(id);
    }
    let sandbox = match builder.start().await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!(
                "ticket-sandbox: cannot listen on {}:{}: {err}",
                args.bind, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    print_banner(&sandbox);
    match ctrl_c.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => eprintln!("ticket-sandbox: cannot wait for Ctrl-C: {err}"),
        Err(err) => eprintln!("ticket-sandbox: Ctrl-C listener failed: {err}"),
    }
    println!("ticket-sandbox: shutting down");
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

fn print_banner(sandbox: &Sandbox) {
    let c = sandbox.credentials();
    let base = sandbox.base_url();
    println!("ticket-sandbox listening on {base}");
    println!();
    println!("EngageLab  PUT|GET {base}/api/v2/accounts/tickets/{{ticket_id}}");
    println!(
        "           GET     {base}/v2/accounts/tickets/{{ticket_id}} (GET paths: {}, omitted priority: {})",
        sandbox.engagelab_get_paths(),
        sandbox.engagelab_omitted_priority()
    );
    println!("  api_key     {}", c.engagelab_api_key);
    println!("  api_secret  {}", c.engagelab_api_secret);
    println!(
        "  header      Authorization: {}",
        c.engagelab_authorization()
    );
    println!();
    println!("Feishu     PUT|GET {base}/open-apis/helpdesk/v1/tickets/{{ticket_id}}");
    println!("           GET     {base}/open-apis/helpdesk/v1/ticket_customized_fields");
    println!("           POST    {base}/open-apis/authen/v2/oauth/token");
    println!("           POST    {base}/open-apis/auth/v3/tenant_access_token/internal");
    println!("  user_access_token  {}", c.feishu_user_access_token);
    println!("  helpdesk_id        {}", c.feishu_helpdesk_id);
    println!("  helpdesk_token     {}", c.feishu_helpdesk_token);
    println!("  app_id             {}", c.feishu_app_id);
    println!("  app_secret         {}", c.feishu_app_secret);
    println!("  refresh_token      {}", c.feishu_refresh_token);
    println!("  tenant token       {}", c.feishu_tenant_access_token);
    println!(
        "  header             X-Lark-Helpdesk-Authorization: {}",
        c.feishu_helpdesk_authorization()
    );
    println!();
    for (provider, limit) in sandbox.rate_limits() {
        if let Some(per_second) = limit {
            println!("Rate limit {provider}: {per_second}/s");
        }
    }
    println!(
        "Admin      {} (GET it for the route list)",
        sandbox.admin_url()
    );
    println!("Press Ctrl-C to stop.");
}
