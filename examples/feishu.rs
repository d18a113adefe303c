//! Updates a real Feishu (or Lark) Helpdesk ticket through the facade.
//!
//! ```sh
//! TICKET_FEISHU_USER_ACCESS_TOKEN=u-… TICKET_FEISHU_HELPDESK_ID=… \
//! TICKET_FEISHU_HELPDESK_TOKEN=… EXAMPLE_TICKET_ID=6945345902185807891 \
//!     cargo run --example feishu
//! ```
//!
//! Set `TICKET_FEISHU_REGION=lark` for Lark. Without the variables it names the missing ones
//! and exits with status 2.

use helpdesk::{Config, TicketId, TicketStatus, TicketUpdate};

const REQUIRED: &[&str] = &[
    "TICKET_FEISHU_USER_ACCESS_TOKEN",
    "TICKET_FEISHU_HELPDESK_ID",
    "TICKET_FEISHU_HELPDESK_TOKEN",
    "EXAMPLE_TICKET_ID",
];

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|v| std::env::var(v).map_or(true, |s| s.is_empty()))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "this example updates a real Feishu helpdesk ticket; set {} (and optionally TICKET_FEISHU_REGION=lark).\n\
             To try the library without credentials, run `cargo run --example quickstart`.",
            missing.join(", ")
        );
        std::process::exit(2);
    }
    let updater = helpdesk::connect(&Config::from_env().with_provider("feishu"))?;
    let id = TicketId::new(std::env::var("EXAMPLE_TICKET_ID")?)?;
    let update = TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .tags(["abc"])
        .comment("good")
        .build()?;
    println!("{}\n", updater.preview(&id, &update)?);
    let receipt = updater.update(&id, &update).await?;
    println!("{receipt:#?}");
    Ok(())
}
