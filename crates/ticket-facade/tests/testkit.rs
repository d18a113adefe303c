//! The conformance suite must fail a provider that breaks the contract, and the kit must be
//! enough to write one that keeps it.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ticket_facade::kit::serde_json::{Value, json};
use ticket_facade::kit::{self, BaseUrl, Credential, ErrorShape, JsonApi, JsonClient, RawResponse};
use ticket_facade::testkit::{Reply, Suite};
use ticket_facade::{
    Capabilities, Field, FieldSet, HttpOptions, Plan, RequestPreview, TicketError, TicketId,
    TicketUpdate, TicketUpdater, UpdateReceipt,
};

const TOKEN: &str = "tok-3f9a1c7e55";

/// A tiny API written with the kit.
struct Tiny;

impl JsonApi for Tiny {
    const PROVIDER: &'static str = "tiny";
    const CAPABILITIES: Capabilities = Capabilities::new(FieldSet::of(&[Field::Title]));
    const MAPPED_KEYS: &'static [&'static str] = &["title"];
    const ROUTE: &'static str = "/tickets/{id}";

    type Body<'a> = Value;

    fn body(&self, _: &TicketId, update: &TicketUpdate, _: &Plan) -> Result<Value, TicketError> {
        Ok(json!({ "title": update.title() }))
    }

    fn decode(
        &self,
        receipt: UpdateReceipt,
        r: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        if r.is_success() {
            return match kit::serde_json::from_slice::<Value>(&r.body) {
                Ok(body) => {
                    Ok(receipt.with_updated_at(kit::rfc3339_at(r, &body, "/updated_at", "tiny")?))
                }
                Err(_) => Err(r.malformed("tiny", "not JSON")),
            };
        }
        let shape = ErrorShape {
            code: &["/code"],
            message: &["/message"],
            ..ErrorShape::default()
        };
        Err(kit::json_error(r, "tiny", shape))
    }
}

/// Breaks the contract outside the kit: it quotes the token it was given in the message of
/// a server's refusal (after the transport's scrubbing, which it bypasses).
struct Leaky(JsonClient<Tiny>);

#[async_trait::async_trait]
impl TicketUpdater for Leaky {
    fn provider(&self) -> &str {
        self.0.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        self.0.preview(id, update)
    }
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        self.0.update(id, update).await.map_err(|e| match e {
            TicketError::Unauthenticated(mut details) => {
                details.message = format!("{} (token {TOKEN})", details.message);
                TicketError::Unauthenticated(details)
            }
            other => other,
        })
    }
}

fn factory(
    leaky: bool,
) -> impl Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    move |url, http| {
        let auth = Credential::bearer(TOKEN, "the token")?;
        let client = JsonClient::builder(Tiny, BaseUrl::parse(url)?)
            .credential(auth)
            .http(http)
            .build()?;
        Ok(if leaky {
            Arc::new(Leaky(client))
        } else {
            Arc::new(client)
        })
    }
}

fn suite(leaky: bool) -> Suite {
    Suite::new(
        factory(leaky),
        Reply::json(200, r#"{"updated_at":"2025-11-04T07:42:18Z"}"#),
    )
    .update(TicketUpdate::builder().title("t").build().unwrap())
    .secrets(&[TOKEN])
}

#[tokio::test]
async fn a_provider_written_with_the_kit_passes() {
    suite(false).run().await;
}

#[tokio::test]
#[should_panic(expected = "[secrets]")]
async fn a_provider_that_quotes_secrets_fails() {
    suite(true).run().await;
}
