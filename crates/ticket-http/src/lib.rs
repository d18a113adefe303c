//! Shared HTTP plumbing for ticket providers, in one place so that every provider (built-in or
//! downstream) gets the same security defaults:
//!
//! - [`build_client`]: a `reqwest` client over rustls (feature `rustls`, the default:
//!   reqwest's `rustls`, with the platform's roots) or the platform's TLS (feature
//!   `native-tls`), plus the roots of `ca_file`, proxies with loopback always exempt,
//!   with connect and per-attempt timeouts,
//!   **no redirects followed** (a redirect would carry helpdesk credentials to another host),
//!   and a connection pool reused across requests.
//! - [`BaseUrl`]: `https://` only, except `http://` to a loopback host (tests, sandboxes).
//! - [`BaseUrl::route`] and [`Route::url`]: a route parsed once per client; a ticket id always
//!   becomes exactly one percent-encoded path segment ([`encode_segment`]).
//! - [`PreparedRequest`]: a request built once, which can be sent, or rendered by
//!   [`Transport::preview`] as a [`RequestPreview`] with every sensitive header redacted.
//! - [`Transport::send`]: sends with a tracing span that holds no secret, reads the response
//!   body up to a cap, and captures the provider's request id.
//! - [`Secrets`]: the one scrubbing point. A transport carries a set of the client's secrets
//!   (in every form: raw, base64, `Basic …`, `Bearer …`, escaped) and passes every error, excerpt,
//!   request id and logged error through it.
//! - [`Transport::execute`]: sends, decodes and retries per a [`RetryPolicy`] (backon), honouring
//!   the server's own wait within a total budget.
//!
//! - [`Credential`]: a Basic, Bearer or named-header credential as a sensitive header value,
//!   registering every form of its secrets with the client's [`Secrets`]; [`TokenSource`]: a
//!   bearer token that changes and is refreshed when the server refuses it.
//! - [`BaseUrl::route_template`]: routes such as `/api/v2/tickets/{id}.json`.
//! - The kit every provider is written on, built-in or downstream: [`JsonApi`] describes one
//!   helpdesk's JSON update API (route, capabilities, body, decoder), and [`JsonClient`] turns it
//!   into a `TicketUpdater` (plan, request, preview, credentials, token refresh, retries,
//!   scrubbing, receipt); [`json_error`] and [`rfc3339_at`] help decoders.
//!
//! `reqwest` is re-exported so downstream providers use the same version.
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n# Feature flags\n\n", document_features::document_features!())
)]
// docs.rs (`--cfg docsrs`, nightly) labels feature-gated items with the feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Library code never panics on input: these are errors here (tests may use them).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The README's examples are compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod network;
mod preview;
mod retry;
mod secrets;
mod transport;

mod api;
mod base_url;
mod classify;
mod credential;
mod json_client;
#[cfg(feature = "test-util")]
pub mod test_server;

pub use bytes::Bytes;
pub use reqwest;
pub use reqwest::Url;

pub use crate::api::{BoxFuture, ErrorShape, JsonApi, json_error, rfc3339_at};
pub use crate::base_url::{BaseUrl, Route, encode_segment};
pub use crate::classify::{MAX_SERVER_WAIT, MAX_STATED_RATE};
pub use crate::credential::{Credential, StaticToken, TokenSource, bearer_token};
pub use crate::json_client::{FromConfig, JsonClient, JsonClientBuilder, Reads};
pub use crate::preview::{PreparedRequest, body_capacity, sensitive_header};
pub use crate::retry::{Executed, RetryPolicy};
pub use crate::secrets::{Secrets, clean_secret, strip_scheme};
pub use crate::transport::{
    HttpOptions, RawResponse, Transport, build_client, client_builder, default_headers, excerpt,
};
pub use ticket_core::RequestPreview;
