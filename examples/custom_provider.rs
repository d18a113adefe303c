//! Adds a helpdesk of your own: implement `TicketUpdater`, register a factory by name, then
//! select it from configuration like a built-in one.
//!
//! ```sh
//! cargo run --example custom_provider
//! ```

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use helpdesk::{
    Capabilities, Config, ConfigKey, Field, FieldSet, RequestPreview, Settings, TicketError,
    TicketId, TicketUpdate, TicketUpdater, UpdateReceipt, ValueKind,
};

/// An in-house desk that keeps a log of titles and comments.
struct Logbook {
    owner: String,
    entries: Mutex<Vec<String>>,
}

const CAPS: Capabilities =
    Capabilities::new(FieldSet::of(&[Field::Title, Field::Comment])).requiring_any_field();

#[async_trait]
impl TicketUpdater for Logbook {
    fn provider(&self) -> &str {
        "logbook"
    }

    fn capabilities(&self) -> Capabilities {
        CAPS
    }

    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let plan = update.plan("logbook", &CAPS, &[])?;
        let line = format!("{id}: {:?} / {:?}", update.title(), update.comment());
        Ok(
            RequestPreview::new("APPEND", format!("logbook://{}", self.owner), vec![], line)
                .with_dropped(plan.dropped),
        )
    }

    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        let preview = self.preview(id, update)?;
        self.entries
            .lock()
            .map_err(|_| TicketError::config("logbook poisoned"))?
            .push(preview.body);
        Ok(UpdateReceipt::new("logbook", id.clone()).with_dropped(preview.dropped))
    }
}

/// The one key `build_logbook` reads; any other is reported as unknown by the facade.
const LOGBOOK_KEYS: &[ConfigKey] = &[ConfigKey::new(
    "owner",
    ValueKind::Text,
    "required: who keeps the logbook",
)];

/// Reads the `owner` key.
fn build_logbook(settings: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    Ok(Arc::new(Logbook {
        owner: settings.required("owner")?,
        entries: Mutex::new(Vec::new()),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    helpdesk::register("logbook", LOGBOOK_KEYS, build_logbook)?;
    println!("providers: {}", helpdesk::providers().join(", "));

    let config = Config::from_map([("provider", "logbook"), ("logbook.owner", "ops")]);
    let updater = helpdesk::connect(&config)?;
    let update = TicketUpdate::builder()
        .title("Printer jammed")
        .comment("Technician dispatched")
        .tags(["printer"])
        .lenient()
        .build()?;
    let receipt = updater.update(&TicketId::new("42")?, &update).await?;
    println!(
        "{} updated ticket {}; dropped: {:?}",
        receipt.provider, receipt.ticket_id, receipt.dropped
    );
    Ok(())
}
