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

use ticket_facade::{Config, TicketId, TicketStatus, TicketUpdate};
use ticket_sandbox::Sandbox;

const ENGAGELAB_TICKET: &str = "tk_20251104_789abc";
const FEISHU_TICKET: &str = "6945345902185807891";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::builder()
        .seed_engagelab_default(ENGAGELAB_TICKET)
        .seed_feishu_default(FEISHU_TICKET)
        .start()
        .await?;
    let creds = sandbox.credentials().clone();
    println!("sandbox listening on {}\n", sandbox.base_url());

    // EngageLab: configuration as an application would load it (here a key-value map).
    let engagelab = ticket_facade::connect(&Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", creds.engagelab_api_key.as_str()),
        ("engagelab.api_secret", creds.engagelab_api_secret.as_str()),
        ("engagelab.base_url", sandbox.base_url().as_str()),
    ]))?;
    // The EngageLab document's printer example; its "priority": "normal" parses as medium.
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
    println!(
        "== EngageLab: request preview\n{}\n",
        engagelab.preview(&id, &printer)?
    );
    let receipt = engagelab.update(&id, &printer).await?;
    println!("== EngageLab: receipt\n{receipt:#?}\n");
    let stored = sandbox
        .engagelab_ticket(ENGAGELAB_TICKET)
        .ok_or("ticket vanished")?;
    println!(
        "== EngageLab: stored ticket\n{}\n",
        serde_json::to_string_pretty(&stored)?
    );

    // Feishu: configuration from TOML, as it might sit in a file.
    let feishu = ticket_facade::connect(&Config::from_toml_str(&format!(
        "provider = \"feishu\"\n[feishu]\nuser_access_token = \"{}\"\nhelpdesk_id = \"{}\"\nhelpdesk_token = \"{}\"\nbase_url = \"{}\"\n",
        creds.feishu_user_access_token,
        creds.feishu_helpdesk_id,
        creds.feishu_helpdesk_token,
        sandbox.base_url()
    ))?)?;
    // The Feishu document's request example, field for field.
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
    println!(
        "== Feishu: request preview\n{}\n",
        feishu.preview(&id, &example)?
    );
    let receipt = feishu.update(&id, &example).await?;
    println!("== Feishu: receipt\n{receipt:#?}\n");
    let stored = sandbox
        .feishu_ticket(FEISHU_TICKET)
        .ok_or("ticket vanished")?;
    println!(
        "== Feishu: stored ticket\n{}\n",
        serde_json::to_string_pretty(&stored)?
    );

    // A refused update: Feishu cannot carry a title or a priority, and the default (strict)
    // policy refuses before anything is sent.
    let refused = TicketUpdate::builder()
        .title("Printer fixed")
        .priority(ticket_facade::Priority::Low)
        .comment("closing")
        .build()?;
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
