//! Everything a provider author needs, from this one dependency.
//!
//! - Re-exports, at the versions this crate uses: the whole of `ticket-http` (hardened client,
//!   [`Transport`] with retries, [`BaseUrl::route_template`], [`Credentials`] for Basic, Bearer
//!   or custom-header auth with every form of the secret listed for scrubbing, previews,
//!   error mapping), `async_trait`, `secrecy`, `serde_json` and `time`. The domain types are
//!   at the crate root.
//! - [`JsonApi`] and [`JsonClient`]: for a helpdesk that takes one JSON request per update,
//!   describe the body and the answer; the client does the rest of [`TicketUpdater`]
//!   (planning, request building, preview, retries, receipt).
//! - [`json_error`]: the matching [`TicketError`] for an error answer whose JSON carries a
//!   code and a message at known places, secrets scrubbed.
//!
//! A complete provider written with the kit alone: `examples/provider-zendesk` in the
//! repository (its conformance test uses the `testkit` feature).

use std::fmt;
use std::time::Duration;

pub use async_trait::async_trait;
pub use secrecy::{self, ExposeSecret, SecretString};
pub use serde_json;
/// `ticket-http` as a module.
pub use ticket_http as http;
pub use ticket_http::*;
pub use time;

use serde_json::Value;
use ticket_core::{
    Capabilities, ErrorCode, Plan, TicketError, TicketId, TicketUpdate, TicketUpdater,
    UpdateReceipt,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};

/// One helpdesk's JSON update API, described as data and two functions. Wrap it in a
/// [`JsonClient`] to get a [`TicketUpdater`].
pub trait JsonApi: Send + Sync + 'static {
    /// The registry name, such as `"zendesk"`.
    const PROVIDER: &'static str;
    /// What the API can carry.
    const CAPABILITIES: Capabilities;
    /// The wire keys filled from unified fields: raw provider fields may not use them.
    const MAPPED_KEYS: &'static [&'static str];
    /// The HTTP method of an update. Default: `PUT`.
    const METHOD: Method = Method::PUT;
    /// Response headers that may carry a request id, first match wins.
    const REQUEST_ID_HEADERS: &'static [&'static str] = &["x-request-id"];

    /// The request body for `update`, already checked by [`TicketUpdate::plan`]: map the fields
    /// of [`Plan::carried`], and merge [`TicketUpdate::provider_fields`] where they belong.
    fn body(&self, update: &TicketUpdate, plan: &Plan) -> Result<Value, TicketError>;

    /// Reads one answer: when the update landed (if the API says), or the matching error.
    /// Nothing to scrub by hand: the client registers the credentials' secrets with its
    /// transport, and every error (and any text quoted from the answer) passes through that
    /// one scrubbing point ([`Secrets`]).
    fn decode(&self, response: &RawResponse) -> Result<Option<OffsetDateTime>, TicketError>;
}

/// A [`TicketUpdater`] for a [`JsonApi`]: one connection pool, the route, the credentials and
/// the JSON content type computed once.
pub struct JsonClient<A> {
    api: A,
    transport: Transport,
    route: Route,
    headers: HeaderMap,
    credentials: Credentials,
}

impl<A> fmt::Debug for JsonClient<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonClient")
            .field("transport", &self.transport)
            .field("route", &self.route)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl<A: JsonApi> JsonClient<A> {
    /// A client of `api` at `base_url` (`https://`, or `http://` to loopback only), for the
    /// route `template` (such as `/api/v2/tickets/{id}.json`).
    pub fn new(
        api: A,
        base_url: &str,
        template: &str,
        credentials: Credentials,
        http: HttpOptions,
    ) -> Result<Self, TicketError> {
        let mut headers = HeaderMap::with_capacity(2);
        credentials.apply(&mut headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // Every form of the credentials' secrets is scrubbed from every error, excerpt,
        // request id and log line of this client's transport.
        let secrets = Secrets::new();
        for secret in credentials.secrets() {
            secrets.add(secret);
        }
        Ok(Self {
            transport: Transport::new(A::PROVIDER, http, A::REQUEST_ID_HEADERS)?
                .with_secrets(secrets),
            route: BaseUrl::parse(base_url)?.route_template(template)?,
            headers,
            credentials,
            api,
        })
    }

    /// The API description.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// Checks `update` and builds the request, without sending it.
    pub fn prepare(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<(PreparedRequest, Plan), TicketError> {
        let (body, plan) = self.checked(update)?;
        let body = serde_json::to_vec(&body)
            .map_err(|e| TicketError::invalid("update", format!("cannot encode as JSON: {e}")))?;
        let mut request =
            PreparedRequest::new(A::METHOD, self.route.url(id), self.headers.clone(), body);
        // An update carrying a field that is not idempotent (a comment) is retried only when
        // it certainly did not apply.
        if !A::CAPABILITIES.is_idempotent(plan.carried) {
            request = request.not_idempotent();
        }
        Ok((request, plan))
    }

    /// Every local check of an update (`prepare` and `check` share it): the plan, then the
    /// API's body, which may refuse what the plan cannot see.
    fn checked(&self, update: &TicketUpdate) -> Result<(Value, Plan), TicketError> {
        let plan = update.plan(A::PROVIDER, &A::CAPABILITIES, A::MAPPED_KEYS)?;
        Ok((self.api.body(update, &plan)?, plan))
    }

    /// Decodes one answer with the API's decoder.
    pub fn decode(&self, response: &RawResponse) -> Result<Option<OffsetDateTime>, TicketError> {
        self.api.decode(response)
    }
}

#[async_trait]
impl<A: JsonApi> TicketUpdater for JsonClient<A> {
    fn provider(&self) -> &str {
        A::PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        A::CAPABILITIES
    }

    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let (request, plan) = self.prepare(id, update)?;
        Ok(self.transport.preview(&request).with_dropped(plan.dropped))
    }

    fn check(&self, _id: &TicketId, update: &TicketUpdate) -> Result<Plan, TicketError> {
        self.checked(update).map(|(_, plan)| plan)
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
                |r| self.decode(r),
            )
            .await?;
        Ok(UpdateReceipt::new(A::PROVIDER, id.clone())
            .with_updated_at(done.value)
            .with_request_id(done.request_id)
            .with_dropped(plan.dropped)
            .with_attempts(done.attempts))
    }
}

/// Where an error answer's JSON keeps its code and message, as JSON pointers tried in order
/// (`"/error"`, `"/error/title"`).
#[derive(Debug, Clone, Copy)]
pub struct ErrorShape<'a> {
    /// Pointers to the provider's code (a string or a number).
    pub code: &'a [&'a str],
    /// Pointers to the provider's message.
    pub message: &'a [&'a str],
    /// HTTP statuses this provider says are worth retrying beyond the default rule (408,
    /// 429, 5xx), such as Zendesk's 409 edit conflict: the provider's retry classifier.
    pub retryable: &'a [u16],
}

/// The [`TicketError`] for a non-success `response`: the code and message found per `shape`
/// (a body that is not JSON falls back to the status), the kind from the HTTP status (401,
/// 403, 404, 429), `Retry-After` kept for rate limits, the statuses of
/// [`ErrorShape::retryable`] marked retryable, and the response's secrets scrubbed from the
/// message.
pub fn json_error(response: &RawResponse, provider: &str, shape: ErrorShape<'_>) -> TicketError {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let find = |pointers: &[&str]| {
        pointers.iter().find_map(|p| {
            body.as_ref()?
                .pointer(p)
                .filter(|v| !v.is_object())
                .cloned()
        })
    };
    let code = find(shape.code).and_then(|v| match v {
        Value::Number(n) => n.as_i64().map(ErrorCode::Number),
        Value::String(s) => Some(ErrorCode::Text(s)),
        _ => None,
    });
    let said = find(shape.message).and_then(|v| v.as_str().map(str::to_owned));
    let said = said.or_else(|| code.as_ref().and_then(|c| c.as_str()).map(str::to_owned));
    let message = response.message(said.as_deref(), &[]);
    let retry_after: Option<Duration> = response.header_seconds("retry-after");
    let err = response.to_error(provider, None, code, message, retry_after);
    if shape.retryable.contains(&response.status) {
        err.with_retryable(true)
    } else {
        err
    }
}

/// The RFC 3339 time at `pointer` in a success answer's JSON `body`: `Ok(None)` when absent,
/// a [`TicketError::MalformedResponse`] when present but not RFC 3339.
pub fn rfc3339_at(
    response: &RawResponse,
    body: &Value,
    pointer: &str,
    provider: &str,
) -> Result<Option<OffsetDateTime>, TicketError> {
    match body.pointer(pointer).and_then(Value::as_str) {
        None => Ok(None),
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .map(Some)
            .map_err(|e| {
                response.malformed(
                    provider,
                    format!("`{pointer}` {text:?} is not RFC 3339 ({e})"),
                    &[],
                )
            }),
    }
}
