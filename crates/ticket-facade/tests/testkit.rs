//! The conformance suite must fail a provider that breaks the contract, and the kit must be
//! enough to write one that keeps it.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ticket_facade::kit::serde_json::{Value, json};
use ticket_facade::kit::time::OffsetDateTime;
use ticket_facade::kit::{self, Credentials, ErrorShape, JsonApi, JsonClient, RawResponse};
use ticket_facade::testkit::{Reply, Suite};
use ticket_facade::{
    Capabilities, Field, FieldSet, HttpOptions, Plan, TicketError, TicketUpdate, TicketUpdater,
};

const TOKEN: &str = "tok-3f9a1c7e55";

/// A tiny API; `scrub: false` forgets to pass the secrets on when quoting an answer.
struct Tiny {
    scrub: bool,
}

impl JsonApi for Tiny {
    const PROVIDER: &'static str = "tiny";
    const CAPABILITIES: Capabilities = Capabilities::new(FieldSet::of(&[Field::Title]));
    const MAPPED_KEYS: &'static [&'static str] = &["title"];

    fn body(&self, update: &TicketUpdate, _plan: &Plan) -> Result<Value, TicketError> {
        Ok(json!({ "title": update.title() }))
    }

    fn decode(
        &self,
        r: &RawResponse,
        secrets: &[&str],
    ) -> Result<Option<OffsetDateTime>, TicketError> {
        if r.is_success() {
            return match kit::serde_json::from_slice::<Value>(&r.body) {
                Ok(body) => kit::rfc3339_at(r, &body, "/updated_at", "tiny", secrets),
                Err(_) => Err(r.malformed("tiny", "not JSON", secrets)),
            };
        }
        let shape = ErrorShape {
            code: &["/code"],
            message: &["/message"],
            retryable: &[],
        };
        Err(kit::json_error(
            r,
            "tiny",
            shape,
            if self.scrub { secrets } else { &[] },
        ))
    }
}

fn factory(
    scrub: bool,
) -> impl Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    move |url, http| {
        let auth = Credentials::bearer(&kit::SecretString::from(TOKEN), "the token")?;
        Ok(Arc::new(JsonClient::new(
            Tiny { scrub },
            url,
            "/tickets/{id}",
            auth,
            http,
        )?))
    }
}

fn suite(scrub: bool) -> Suite {
    Suite::new(
        factory(scrub),
        Reply::json(200, r#"{"updated_at":"2025-11-04T07:42:18Z"}"#),
    )
    .update(TicketUpdate::builder().title("t").build().unwrap())
    .secrets(&[TOKEN])
}

#[tokio::test]
async fn a_provider_written_with_the_kit_passes() {
    suite(true).run().await;
}

#[tokio::test]
#[should_panic(expected = "[secrets]")]
async fn a_provider_that_quotes_secrets_fails() {
    suite(false).run().await;
}
