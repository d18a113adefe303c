//! EngageLab LiveDesk backend: updates a ticket with
//! `PUT /api/v2/accounts/tickets/:ticket_id` and Basic auth.
//!
//! | unified field | EngageLab wire |
//! |---|---|
//! | title, description | `title`, `description` (both required on every update) |
//! | priority | `priority`: `low`/`medium`/`high`/`urgent` |
//! | kind | `ticket_type`: `incident`/`question`/`problem`/`task` |
//! | tags | `tags` |
//! | custom fields | `custom_fields` object `{key: value}`, values any JSON scalar; every field needs a key (ids cannot be carried) |
//! | attachments | `attachments` `[{file_url}]` |
//! | status, solved, comment, comment visibility | not supported |
//! | provider fields keyed `engagelab` | merged into the body |
//!
//! Errors: the vendor document lists no codes. Any non-2xx status or non-zero `code` is an
//! error; both `{code, message}` and `{"error": {code, message}}` are read, and a body that is
//! not JSON falls back to the HTTP status. The codes recognised whatever the status (EngageLab's
//! sibling APIs sometimes answer 200 or 400 where 404 or 429 is meant) are 40101
//! (unauthenticated), 40301 (permission denied), 40401 (not found) and 42901 (rate limited).
//!
//! ```no_run
//! use provider_engagelab::{EngageLabClient, EngageLabConfig};
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
mod updated_at;
mod wire;

use async_trait::async_trait;
use ticket_core::{
    Capabilities, Field, FieldSet, Plan, RequestPreview, TicketError, TicketId, TicketUpdate,
    TicketUpdater, UpdateReceipt,
};
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderMap, HeaderValue};
use ticket_http::{
    CodeClass, PreparedRequest, RawResponse, Route, Secrets, Transport, body_capacity,
};
use time::OffsetDateTime;

pub use crate::config::EngageLabConfig;

/// What a successful EngageLab answer confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Confirmation {
    /// `data.ticket_id`, when the answer carried one.
    pub ticket_id: Option<String>,
    /// `data.updated_at`, when it was in a form this client reads: RFC 3339; a date and time
    /// without offset (`2025-11-04 10:30:00`, read as UTC); Unix seconds or milliseconds, as a
    /// number or a string.
    pub updated_at: Option<OffsetDateTime>,
    /// `data.updated_at` as sent, whenever it was not RFC 3339 or Unix time (read as UTC, or
    /// not read at all): the caller can interpret it.
    pub updated_at_raw: Option<String>,
}

/// The registry name of this provider.
pub const PROVIDER: &str = "engagelab";

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://livedesk-api.engagelab.com";

/// The path of the update route, before the encoded ticket id.
pub const TICKETS_PATH: &str = "/api/v2/accounts/tickets/";

/// What EngageLab can carry: everything but status, solved, comment and custom field ids;
/// title and description on every update.
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
.requiring_per_custom_field(FieldSet::of(&[Field::CustomFieldKeys]));

/// Response headers that may carry a request id (EngageLab documents none; these are the
/// common names).
const REQUEST_ID_HEADERS: &[&str] = &["x-request-id", "x-trace-id"];

/// An EngageLab LiveDesk client. Cheap to share: hold one (or an `Arc<dyn TicketUpdater>`)
/// for the life of the process so its connections are reused.
pub struct EngageLabClient {
    config: EngageLabConfig,
    transport: Transport,
    /// `…/api/v2/accounts/tickets/`, parsed once.
    route: Route,
    /// Authorization, content type and accept, computed once.
    headers: HeaderMap,
}

impl std::fmt::Debug for EngageLabClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngageLabClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EngageLabClient {
    /// A client for `config`, with its own connection pool.
    pub fn new(config: EngageLabConfig) -> Result<Self, TicketError> {
        // The key, the secret and the Basic pair are scrubbed from every error and log line
        // of the transport.
        let secrets = Secrets::new();
        let (key, secret) = config.credentials();
        let auth = secrets.basic_auth(key, secret)?;
        let transport = Transport::with_optional_client(
            PROVIDER,
            config.http.clone(),
            REQUEST_ID_HEADERS,
            config.client.clone(),
        )?
        .with_secrets(secrets);
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(agent) = transport.own_user_agent() {
            headers.insert(header::USER_AGENT, agent);
        }
        Ok(Self {
            route: config.base_url.route(TICKETS_PATH),
            transport,
            headers,
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &EngageLabConfig {
        &self.config
    }

    /// Checks `update` and builds the request, without sending it.
    pub fn prepare(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<(PreparedRequest, Plan), TicketError> {
        let (wire_body, plan) = checked(update)?;
        let mut body = Vec::with_capacity(body_capacity(update));
        serde_json::to_writer(&mut body, &wire_body)
            .map_err(|e| TicketError::invalid("update", format!("cannot encode as JSON: {e}")))?;
        Ok((
            PreparedRequest::new(Method::PUT, self.route.url(id), self.headers.clone(), body),
            plan,
        ))
    }

    /// Reads one answer without checking which ticket it confirms: `Ok(updated_at)` for the
    /// documented success envelope, else the matching [`TicketError`]. Public so that recorded
    /// answers can be replayed and fuzzed; [`decode_answer`](Self::decode_answer) is what
    /// [`update`](TicketUpdater::update) uses.
    pub fn decode_response(
        &self,
        response: &RawResponse,
    ) -> Result<Option<OffsetDateTime>, TicketError> {
        self.decode(None, response).map(|c| c.updated_at)
    }

    /// Reads the answer to an update of `id`: what EngageLab confirmed, or the matching
    /// [`TicketError`]. A success for another `data.ticket_id` than `id` is a
    /// [`TicketError::MalformedResponse`] naming both ids (not retried: the caller must not
    /// believe `id` was updated). An `updated_at` in a form this client does not read is no
    /// failure: the update landed, so the receipt has `updated_at: None`, the raw text, and a
    /// warning is logged.
    pub fn decode_answer(
        &self,
        id: &TicketId,
        response: &RawResponse,
    ) -> Result<Confirmation, TicketError> {
        self.decode(Some(id), response)
    }

    fn decode(
        &self,
        id: Option<&TicketId>,
        response: &RawResponse,
    ) -> Result<Confirmation, TicketError> {
        // Every text below is scrubbed through the transport's `Secrets` (the answer carries
        // them); answers built by hand are scrubbed on the way out.
        let scrub = |e| self.transport.secrets().scrub_error(e);
        let secrets: [&str; 0] = [];
        if !response.is_success() {
            return Err(scrub(self.error_from(response, &secrets)));
        }
        let envelope: wire::Envelope<'_> = serde_json::from_slice(&response.body).map_err(|e| {
            scrub(response.malformed(
                PROVIDER,
                format!("not the documented success envelope ({e})"),
                &secrets,
            ))
        })?;
        let code = envelope
            .code
            .or_else(|| envelope.error.as_ref().and_then(|e| e.code));
        if envelope.error.is_some() || code.is_some_and(|c| c != 0) {
            return Err(scrub(self.error_from(response, &secrets)));
        }
        if code.is_none() {
            return Err(scrub(response.malformed(
                PROVIDER,
                "the envelope has no `code`",
                &secrets,
            )));
        }
        let mut confirmation = Confirmation::default();
        let Some(data) = envelope.data else {
            return Ok(confirmation);
        };
        confirmation.ticket_id = match data.ticket_id {
            Some(wire::Loose::Text(text)) => Some(text.into_owned()),
            Some(wire::Loose::Other(serde_json::Value::Number(n))) => Some(n.to_string()),
            _ => None,
        };
        if let (Some(requested), Some(confirmed)) = (id, &confirmation.ticket_id)
            && confirmed != requested.as_str()
        {
            return Err(scrub(response.malformed(
                    PROVIDER,
                    format!(
                        "EngageLab confirmed an update of ticket {confirmed:?}, not of the requested {:?}; the requested ticket may not have been updated",
                        requested.as_str()
                    ),
                    &secrets,
                )));
        }
        if let Some(value) = data.updated_at {
            let (at, exact) = match &value {
                wire::Loose::Text(text) => updated_at::read_text(text),
                wire::Loose::Other(other) => updated_at::read(other),
            };
            confirmation.updated_at = at;
            if !exact {
                let raw = match value {
                    wire::Loose::Text(text) => text.into_owned(),
                    wire::Loose::Other(other) => other.to_string(),
                };
                let raw = self.transport.secrets().scrub(&raw);
                if at.is_none() {
                    tracing::warn!(
                        provider = PROVIDER,
                        updated_at = %raw,
                        "EngageLab confirmed the update with an `updated_at` in an unknown form; kept as text"
                    );
                }
                confirmation.updated_at_raw = Some(raw);
            }
        }
        Ok(confirmation)
    }

    fn error_from(&self, response: &RawResponse, secrets: &[&str]) -> TicketError {
        let parsed = serde_json::from_slice::<wire::ErrorEnvelope>(&response.body).ok();
        let (code, message) = match parsed {
            Some(env) => match env.error {
                Some(inner) => (inner.code.or(env.code), inner.message.or(env.message)),
                None => (env.code, env.message),
            },
            None => (None, None),
        };
        let message = response.message(message.as_deref(), secrets);
        let class = code.and_then(|c| match c {
            40101 => Some(CodeClass::Unauthenticated),
            40301 => Some(CodeClass::PermissionDenied),
            40401 => Some(CodeClass::NotFound),
            42901 => Some(CodeClass::RateLimited),
            _ => None,
        });
        response.to_error(
            PROVIDER,
            class,
            code.map(Into::into),
            message,
            response.header_seconds("retry-after"),
        )
    }
}

/// Every local check of an update (`prepare` and `check` share it): the plan, then the wire
/// body, which refuses what the plan cannot see.
fn checked(update: &TicketUpdate) -> Result<(wire::UpdateTicketBody<'_>, Plan), TicketError> {
    let plan = update.plan(PROVIDER, &CAPABILITIES, wire::MAPPED_KEYS)?;
    Ok((wire::UpdateTicketBody::new(update)?, plan))
}

#[async_trait]
impl TicketUpdater for EngageLabClient {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let (request, plan) = self.prepare(id, update)?;
        Ok(self.transport.preview(&request).with_dropped(plan.dropped))
    }

    fn check(&self, _id: &TicketId, update: &TicketUpdate) -> Result<Plan, TicketError> {
        checked(update).map(|(_, plan)| plan)
    }

    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        let (request, plan) = self.prepare(id, update)?;
        let done = self
            .transport
            .execute(
                request,
                || Ok(self.prepare(id, update)?.0),
                |response| self.decode_answer(id, response),
            )
            .await?;
        Ok(UpdateReceipt::new(PROVIDER, id.clone())
            .with_updated_at(done.value.updated_at)
            .with_updated_at_raw(done.value.updated_at_raw)
            .with_confirmed_ticket_id(done.value.ticket_id)
            .with_request_id(done.request_id)
            .with_dropped(plan.dropped)
            .with_attempts(done.attempts))
    }
}
