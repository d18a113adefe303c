//! Updates a real EngageLab LiveDesk ticket through the facade.
//!
//! ```sh
//! TICKET_ENGAGELAB_API_KEY=… TICKET_ENGAGELAB_API_SECRET=… EXAMPLE_TICKET_ID=tk_… \
//!     cargo run --example engagelab
//! ```
//!
//! Without those variables it names the missing ones and exits with status 2.

use helpdesk::{Config, Priority, TicketId, TicketKind, TicketUpdate};

const REQUIRED: &[&str] = &[
    "TICKET_ENGAGELAB_API_KEY",
    "TICKET_ENGAGELAB_API_SECRET",
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
            "this example updates a real EngageLab ticket; set {} (and optionally TICKET_ENGAGELAB_BASE_URL).\n\
             To try the library without credentials, run `cargo run --example quickstart`.",
            missing.join(", ")
        );
        std::process::exit(2);
    }
    let updater = helpdesk::connect(&Config::from_env().with_provider("engagelab"))?;
    let id = TicketId::new(std::env::var("EXAMPLE_TICKET_ID")?)?;
    let update = TicketUpdate::builder()
        .title("Printer jammed (updated)")
        .description("Paper stuck in the output tray.\nA technician is on the way.")
        .priority(Priority::Medium)
        .kind(TicketKind::Incident)
        .tags(["printer", "hardware"])
        .custom_field("device_sn", "PRN-2024-001")
        .build()?;
    println!("{}\n", updater.preview(&id, &update)?);
    let receipt = updater.update(&id, &update).await?;
    println!("{receipt:#?}");
    Ok(())
}
