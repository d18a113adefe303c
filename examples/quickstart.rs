//! The quickstart: updates one EngageLab and one Feishu ticket for real, through the same code
//! path production uses, against the bundled sandbox (a loopback emulator of both APIs). No
//! credentials, no network.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! For each provider it builds the client through the facade from configuration (only the base
//! URL points at the sandbox), sends the vendor document's own example update, and prints the
//! request preview (secrets redacted), the receipt, and the ticket as the sandbox now stores it.
//! It ends with an update the strict policy refuses.

use std::error::Error;
use std::sync::Arc;

use helpdesk::{Config, TicketId, TicketStatus, TicketUpdate, TicketUpdater};
use ticket_sandbox::Sandbox;

const ENGAGELAB_TICKET: &str = "tk_20251104_789abc";
const FEISHU_TICKET: &str = "6945345902185807891";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::builder()
        .seed_engagelab_default(ENGAGELAB_TICKET)
        .seed_feishu_default(FEISHU_TICKET)
        .start()
        .await?;
    println!("sandbox listening on {}\n", sandbox.base_url());
    engagelab(&sandbox).await?;
    let feishu = feishu(&sandbox).await?;
    refused(&sandbox, feishu.as_ref()).await
}

/// EngageLab, configured as an application would load it (here a key-value map), sent the
/// EngageLab document's printer example.
async fn engagelab(sandbox: &Sandbox) -> Result<(), Box<dyn Error>> {
    let creds = sandbox.credentials();
    let engagelab = helpdesk::connect(&Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", creds.engagelab_api_key.as_str()),
        ("engagelab.api_secret", creds.engagelab_api_secret.as_str()),
        ("engagelab.base_url", sandbox.base_url().as_str()),
    ]))?;
    // Its "priority": "normal" parses as medium.
    let printer = TicketUpdate::builder()
        .title("打印機卡紙,無法打印(已更新)")
        .description("客戶反映 A4 紙卡在出紙口,急需處理。\n已派技術員前往。")
        .attachment("https://example.com/files/error-photo.jpg")
        .priority("normal".parse()?)
        .kind("incident".parse()?)
        .custom_field("department", "IT 支持")
        .custom_field("device_sn", "PRN-2024-001")
        .custom_field("location", "北京總部-3 樓打印室")
        .custom_field("resolution_note", "更換了進紙器")
        .tags(["printer", "hardware", "resolved"])
        .build()?;
    let id = TicketId::new(ENGAGELAB_TICKET)?;
    send("EngageLab", engagelab.as_ref(), &id, &printer, || {
        let stored = sandbox
            .engagelab_ticket(ENGAGELAB_TICKET)
            .ok_or("ticket vanished")?;
        Ok(serde_json::to_string_pretty(&stored)?)
    })
    .await
}

/// Feishu, configured from TOML as it might sit in a file, sent the Feishu document's request
/// example field for field. Returns the client for the refusal that follows.
async fn feishu(sandbox: &Sandbox) -> Result<Arc<dyn TicketUpdater>, Box<dyn Error>> {
    let creds = sandbox.credentials();
    let feishu = helpdesk::connect(&Config::from_toml_str(&format!(
        "provider = \"feishu\"\n[feishu]\nuser_access_token = \"{}\"\nhelpdesk_id = \"{}\"\nhelpdesk_token = \"{}\"\nbase_url = \"{}\"\n",
        creds.feishu_user_access_token,
        creds.feishu_helpdesk_id,
        creds.feishu_helpdesk_token,
        sandbox.base_url()
    ))?)?;
    let example = TicketUpdate::builder()
        .status(TicketStatus::Open)
        .tags(["abc"])
        .comment("good")
        .custom_field_with_id("123", "key", "value")
        .provider_field("feishu", "ticket_type", 1)
        .solved(false)
        .provider_field("feishu", "channel", 1)
        .build()?;
    let id = TicketId::new(FEISHU_TICKET)?;
    send("Feishu", feishu.as_ref(), &id, &example, || {
        let stored = sandbox
            .feishu_ticket(FEISHU_TICKET)
            .ok_or("ticket vanished")?;
        Ok(serde_json::to_string_pretty(&stored)?)
    })
    .await?;
    Ok(feishu)
}

/// Sends `update` to ticket `id` and prints the request preview (secrets redacted), the
/// receipt, and the ticket as the sandbox then stores it (rendered by `stored`).
async fn send(
    name: &str,
    updater: &dyn TicketUpdater,
    id: &TicketId,
    update: &TicketUpdate,
    stored: impl FnOnce() -> Result<String, Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    println!(
        "== {name}: request preview\n{}\n",
        updater.preview(id, update)?
    );
    let receipt = updater.update(id, update).await?;
    println!("== {name}: receipt\n{receipt:#?}\n");
    println!("== {name}: stored ticket\n{}\n", stored()?);
    Ok(())
}

/// A refused update: Feishu cannot carry a title or a priority, and the default (strict)
/// policy refuses before anything is sent.
async fn refused(sandbox: &Sandbox, feishu: &dyn TicketUpdater) -> Result<(), Box<dyn Error>> {
    let refused = TicketUpdate::builder()
        .title("Printer fixed")
        .priority(helpdesk::Priority::Low)
        .comment("closing")
        .build()?;
    let id = TicketId::new(FEISHU_TICKET)?;
    let before = sandbox.stats().feishu_requests;
    match feishu.update(&id, &refused).await {
        Err(err) => println!(
            "== Feishu: refused update\nerror kind {:?}: {err}\n(requests sent: {})",
            err.kind(),
            sandbox.stats().feishu_requests - before
        ),
        Ok(receipt) => return Err(format!("expected a refusal, got {receipt:?}").into()),
    }
    Ok(())
}
