//! EngageLab LiveDesk backend: updates a ticket with
//! `PUT /api/v2/accounts/tickets/:ticket_id` and reads one with
//! `GET /api/v2/accounts/tickets/:ticket_id` (or `/v2/…`, [`ReadPath`]), Basic auth on both.
//!
//! | unified field | EngageLab wire |
//! |---|---|
//! | title, description | `title`, `description` (both required on every update) |
//! | priority | `priority`: `low`/`medium`/`high`/`urgent`; required on every update too, since the vendor document says an omitted one becomes `medium` |
//! | kind | `ticket_type`: `incident`/`question`/`problem`/`task` |
//! | tags | `tags` |
//! | custom fields | `custom_fields` object `{key: value}`, values any JSON scalar; every field needs a key (ids cannot be carried) |
//! | attachments | `attachments` `[{file_url}]` |
//! | status, solved, comment, comment visibility | not supported |
//! | provider fields keyed `engagelab` | merged into the body |
//!
//! An update without title, description or priority is refused before anything is sent, unless
//! it runs in merge mode ([`TicketUpdateBuilder::merge`](ticket_core::TicketUpdateBuilder::merge)):
//! then the ticket is read first and what the update leaves out is kept. The update replaces
//! `tags` and `custom_fields` whole; merge mode sends them merged with the ticket's.
//!
//! Errors: the vendor document lists no codes. Any non-2xx status or non-zero `code` is an
//! error; both `{code, message}` and `{"error": {code, message}}` are read, and a body that is
//! not JSON falls back to the HTTP status. The codes recognised whatever the status (EngageLab's
//! sibling APIs sometimes answer 200 or 400 where 404 or 429 is meant) are 40101
//! (unauthenticated), 40301 (permission denied), 40401 (not found) and 42901 (rate limited).
//!
//! The client is the workspace's kit ([`JsonClient`] of [`EngageLab`]): this crate gives the
//! wire mapping and the decoder, the kit everything else.
//!
//! ```no_run
//! use helpdesk_provider_engagelab::{EngageLabClient, EngageLabConfig};
//! use ticket_core::{Priority, TicketId, TicketUpdate, TicketUpdater};
//!
//! # async fn run() -> Result<(), ticket_core::TicketError> {
//! let client = EngageLabClient::new(EngageLabConfig::new("api-key", "api-secret")?)?;
//! let update = TicketUpdate::builder()
//!     .title("Printer jammed (updated)")
//!     .description("A4 paper stuck; a technician is on the way.")
//!     .priority(Priority::Medium)
//!     .build()?;
//! let receipt = client.update(&TicketId::new("tk_20251104_789abc")?, &update).await?;
//! println!("updated at {:?}", receipt.updated_at);
//! // Change only the tags: the ticket is read first, its title, description and priority kept.
//! let tag = TicketUpdate::builder().merge().add_tag("vip").verify().build()?;
//! let receipt = client.update(&TicketId::new("tk_20251104_789abc")?, &tag).await?;
//! assert!(receipt.verification.is_some_and(|v| v.is_verified()));
//! # Ok(()) }
//! ```
// Library code never panics on input: these are errors here (tests may use them).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The README's examples are compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod config;
mod read;
mod updated_at;
mod wire;

use ticket_core::{
    Capabilities, ErrorKind, Field, FieldSet, Plan, TicketError, TicketId, TicketSnapshot,
    TicketUpdate, UpdateReceipt,
};
use ticket_http::{Credential, FromConfig, JsonApi, JsonClient, JsonClientBuilder, RawResponse};

pub use crate::config::EngageLabConfig;
pub use crate::read::{BARE_READ_ROUTE, READ_ROUTE, ReadPath};
pub use crate::wire::UpdateTicketBody;

/// The registry name of this provider.
pub const PROVIDER: &str = "engagelab";

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://livedesk-api.engagelab.com";

/// The update route.
pub const ROUTE: &str = "/api/v2/accounts/tickets/{id}";

/// What EngageLab can carry: everything but status, solved, comment and custom field ids;
/// title and description on every update, and priority (an omitted one is reset to
/// `medium`); tags and custom fields replaced whole. It reads (no documented rate).
pub const CAPABILITIES: Capabilities = Capabilities::new(FieldSet::of(&[
    Field::Title,
    Field::Description,
    Field::Priority,
    Field::Kind,
    Field::Tags,
    Field::CustomFields,
    Field::CustomFieldKeys,
    Field::Attachments,
]))
.requiring(FieldSet::of(&[Field::Title, Field::Description]))
.resetting_when_omitted(FieldSet::of(&[Field::Priority]))
.replacing_whole(FieldSet::of(&[Field::Tags, Field::CustomFields]))
.requiring_per_custom_field(FieldSet::of(&[Field::CustomFieldKeys]))
.reading(None);

/// An EngageLab LiveDesk client: `EngageLabClient::new(config)`. Cheap to share: hold one (or
/// an `Arc<dyn TicketUpdater>`) for the life of the process so its connections are reused.
pub type EngageLabClient = JsonClient<EngageLab>;

/// EngageLab's ticket update API, for the kit's [`JsonClient`]; holds the configuration.
#[derive(Debug)]
pub struct EngageLab {
    config: EngageLabConfig,
}

impl EngageLab {
    /// The configuration in use (`client.api().config()`).
    pub fn config(&self) -> &EngageLabConfig {
        &self.config
    }
}

impl FromConfig for EngageLab {
    type Config = EngageLabConfig;

    fn builder(config: EngageLabConfig) -> Result<JsonClientBuilder<Self>, TicketError> {
        let (key, secret) = config.credentials();
        let auth = Credential::basic(key, secret, "the EngageLab API credentials")?;
        Ok(JsonClient::builder(
            Self {
                config: config.clone(),
            },
            config.base_url,
        )
        .credential(auth)
        .http(config.http)
        .client(config.client))
    }
}

impl JsonApi for EngageLab {
    const PROVIDER: &'static str = PROVIDER;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    const MAPPED_KEYS: &'static [&'static str] = wire::MAPPED_KEYS;
    const ROUTE: &'static str = ROUTE;
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ]
    }
    /// EngageLab documents none; these are the common names.
    fn request_id_headers(&self) -> &'static [&'static str] {
        &["x-request-id", "x-trace-id"]
    }
    /// The vendor's curl example of the read sends both.
    fn read_headers(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ]
    }

    type Body<'a> = wire::UpdateTicketBody<'a>;

    fn body<'a>(
        &self,
        _id: &TicketId,
        update: &'a TicketUpdate,
        _plan: &Plan,
    ) -> Result<Self::Body<'a>, TicketError> {
        wire::UpdateTicketBody::new(update)
    }

    /// The documented success envelope gives what it confirmed; anything else the matching
    /// error. An `updated_at` in a form this client does not read is no failure (the update
    /// landed): the receipt then has its raw text.
    fn decode(
        &self,
        receipt: UpdateReceipt,
        response: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        if !response.is_success() {
            return Err(error_from(response));
        }
        let envelope: wire::Envelope<'_> = serde_json::from_slice(&response.body).map_err(|e| {
            response.malformed(
                PROVIDER,
                format!("not the documented success envelope ({e})"),
            )
        })?;
        let code = envelope
            .code
            .or_else(|| envelope.error.as_ref().and_then(|e| e.code));
        if envelope.error.is_some() || code.is_some_and(|c| c != 0) {
            return Err(error_from(response));
        }
        if code.is_none() {
            return Err(response.malformed(PROVIDER, "the envelope has no `code`"));
        }
        let Some(data) = envelope.data else {
            return Ok(receipt);
        };
        let ticket_id = match data.ticket_id {
            Some(wire::Loose::Text(text)) => Some(text.into_owned()),
            Some(wire::Loose::Other(serde_json::Value::Number(n))) => Some(n.to_string()),
            _ => None,
        };
        let (updated_at, raw) = match data.updated_at {
            None => (None, None),
            Some(value) => {
                let (at, exact) = match &value {
                    wire::Loose::Text(text) => updated_at::read_text(text),
                    wire::Loose::Other(other) => updated_at::read(other),
                };
                let raw = (!exact).then(|| match value {
                    wire::Loose::Text(text) => text.into_owned(),
                    wire::Loose::Other(other) => other.to_string(),
                });
                (at, raw)
            }
        };
        Ok(receipt
            .with_confirmed_ticket_id(ticket_id)
            .with_updated_at(updated_at)
            .with_updated_at_raw(raw))
    }

    /// The configured [`ReadPath`].
    fn read_route(&self) -> Option<&str> {
        Some(self.route_for_reads())
    }

    /// `{"code":0,"message":"Success","data":{…}}` as a snapshot; errors as for an update.
    fn decode_read(
        &self,
        id: &TicketId,
        response: &RawResponse,
    ) -> Result<TicketSnapshot, TicketError> {
        read::decode(id, response)
    }
}

impl EngageLab {
    /// See [`JsonApi::read_route`].
    fn route_for_reads(&self) -> &'static str {
        self.config.read_path.route()
    }
}

/// The error for a refusal: both `{code, message}` and `{"error": {code, message}}` are read;
/// the codes EngageLab's sibling APIs use win over the HTTP status.
pub(crate) fn error_from(response: &RawResponse) -> TicketError {
    let parsed = serde_json::from_slice::<wire::ErrorEnvelope>(&response.body).ok();
    let (code, message) = match parsed {
        Some(env) => match env.error {
            Some(inner) => (inner.code.or(env.code), inner.message.or(env.message)),
            None => (env.code, env.message),
        },
        None => (None, None),
    };
    let message = response.message(message.as_deref());
    let kind = code.and_then(|c| match c {
        40101 => Some(ErrorKind::Unauthenticated),
        40301 => Some(ErrorKind::PermissionDenied),
        40401 => Some(ErrorKind::NotFound),
        42901 => Some(ErrorKind::RateLimited),
        _ => None,
    });
    response.to_error(
        PROVIDER,
        kind,
        code.map(Into::into),
        message,
        response.header_seconds("retry-after"),
    )
}
