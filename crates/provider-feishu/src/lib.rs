//! Feishu (and Lark) Helpdesk backend: updates a ticket with
//! `PUT /open-apis/helpdesk/v1/tickets/:ticket_id`, a user access token, and the helpdesk's
//! own `X-Lark-Helpdesk-Authorization` header.
//!
//! | unified field | Feishu wire |
//! |---|---|
//! | status (unified) | `status`: open → 1 awaiting response, in_progress → 2, pending → 5 awaiting user, on_hold → 4 pending, closed → 51 closed manually; solved → `solved: 2` (no status number) |
//! | status (native, [`FeishuStatus`]) | `status`: 1 awaiting response, 2 in progress, 3 queued, 4 pending, 5 awaiting user, 50 closed by bot, 51 closed manually |
//! | solved | `solved`: 2 solved, 1 unsolved |
//! | tags | `tag_names` |
//! | custom fields | `customized_fields` `[{id, value, key_name}]`, every key optional: id only, key only or both; the value as text (numbers and booleans as their JSON text; `null` refused) |
//! | comment | `comment` |
//! | comment visibility | not supported (under the lenient policy the comment is dropped with it) |
//! | title, description, priority, kind, attachments | not supported |
//! | provider fields keyed `feishu` | merged into the body (`ticket_type` stage and `channel` must be integers) |
//!
//! An update must carry at least one field. Success is `{"code":0,"msg":"success","data":{}}`;
//! a non-zero `code` is an error whatever the HTTP status: 154000 (bad request), 154003
//! (permission denied), 154004 (not found), 155000 (internal, retryable), 99991400 (rate
//! limited, with `x-ogw-ratelimit-reset`), 99991661/99991663/99991668/99991671/99991677
//! (unauthenticated; the token source gets one chance to refresh). The request id is the
//! `X-Tt-Logid` response header.
//!
//! User access tokens: a [`StaticToken`], or a [`RefreshingToken`] that refreshes on a task of
//! its own and shares its token set through a [`TokenStore`]: [`MemoryTokenStore`] (one
//! process), [`FileTokenStore`] (several processes on one host) or `RedisTokenStore` (feature
//! `redis`, several hosts).
//!
//! ```no_run
//! use provider_feishu::{FeishuClient, FeishuConfig};
//! use provider_feishu::FeishuStatus;
//! use ticket_core::{TicketId, TicketStatus, TicketUpdate, TicketUpdater};
//!
//! # async fn run() -> Result<(), ticket_core::TicketError> {
//! let config = FeishuConfig::with_static_token("u-7f1bcd13fc57d46bac21793a18e560", "7012345", "helpdesk-token")?;
//! let client = FeishuClient::new(config)?;
//! let update = TicketUpdate::builder()
//!     .status(TicketStatus::InProgress)
//!     .comment("good")
//!     .build()?;
//! // Feishu's exact statuses stay reachable:
//! let close = TicketUpdate::builder().status(FeishuStatus::ClosedByBot).build()?;
//! let receipt = client.update(&TicketId::new("6945345902185807891")?, &update).await?;
//! println!("request id {:?}", receipt.request_id);
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
mod refresh;
mod status;
mod store;
mod token;
mod wire;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use ticket_core::{
    Capabilities, Field, FieldSet, Plan, RequestPreview, TicketError, TicketId, TicketUpdate,
    TicketUpdater, UpdateReceipt,
};
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use ticket_http::{
    CodeClass, PreparedRequest, RawResponse, Route, Transport, body_capacity, sensitive_header,
    strip_scheme,
};

pub use crate::config::{FeishuConfig, Region};
pub use crate::refresh::{MAX_TOKEN_LIFETIME, RefreshingToken, RefreshingTokenBuilder, TOKEN_PATH};
pub use crate::status::FeishuStatus;
#[cfg(feature = "redis")]
pub use crate::store::RedisTokenStore;
pub use crate::store::{FileTokenStore, MemoryTokenStore, RefreshLock, TokenSet, TokenStore};
pub use crate::token::{StaticToken, UserTokenSource};

/// The registry name of this provider.
pub const PROVIDER: &str = "feishu";

/// The path of the update route, before the encoded ticket id.
pub const TICKETS_PATH: &str = "/open-apis/helpdesk/v1/tickets/";

/// The helpdesk's own authorization header.
pub const HELPDESK_AUTH_HEADER: &str = "x-lark-helpdesk-authorization";

/// What Feishu can carry: status, solved, tags, custom fields (with ids) and comment; at least
/// one field per update. `comment` is appended on every call, so it is not idempotent: an
/// update carrying one is not retried after an error that may have followed its application.
pub const CAPABILITIES: Capabilities = Capabilities::new(FieldSet::of(&[
    Field::Status,
    Field::Solved,
    Field::Tags,
    Field::CustomFields,
    Field::CustomFieldIds,
    Field::CustomFieldKeys,
    Field::Comment,
]))
.requiring_any_field()
.not_idempotent(FieldSet::of(&[Field::Comment]));

/// Feishu codes that mean the user access token was refused (missing, invalid, malformed,
/// expired). They often arrive with HTTP 200.
pub const TOKEN_REJECTED_CODES: &[i64] = &[99991661, 99991663, 99991668, 99991671, 99991677];

/// Feishu's rate-limit code, with HTTP 429 (or 400 on older gateways).
pub const RATE_LIMIT_CODE: i64 = 99991400;

const REQUEST_ID_HEADERS: &[&str] = &["x-tt-logid"];

/// A Feishu Helpdesk client. Cheap to share: hold one (or an `Arc<dyn TicketUpdater>`) for
/// the life of the process so its connections are reused.
pub struct FeishuClient {
    config: FeishuConfig,
    transport: Transport,
    /// `…/open-apis/helpdesk/v1/tickets/`, parsed once.
    route: Route,
    /// The `Authorization` value of the last token used, so it is formatted once per token.
    bearer: Mutex<Option<(SecretString, HeaderValue)>>,
    /// Every header, computed once (the helpdesk header is sensitive); `Authorization` comes
    /// first with a redacted placeholder value, replaced in place by each request's token.
    headers: HeaderMap,
}

impl std::fmt::Debug for FeishuClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeishuClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The `Authorization` value of a preview without a token.
fn redacted_bearer() -> HeaderValue {
    let mut value = HeaderValue::from_static("Bearer <redacted>");
    value.set_sensitive(true);
    value
}

impl FeishuClient {
    /// A client for `config`, with its own connection pool.
    pub fn new(config: FeishuConfig) -> Result<Self, TicketError> {
        // The helpdesk token, its base64 pair, and every user access token used are scrubbed
        // from every error and log line of the transport (in the token source's set, when it
        // has one, so that its refreshes are scrubbed of them too).
        let secrets = config.token_source.secrets().unwrap_or_default();
        let helpdesk = secrets.add_pair(&config.helpdesk_id, config.helpdesk_token());
        let transport = Transport::with_optional_client(
            PROVIDER,
            config.http.clone(),
            REQUEST_ID_HEADERS,
            config.client.clone(),
        )?
        .with_secrets(secrets);
        let helpdesk = sensitive_header(helpdesk, "the helpdesk credentials")?;
        let mut headers = HeaderMap::with_capacity(5);
        headers.insert(header::AUTHORIZATION, redacted_bearer());
        headers.insert(HeaderName::from_static(HELPDESK_AUTH_HEADER), helpdesk);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(agent) = transport.own_user_agent() {
            headers.insert(header::USER_AGENT, agent);
        }
        Ok(Self {
            route: config.base_url.route(TICKETS_PATH),
            bearer: Mutex::new(None),
            transport,
            headers,
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &FeishuConfig {
        &self.config
    }

    /// Checks `update` and builds the request with `token` (or a redacted placeholder when
    /// `None`, for previews), without sending it.
    pub fn prepare(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        token: Option<&SecretString>,
    ) -> Result<(PreparedRequest, Plan), TicketError> {
        let (wire_body, plan) = checked(update)?;
        let mut body = Vec::with_capacity(body_capacity(update));
        serde_json::to_writer(&mut body, &wire_body)
            .map_err(|e| TicketError::invalid("update", format!("cannot encode as JSON: {e}")))?;
        // A copy of the constant map, whose first entry gets this token: replacing a value
        // keeps its place, so `Authorization` is still sent first.
        let mut headers = self.headers.clone();
        headers.insert(header::AUTHORIZATION, self.bearer(token)?);
        let mut request = PreparedRequest::new(Method::PUT, self.route.url(id), headers, body);
        if !CAPABILITIES.is_idempotent(plan.carried) {
            request = request.not_idempotent();
        }
        Ok((request, plan))
    }

    /// The sensitive `Authorization: Bearer …` value for `token` (a redacted placeholder when
    /// `None`), reused while the token stays the same.
    fn bearer(&self, token: Option<&SecretString>) -> Result<HeaderValue, TicketError> {
        let Some(token) = token else {
            return Ok(redacted_bearer());
        };
        let mut cache = self
            .bearer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((cached, value)) = cache.as_ref()
            && cached.expose_secret() == token.expose_secret()
        {
            return Ok(value.clone());
        }
        // A token given with its scheme (`Bearer u-…`) or a trailing newline is sent once,
        // cleanly; the transport scrubs it from everything it returns.
        let clean = strip_scheme(token.expose_secret().trim(), "Bearer");
        self.transport.secrets().add_received(&clean);
        let value = sensitive_header(format!("Bearer {clean}"), "the user access token")?;
        *cache = Some((token.clone(), value.clone()));
        Ok(value)
    }

    /// One execution (with retries) under the current token. On failure, also returns the
    /// token when Feishu refused it, so the caller can refresh.
    async fn run(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        attempts: &AtomicU32,
    ) -> Result<(Option<String>, Plan), (TicketError, Option<SecretString>)> {
        let token = self
            .config
            .token_source
            .access_token()
            .await
            .map_err(|e| (e, None))?;
        let (request, plan) = self
            .prepare(id, update, Some(&token))
            .map_err(|e| (e, None))?;
        match self
            .transport
            .execute_counting(
                request,
                || Ok(self.prepare(id, update, Some(&token))?.0),
                |r| self.decode_response(r, &token),
                attempts,
            )
            .await
        {
            Ok(((), request_id)) => Ok((request_id, plan)),
            Err(err) => {
                let refused = err
                    .server()
                    .and_then(|s| s.code.as_ref())
                    .and_then(|c| c.as_i64())
                    .is_some_and(|c| TOKEN_REJECTED_CODES.contains(&c));
                Err((err, refused.then_some(token)))
            }
        }
    }

    /// Reads one answer sent with `token`: `Ok(())` for the documented success envelope, else
    /// the matching [`TicketError`] (with `token` scrubbed from any excerpt). Public so that
    /// recorded answers can be replayed and fuzzed.
    pub fn decode_response(
        &self,
        response: &RawResponse,
        token: &SecretString,
    ) -> Result<(), TicketError> {
        // Scrubbed through the transport's `Secrets` (the answer carries them); answers built by
        // hand are scrubbed on the way out.
        self.transport.secrets().add_received(token.expose_secret());
        self.decode(response)
            .map_err(|e| self.transport.secrets().scrub_error(e))
    }

    fn decode(&self, response: &RawResponse) -> Result<(), TicketError> {
        let secrets: [&str; 0] = [];
        let envelope = serde_json::from_slice::<wire::Envelope<'_>>(&response.body);
        let (code, msg, data) = match envelope {
            Ok(env) => (env.code, env.msg, env.data),
            Err(e) if response.is_success() => {
                return Err(response.malformed(
                    PROVIDER,
                    format!("not the documented {{code, msg, data}} envelope ({e})"),
                    &secrets,
                ));
            }
            Err(_) => (None, None, None),
        };
        if response.is_success() && code == Some(0) {
            if data.is_some_and(|d| d != wire::Data::Object) {
                return Err(response.malformed(PROVIDER, "`data` is not an object", &secrets));
            }
            return Ok(());
        }
        if response.is_success() && code.is_none() {
            return Err(response.malformed(PROVIDER, "the envelope has no `code`", &secrets));
        }
        let message = response.message(msg.as_deref(), &secrets);
        let class = code.and_then(|c| match c {
            RATE_LIMIT_CODE => Some(CodeClass::RateLimited),
            c if TOKEN_REJECTED_CODES.contains(&c) => Some(CodeClass::Unauthenticated),
            154003 | 99991672 | 99991679 => Some(CodeClass::PermissionDenied),
            154004 => Some(CodeClass::NotFound),
            _ => None,
        });
        let retry_after = response
            .header_seconds("x-ogw-ratelimit-reset")
            .or_else(|| response.header_seconds("retry-after"));
        Err(response
            .to_error(PROVIDER, class, code.map(Into::into), message, retry_after)
            .with_rate_limit(response.header_rate("x-ogw-ratelimit-limit")))
    }
}

/// Every local check of an update (`prepare` and `check` share it): the plan, then the wire
/// body, which refuses what the plan cannot see (a status or raw integer Feishu cannot take).
fn checked(update: &TicketUpdate) -> Result<(wire::UpdateTicketBody<'_>, Plan), TicketError> {
    let plan = update.plan(PROVIDER, &CAPABILITIES, wire::MAPPED_KEYS)?;
    Ok((wire::UpdateTicketBody::new(update, &plan)?, plan))
}

#[async_trait]
impl TicketUpdater for FeishuClient {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let (request, plan) = self.prepare(id, update, None)?;
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
        let attempts = AtomicU32::new(0);
        let result = match self.run(id, update, &attempts).await {
            // Feishu refused the token: one refresh, then one more execution.
            Err((err, Some(rejected))) => {
                if self.config.token_source.refresh(&rejected).await? {
                    tracing::info!(
                        provider = PROVIDER,
                        "user access token refreshed after refusal"
                    );
                    self.run(id, update, &attempts).await.map_err(|(e, _)| e)
                } else {
                    Err(err)
                }
            }
            other => other.map_err(|(e, _)| e),
        };
        let (request_id, plan) = result?;
        Ok(UpdateReceipt::new(PROVIDER, id.clone())
            .with_request_id(request_id)
            .with_dropped(plan.dropped)
            .with_attempts(attempts.load(Ordering::Relaxed)))
    }
}
