//! Everything a provider author needs, from this one dependency: `ticket-http`'s kit, the same
//! one the built-in providers are written on.
//!
//! - [`JsonApi`] and [`JsonClient`]: for a helpdesk that takes one JSON request per update,
//!   describe the route, the body and the answer; the client does the rest of `TicketUpdater`
//!   (planning, request building, preview, credentials and token refresh, retries, secret
//!   scrubbing, receipt).
//! - [`Credential`] (Basic, Bearer or a named header; either half of a Basic pair may be the
//!   secret) and [`TokenSource`] (a bearer token refreshed when the server refuses it).
//! - Reading: a read route and decoder on [`JsonApi`] (`read_route`, `decode_read`, and
//!   `complete_read` with [`Reads`] for further reads), the update's credentials or a token of
//!   the read's own ([`JsonClientBuilder::read_token_source`]); merge mode and verification
//!   then work as for the built-in providers.
//! - [`json_error`] (with [`ErrorShape`]) and [`rfc3339_at`] for decoders; the hardened client,
//!   [`Transport`] with retries, [`BaseUrl::route_template`], previews.
//! - Re-exports at the versions this crate uses: `async_trait`, `secrecy`, `serde_json` and
//!   `time`. The domain types are at the crate root.
//!
//! A complete provider written with the kit alone: `examples/provider-zendesk` in the
//! repository (its conformance test uses the `testkit` feature).

pub use async_trait::async_trait;
pub use secrecy::{self, ExposeSecret, SecretString};
pub use serde_json;
pub use ticket_http::*;
pub use time;
