//! Shared HTTP plumbing for ticket providers, in one place so that every provider (built-in or
//! downstream) gets the same security defaults:
//!
//! - [`build_client`]: a `reqwest` client over rustls (feature `rustls`, the default:
//!   reqwest's `rustls`, with the platform's roots) or the platform's TLS (feature
//!   `native-tls`), plus the roots of `ca_file`, proxies with loopback always exempt,
//!   with connect and per-attempt timeouts,
//!   **no redirects followed** (a redirect would carry helpdesk credentials to another host),
//!   and a connection pool reused across requests.
//! - **Root certificates read once per process, and only for TLS:** with `rustls` on Linux and
//!   the other Unix systems but macOS, iOS and Android, every client built here shares one
//!   rustls configuration whose verifier (webpki over the system's roots, as reqwest's platform
//!   verifier is there) reads the system's roots at the first certificate it checks: the
//!   bundle file (`SSL_CERT_FILE`, else OpenSSL's usual one) alone, and the certificate
//!   directory (`SSL_CERT_DIR`, else OpenSSL's usual one), which holds the same roots, only if
//!   a certificate is refused for want of its issuer. A plain `http://` client reads none, a
//!   second client none again; a client with `ca_file` gets its own configuration, the shared
//!   roots plus its own. Roots added to the system later are seen after a restart. Elsewhere,
//!   and with `native-tls`, each client has the platform's verifier, as reqwest builds it.
//! - [`BaseUrl`]: `https://` only, except `http://` to a loopback host (tests, sandboxes). A
//!   build without a TLS feature refuses `https://` when a client is built
//!   ([`BaseUrl::require_tls_backend`]), naming the features to enable.
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
//!   the server's own wait within a total budget; an [`AttemptHook`] (on [`HttpOptions`]) lets a
//!   caller wait before each attempt (a shared gate, a rate limiter or budget) and see every
//!   rate-limit answer, without a retry loop of its own. [`Hooks`] composes several.
//! - [`RateBudget`]: one rate budget for every client of a provider, an [`AttemptHook`]:
//!   local (GCRA with `governor`), or shared by every replica through Redis (feature
//!   `redis`: [`RedisBudget`], one Lua script), each operation (update, read) with its own,
//!   adopting a server's stated limit and wait, falling back to a local share while Redis
//!   cannot be reached.
//!
//! - [`Credential`]: a Basic, Bearer or named-header credential as a sensitive header value,
//!   registering every form of its secrets with the client's [`Secrets`]; [`TokenSource`]: a
//!   bearer token that changes and is refreshed when the server refuses it.
//! - [`BaseUrl::route_template`]: routes such as `/api/v2/tickets/{id}.json`.
//! - The kit every provider is written on, built-in or downstream: [`JsonApi`] describes one
//!   helpdesk's JSON update API (route, capabilities, body, decoder), and [`JsonClient`] turns it
//!   into a `TicketUpdater` (plan, request, preview, credentials, token refresh, retries,
//!   scrubbing, receipt); [`json_error`] and [`rfc3339_at`] help decoders.
//! - [`telemetry`]: one INFO span per update (`ticket.update`) and read (`ticket.get`), a
//!   DEBUG span per attempt under OpenTelemetry's HTTP client names, and (feature `metrics`)
//!   metrics through the `metrics` facade: request durations, updates, reads, retries and
//!   token refreshes. No secret in any field or label.
//! - `testkit` (feature `testkit`): the conformance suite every provider runs from its own
//!   tests, over the loopback server of `test_server` (feature `test-util`).
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

mod client;
mod execute;
mod network;
mod options;
mod preview;
mod response;
mod retry;
mod secrets;
mod tls;
mod transport;

mod api;
mod base_url;
mod budget;
mod classify;
mod credential;
mod hook;
mod json_client;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_server;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use bytes::Bytes;
pub use reqwest;
pub use reqwest::Url;

pub use crate::api::{BoxFuture, ErrorShape, JsonApi, json_error, rfc3339_at};
pub use crate::base_url::{BaseUrl, Route, encode_segment};
pub use crate::budget::{BudgetStatus, Rate, RateBudget, UNSTATED_WAIT};
#[cfg(feature = "redis")]
pub use crate::budget::{GCRA_SCRIPT, RedisBudget, app_name};
pub use crate::classify::{MAX_SERVER_WAIT, MAX_STATED_RATE};
pub use crate::client::{build_client, client_builder, default_headers};
pub use crate::credential::{Credential, StaticToken, TokenSource, bearer_token};
pub use crate::execute::Executed;
pub use crate::hook::{Attempt, AttemptHook, Hooks, RateLimited};
pub use crate::json_client::{FromConfig, JsonClient, JsonClientBuilder, Reads};
pub use crate::options::HttpOptions;
pub use crate::preview::{PreparedRequest, body_capacity, sensitive_header};
pub use crate::response::{RawResponse, excerpt};
pub use crate::retry::RetryPolicy;
pub use crate::secrets::{Secrets, clean_secret, strip_scheme};
#[cfg(feature = "test-util")]
pub use crate::tls::system_root_reads;
pub use crate::transport::Transport;
pub use ticket_core::RequestPreview;
