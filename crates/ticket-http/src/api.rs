//! [`JsonApi`]: one helpdesk's JSON update API described as data and two functions (the body,
//! the decoder), which [`JsonClient`](crate::JsonClient) turns into a `TicketUpdater`; and the
//! helpers a decoder needs ([`json_error`], [`rfc3339_at`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use ticket_core::{
    Capabilities, ErrorCode, ErrorKind, Plan, TicketError, TicketId, TicketSnapshot, TicketUpdate,
    UpdateReceipt,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{RawResponse, Reads};

/// A boxed future that can be sent between threads, as [`JsonApi::complete_read`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One helpdesk's JSON update API. Wrap it in a [`JsonClient`](crate::JsonClient) to get a
/// `TicketUpdater`: the client plans the update, builds, previews, sends and retries the
/// request, applies the credentials, refreshes a refused token, scrubs secrets, and writes the
/// receipt. The built-in providers are written on it, as a downstream one is.
pub trait JsonApi: Send + Sync + 'static {
    /// The registry name, such as `"zendesk"`.
    const PROVIDER: &'static str;
    /// What the API can carry.
    const CAPABILITIES: Capabilities;
    /// The wire keys filled from unified fields: raw provider fields may not use them.
    const MAPPED_KEYS: &'static [&'static str];
    /// The update route, with one `{id}` placeholder (see
    /// [`BaseUrl::route_template`](crate::BaseUrl::route_template)), such as
    /// `/api/v2/tickets/{id}.json`.
    const ROUTE: &'static str;
    // Methods rather than associated constants with defaults: rustdoc shows a default constant
    // as `= _`, a default method with the default its documentation states.

    /// The HTTP method of an update. Default: `PUT`.
    fn method(&self) -> Method {
        Method::PUT
    }

    /// Constant headers, in the order they go on the wire after the credentials. Default:
    /// `content-type: application/json`. Read once, when the client is built.
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("content-type", "application/json")]
    }

    /// Response headers that may carry a request id, first match wins. Default:
    /// `x-request-id`. Read once, when the client is built.
    fn request_id_headers(&self) -> &'static [&'static str] {
        &["x-request-id"]
    }

    /// The request body's type: a wire struct borrowing from the update, or a
    /// `serde_json::Value`.
    type Body<'a>: Serialize;

    /// The request body for an update of `id`, already checked by [`TicketUpdate::plan`]: map
    /// the fields of [`Plan::carried`], and merge [`TicketUpdate::provider_fields`] where they
    /// belong. A field that cannot be written is an [`TicketError::InvalidInput`].
    fn body<'a>(
        &self,
        id: &TicketId,
        update: &'a TicketUpdate,
        plan: &Plan,
    ) -> Result<Self::Body<'a>, TicketError>;

    /// Reads the answer to an update of `id`: for a success, `receipt` with what the answer
    /// confirmed (`updated_at`, `updated_at_raw`, `confirmed_ticket_id`; the client fills in the
    /// request id, the dropped fields and the attempts, and refuses a confirmation of another
    /// ticket); else the matching error. Nothing to scrub by hand: [`RawResponse::message`],
    /// [`RawResponse::malformed`] and [`excerpt`](crate::excerpt) scrub the client's secrets
    /// before they cut, and the transport scrubs every error on its way out.
    fn decode(
        &self,
        receipt: UpdateReceipt,
        response: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError>;

    /// Whether `err` says the server refused the bearer token of a
    /// [`TokenSource`](crate::TokenSource) (so that the client refreshes it once and sends
    /// again). Default: any [`ErrorKind::Unauthenticated`]. Reads and updates alike.
    fn refuses_token(&self, err: &TicketError) -> bool {
        err.kind() == ErrorKind::Unauthenticated
    }

    /// Constant headers of a read, in the order they go on the wire after the credentials.
    /// Default: `accept: application/json`. Read once, when the client is built.
    fn read_headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("accept", "application/json")]
    }

    /// The read route (`GET`), with one `{id}` placeholder as [`ROUTE`](Self::ROUTE) has, such
    /// as `/api/v2/tickets/{id}.json`; `None` (the default) when the API cannot read. An API
    /// that reads declares it in [`CAPABILITIES`](Self::CAPABILITIES) too
    /// ([`Capabilities::reading`]), and implements [`decode_read`](Self::decode_read).
    fn read_route(&self) -> Option<&str> {
        None
    }

    /// Reads the answer to a read of `id`: the snapshot (with [`TicketSnapshot::raw`], the
    /// provider's ticket object), or the matching error. Scrubbing is done as for
    /// [`decode`](Self::decode). Default: the API cannot read.
    fn decode_read(
        &self,
        id: &TicketId,
        response: &RawResponse,
    ) -> Result<TicketSnapshot, TicketError> {
        let _ = (id, response);
        Err(TicketError::cannot_read(Self::PROVIDER))
    }

    /// Completes a snapshot with further reads through `reads` (the read's credentials,
    /// retries and scrubbing): Feishu looks up its custom field definitions, to tell which
    /// option a dropdown's label stands for. Default: the snapshot as decoded.
    fn complete_read<'a>(
        &'a self,
        snapshot: TicketSnapshot,
        reads: Reads<'a, Self>,
    ) -> BoxFuture<'a, Result<TicketSnapshot, TicketError>>
    where
        Self: Sized,
    {
        let _ = reads;
        Box::pin(std::future::ready(Ok(snapshot)))
    }
}

/// Where an error answer's JSON keeps its code, its message and its list of field errors, as
/// JSON pointers tried in order (`"/error"`, `"/error/title"`). `Default` finds nothing (the
/// message falls back to the body or the status).
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorShape<'a> {
    /// Pointers to the provider's code (a string or a number).
    pub code: &'a [&'a str],
    /// Pointers to the provider's message.
    pub message: &'a [&'a str],
    /// Pointers to a list of field errors such as Freshdesk's
    /// `"errors": [{"field", "message", "code"}]`; each item's `field`, `message` and `code`
    /// (any that are present) are appended to the message.
    pub field_errors: &'a [&'a str],
    /// HTTP statuses this provider says are worth retrying beyond the default rule (408,
    /// 429, 5xx), such as Zendesk's 409 edit conflict: the provider's retry classifier.
    pub retryable: &'a [u16],
}

/// The [`TicketError`] for a non-success `response`: the code, message and field errors found
/// per `shape` (a body that is not JSON falls back to the status), the kind from the HTTP status
/// (401, 403, 404, 429), `Retry-After` kept for rate limits, the statuses of
/// [`ErrorShape::retryable`] marked retryable, and the response's secrets scrubbed.
pub fn json_error(response: &RawResponse, provider: &str, shape: ErrorShape<'_>) -> TicketError {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let find = |pointers: &[&str]| {
        pointers
            .iter()
            .find_map(|p| body.as_ref()?.pointer(p).filter(|v| !v.is_object()))
    };
    let code = find(shape.code).and_then(|v| match v {
        Value::Number(n) => n.as_i64().map(ErrorCode::Number),
        Value::String(s) => Some(ErrorCode::Text(s.clone())),
        _ => None,
    });
    let said = find(shape.message)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut said = said.or_else(|| code.as_ref().and_then(|c| c.as_str()).map(str::to_owned));
    if let Some(list) = find(shape.field_errors).and_then(Value::as_array) {
        let fields = list.iter().filter_map(field_error).collect::<Vec<_>>();
        if !fields.is_empty() {
            let head = said.map_or_else(String::new, |s| format!("{s}: "));
            said = Some(format!("{head}{}", fields.join("; ")));
        }
    }
    let message = response.message(said.as_deref());
    let retry_after: Option<Duration> = response.header_seconds("retry-after");
    let err = response.to_error(provider, None, code, message, retry_after);
    if shape.retryable.contains(&response.status) {
        err.with_retryable(true)
    } else {
        err
    }
}

/// `field: message (code)` of one field error, from whichever of the three it has.
fn field_error(item: &Value) -> Option<String> {
    let text = |key| {
        item.get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let code = item.get("code").and_then(|c| match c {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let line = match (text("field"), text("message")) {
        (Some(field), Some(message)) => format!("{field}: {message}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => code.clone()?,
    };
    Some(match code {
        Some(code) if !line.contains(&code) => format!("{line} ({code})"),
        _ => line,
    })
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
                )
            }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    /// Freshdesk's validation answer: the field errors reach the message.
    #[test]
    fn field_errors_are_listed() {
        let body = r#"{"description":"Validation failed","errors":[
            {"field":"priority","message":"It should be one of these values: '1,2,3,4'","code":"invalid_value"},
            {"field":"email","message":"Unknown","code":"missing_field"}]}"#;
        let response = RawResponse::new(400, HeaderMap::new(), body, None);
        let shape = ErrorShape {
            message: &["/description"],
            field_errors: &["/errors"],
            ..ErrorShape::default()
        };
        let err = json_error(&response, "freshdesk", shape);
        assert_eq!(
            err.server().unwrap().message,
            "Validation failed: priority: It should be one of these values: '1,2,3,4' \
             (invalid_value); email: Unknown (missing_field)"
        );
        assert_eq!(err.kind(), ErrorKind::Provider);
        // The default shape finds nothing and falls back to the body.
        let err = json_error(&response, "freshdesk", ErrorShape::default());
        assert!(
            err.server()
                .unwrap()
                .message
                .starts_with("{\"description\"")
        );
    }
}
