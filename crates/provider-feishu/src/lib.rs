//! Feishu (and Lark) Helpdesk backend: updates a ticket with
//! `PUT /open-apis/helpdesk/v1/tickets/:ticket_id`, a user access token, and the helpdesk's
//! own `X-Lark-Helpdesk-Authorization` header; reads one with `GET` on the same path, a
//! **tenant** access token ([`TenantToken`], from the app's id and secret) and the same
//! helpdesk header. The user access token is never sent to a read; without app credentials a
//! client updates, and every read fails with a configuration error naming `app_id` and
//! `app_secret`.
//!
//! | read (`ticket_v2`) | unified |
//! |---|---|
//! | `status` 1 created, 3 queued | open (native `awaiting_response`, `queued`) |
//! | `status` 2, 4, 5 | in_progress, on_hold (native `pending`), pending (native `awaiting_user`) |
//! | `status` 50, 51, 52 | closed (native `closed_by_bot`, `closed_manually`, `closed_by_user`) |
//! | `solve` 2 / 1 | solved true / false |
//! | `tags[].name` | tags |
//! | `customized_fields[]` | custom fields (id, key, display name, value); a dropdown's label with its option tag from the field definitions |
//! | `comments.content` | the latest comment |
//! | `updated_at` (ms; `-1` unset) | updated_at |
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
//! The client is the workspace's kit ([`JsonClient`] of [`Feishu`]): this crate gives the wire
//! mapping, the decoder and the token sources, the kit everything else.
//!
//! User access tokens: a [`StaticToken`], or a [`RefreshingToken`] that refreshes on a task of
//! its own and shares its token set through a [`TokenStore`]: [`MemoryTokenStore`] (one
//! process), [`FileTokenStore`] (several processes on one host) or `RedisTokenStore` (feature
//! `redis`, several hosts).
//!
//! ```no_run
//! use helpdesk_provider_feishu::{FeishuClient, FeishuConfig};
//! use helpdesk_provider_feishu::FeishuStatus;
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
mod fields;
mod read;
mod status;
mod tenant;
mod token;
mod wire;

use ticket_core::{
    Capabilities, ErrorKind, Field, FieldSet, Plan, TicketError, TicketId, TicketSnapshot,
    TicketUpdate, UpdateReceipt,
};
use ticket_http::{
    BoxFuture, Credential, FromConfig, JsonApi, JsonClient, JsonClientBuilder, RawResponse, Reads,
};

pub use crate::config::{FeishuConfig, Region};
pub use crate::fields::FIELDS_ROUTE;
pub use crate::read::READ_ROUTE;
pub use crate::status::FeishuStatus;
pub use crate::tenant::{
    TENANT_TOKEN_PATH, TENANT_TOKEN_RENEW_BEFORE, TenantToken, TenantTokenBuilder,
};
#[cfg(feature = "redis")]
pub use crate::token::RedisTokenStore;
pub use crate::token::{
    DEFAULT_LOCK_TIMEOUT, FileTokenStore, MemoryTokenStore, RefreshLock, TokenSet, TokenStore,
};
pub use crate::token::{MAX_TOKEN_LIFETIME, RefreshingToken, RefreshingTokenBuilder, TOKEN_PATH};
pub use crate::wire::UpdateTicketBody;
pub use ticket_http::StaticToken;
/// Feishu's user access tokens come from a [`TokenSource`](ticket_http::TokenSource): this is
/// its name here.
pub use ticket_http::TokenSource as UserTokenSource;

/// The registry name of this provider.
pub const PROVIDER: &str = "feishu";

/// The update route.
pub const ROUTE: &str = "/open-apis/helpdesk/v1/tickets/{id}";

/// The helpdesk's own authorization header.
pub const HELPDESK_AUTH_HEADER: &str = "x-lark-helpdesk-authorization";

/// What Feishu can carry: status, solved, tags, custom fields (with ids) and comment; at least
/// one field per update. `comment` is appended on every call, so it is not idempotent: an
/// update carrying one is not retried after an error that may have followed its application.
/// `tag_names` replaces the tags; custom fields are set one by one (each item names one
/// field). It reads, at the Get Ticket page's 10 reads a second.
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
.not_idempotent(FieldSet::of(&[Field::Comment]))
.replacing_whole(FieldSet::of(&[Field::Tags]))
.reading(Some(READ_RATE));

/// The Get Ticket page's rate limit: 10 reads a second.
pub const READ_RATE: u32 = 10;

/// Why a client without app credentials cannot read (the configuration error every read gets).
pub const READ_NEEDS_APP: &str = "reading Feishu tickets (and so merge mode and verification) \
    needs a tenant access token, made from the app's credentials: set `app_id` and `app_secret` \
    (FeishuConfig::with_app_credentials); the user access token of updates is never sent to a read";

/// Feishu codes that mean the user access token was refused (missing, invalid, malformed,
/// expired). They often arrive with HTTP 200.
pub const TOKEN_REJECTED_CODES: &[i64] = &[99991661, 99991663, 99991668, 99991671, 99991677];

/// Feishu's rate-limit code, with HTTP 429 (or 400 on older gateways).
pub const RATE_LIMIT_CODE: i64 = 99991400;

/// A Feishu Helpdesk client: `FeishuClient::new(config)`. Cheap to share: hold one (or an
/// `Arc<dyn TicketUpdater>`) for the life of the process so its connections are reused.
pub type FeishuClient = JsonClient<Feishu>;

/// Feishu's ticket API, for the kit's [`JsonClient`]; holds the configuration and the custom
/// field definitions its reads have looked up.
#[derive(Debug)]
pub struct Feishu {
    config: FeishuConfig,
    definitions: fields::Definitions,
}

impl Feishu {
    /// The configuration in use (`client.api().config()`).
    pub fn config(&self) -> &FeishuConfig {
        &self.config
    }
}

impl FromConfig for Feishu {
    type Config = FeishuConfig;

    /// The user access token from the config's source, first; then the helpdesk's header.
    /// Reads carry the tenant token instead of the user's (made from the app's credentials,
    /// sharing the client's secrets), or are unavailable without one.
    fn builder(config: FeishuConfig) -> Result<JsonClientBuilder<Self>, TicketError> {
        let helpdesk = Credential::pair_header(
            HELPDESK_AUTH_HEADER,
            &config.helpdesk_id,
            config.helpdesk_token(),
            "the Feishu helpdesk token",
        )?;
        let tenant = config.tenant_source()?;
        let builder = JsonClient::builder(
            Self {
                config: config.clone(),
                definitions: fields::Definitions::default(),
            },
            config.base_url,
        )
        .token_source(config.token_source)
        .credential(helpdesk)
        .http(config.http)
        .client(config.client);
        Ok(match tenant {
            Some(source) => builder.read_token_source(source),
            None => builder.read_unavailable(READ_NEEDS_APP),
        })
    }
}

impl JsonApi for Feishu {
    const PROVIDER: &'static str = PROVIDER;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    const MAPPED_KEYS: &'static [&'static str] = wire::MAPPED_KEYS;
    const ROUTE: &'static str = ROUTE;
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("accept", "application/json"),
        ]
    }
    fn request_id_headers(&self) -> &'static [&'static str] {
        &["x-tt-logid"]
    }

    type Body<'a> = wire::UpdateTicketBody<'a>;

    fn body<'a>(
        &self,
        _id: &TicketId,
        update: &'a TicketUpdate,
        plan: &Plan,
    ) -> Result<Self::Body<'a>, TicketError> {
        wire::UpdateTicketBody::new(update, plan)
    }

    /// `{"code":0,"msg":"success","data":{}}` is success; a non-zero `code` is an error
    /// whatever the HTTP status.
    fn decode(
        &self,
        receipt: UpdateReceipt,
        response: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        let envelope = serde_json::from_slice::<wire::Envelope<'_>>(&response.body);
        let (code, msg, data) = match envelope {
            Ok(env) => (env.code, env.msg, env.data),
            Err(e) if response.is_success() => {
                return Err(response.malformed(
                    PROVIDER,
                    format!("not the documented {{code, msg, data}} envelope ({e})"),
                ));
            }
            Err(_) => (None, None, None),
        };
        if response.is_success() && code == Some(0) {
            if data.is_some_and(|d| d != wire::Data::Object) {
                return Err(response.malformed(PROVIDER, "`data` is not an object"));
            }
            return Ok(receipt);
        }
        if response.is_success() && code.is_none() {
            return Err(response.malformed(PROVIDER, "the envelope has no `code`"));
        }
        Err(feishu_error(response, code, msg.as_deref()))
    }

    fn read_route(&self) -> Option<&str> {
        Some(READ_ROUTE)
    }

    /// The Get Ticket page's `ticket_v2` (see the crate docs for how it maps).
    fn decode_read(
        &self,
        id: &TicketId,
        response: &RawResponse,
    ) -> Result<TicketSnapshot, TicketError> {
        read::decode(id, response)
    }

    /// Looks up the custom field definitions, so that a dropdown's label names its option.
    fn complete_read<'a>(
        &'a self,
        snapshot: TicketSnapshot,
        reads: Reads<'a, Self>,
    ) -> BoxFuture<'a, Result<TicketSnapshot, TicketError>> {
        Box::pin(fields::complete(self, snapshot, reads))
    }

    /// Only a bearer token's own refusals (the user's on an update, the tenant's on a read):
    /// the helpdesk token's are not a reason to refresh.
    fn refuses_token(&self, err: &TicketError) -> bool {
        err.server()
            .and_then(|s| s.code.as_ref())
            .and_then(|c| c.as_i64())
            .is_some_and(|c| TOKEN_REJECTED_CODES.contains(&c))
    }
}

/// The error of a refusal: the code's kind (rate limit, refused token, permission, not found)
/// over the HTTP status, Feishu's wait and stated rate kept.
pub(crate) fn feishu_error(
    response: &RawResponse,
    code: Option<i64>,
    msg: Option<&str>,
) -> TicketError {
    let message = response.message(msg);
    let kind = code.and_then(|c| match c {
        RATE_LIMIT_CODE => Some(ErrorKind::RateLimited),
        c if TOKEN_REJECTED_CODES.contains(&c) => Some(ErrorKind::Unauthenticated),
        154003 | 99991672 | 99991679 => Some(ErrorKind::PermissionDenied),
        154004 => Some(ErrorKind::NotFound),
        _ => None,
    });
    let retry_after = response
        .header_seconds("x-ogw-ratelimit-reset")
        .or_else(|| response.header_seconds("retry-after"));
    response
        .to_error(PROVIDER, kind, code.map(Into::into), message, retry_after)
        .with_rate_limit(response.header_rate("x-ogw-ratelimit-limit"))
}
