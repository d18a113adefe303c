//! The conformance suite must pass a provider that keeps the contract, and fail each broken
//! one with the check meant to catch it (asserted on the tag that starts its message). The
//! providers are written on the kit, as a downstream one would be; each flaw is one change.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{Map, Value, json};
use ticket_core::{
    Capabilities, ErrorKind, Field, FieldSet, Plan, RequestPreview, TicketError, TicketId,
    TicketUpdate, TicketUpdater, UpdateReceipt,
};
use ticket_http::testkit::{Reply, Suite};
use ticket_http::{
    BaseUrl, Credential, ErrorShape, HttpOptions, JsonApi, JsonClient, RawResponse, json_error,
};

const TOKEN: &str = "tok-3f9a1c7e55";
const SUCCESS: &str = r#"{"ok":true}"#;

/// What a broken provider gets wrong; `None` keeps the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    /// Claims tags and never sends them.
    DropsTags,
    /// Sends `{}` whatever the update.
    SendsEmpty,
    /// Writes the first tag where the title goes.
    MixesUp,
    /// Sends `high` whatever the priority.
    OnePriority,
    /// Writes the kind it cannot carry even when the lenient policy dropped it.
    IgnoresLenient,
    /// Marks a 401 worth retrying.
    Retries401,
    /// Reads no `Retry-After`.
    IgnoresWait,
    /// Reads an HTTP-200 error answer as a success.
    BusinessOk,
    /// Sends another token than the one configured.
    WrongCredential,
    /// Puts `/v2` before the route.
    WrongPrefix,
    /// Retries updates that are not idempotent after a 5xx.
    RetriesComments,
    /// Quotes its token in the message of a refusal.
    Leaky,
    /// Returns a receipt for another ticket.
    WrongReceipt,
    /// Previews another body than the one it sends.
    PreviewLies,
    /// Treats every update as lenient.
    IgnoresStrict,
    /// Writes `/` in ticket ids as `-`.
    RewritesIds,
}

/// A small helpdesk API: title (required), priority, tags, custom fields by key, and a
/// comment (not idempotent). It cannot carry description, kind, attachments, status, solved,
/// custom field ids or comment visibility.
struct Mini(Flaw);

impl JsonApi for Mini {
    const PROVIDER: &'static str = "mini";
    const CAPABILITIES: Capabilities = Capabilities::new(FieldSet::of(&[
        Field::Title,
        Field::Priority,
        Field::Tags,
        Field::CustomFields,
        Field::CustomFieldKeys,
        Field::Comment,
    ]))
    .requiring(FieldSet::of(&[Field::Title]))
    .requiring_per_custom_field(FieldSet::of(&[Field::CustomFieldKeys]))
    .not_idempotent(FieldSet::of(&[Field::Comment]));
    const MAPPED_KEYS: &'static [&'static str] = &["title", "priority", "tags", "fields", "note"];
    const ROUTE: &'static str = "/api/mini/tickets/{id}";

    type Body<'a> = Value;

    fn body(&self, _: &TicketId, update: &TicketUpdate, plan: &Plan) -> Result<Value, TicketError> {
        if self.0 == Flaw::SendsEmpty {
            return Ok(json!({}));
        }
        let carried = |f| plan.carried.contains(f);
        let mut body = update.provider_fields("mini").cloned().unwrap_or_default();
        let title = match update.tags() {
            Some([first, ..]) if self.0 == Flaw::MixesUp => Some(first.as_str()),
            _ => update.title(),
        };
        body.insert("title".into(), title.into());
        if let Some(p) = update.priority() {
            let p = if self.0 == Flaw::OnePriority {
                "high"
            } else {
                p.as_str()
            };
            body.insert("priority".into(), p.into());
        }
        if let Some(tags) = update.tags().filter(|_| self.0 != Flaw::DropsTags) {
            body.insert("tags".into(), tags.into());
        }
        if let Some(fields) = update.custom_fields() {
            let fields: Map<String, Value> = fields
                .iter()
                .filter_map(|f| Some((f.key()?.to_owned(), f.value().to_json())))
                .collect();
            body.insert("fields".into(), fields.into());
        }
        if let Some(note) = update.comment().filter(|_| carried(Field::Comment)) {
            body.insert("note".into(), note.into());
        }
        if let Some(kind) = update.kind().filter(|_| self.0 == Flaw::IgnoresLenient) {
            body.insert("kind".into(), kind.as_str().into());
        }
        Ok(Value::Object(body))
    }

    fn decode(
        &self,
        receipt: UpdateReceipt,
        r: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        if r.is_success() {
            let body: Value =
                serde_json::from_slice(&r.body).map_err(|_| r.malformed("mini", "not JSON"))?;
            return match body.get("ok").and_then(Value::as_bool) {
                Some(true) => Ok(receipt),
                Some(false) if self.0 == Flaw::BusinessOk => Ok(receipt),
                Some(false) => Err(r.to_error(
                    "mini",
                    Some(ErrorKind::Unauthenticated),
                    None,
                    r.message(body.get("error").and_then(Value::as_str)),
                    None,
                )),
                None => Err(r.malformed("mini", "no `ok`")),
            };
        }
        if self.0 == Flaw::IgnoresWait {
            return Err(r.to_error("mini", None, None, r.message(None), None));
        }
        let retryable: &[u16] = if self.0 == Flaw::Retries401 {
            &[401]
        } else {
            &[]
        };
        let shape = ErrorShape {
            code: &["/code"],
            message: &["/message"],
            retryable,
            ..ErrorShape::default()
        };
        Err(json_error(r, "mini", shape))
    }
}

/// A provider that wraps the kit's client and breaks the contract outside it.
struct Wrapped(JsonClient<Mini>, Flaw);

impl Wrapped {
    fn id(&self, id: &TicketId) -> TicketId {
        if self.1 == Flaw::RewritesIds {
            TicketId::new(id.as_str().replace('/', "-")).unwrap()
        } else {
            id.clone()
        }
    }
}

#[async_trait::async_trait]
impl TicketUpdater for Wrapped {
    fn provider(&self) -> &str {
        self.0.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let mut preview = self.0.preview(&self.id(id), update)?;
        if self.1 == Flaw::PreviewLies {
            preview.body.push(' ');
        }
        Ok(preview)
    }
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        let lenient;
        let update = if self.1 == Flaw::IgnoresStrict {
            lenient = update.to_builder().lenient().build()?;
            &lenient
        } else {
            update
        };
        let result = self.0.update(&self.id(id), update).await;
        match (self.1, result) {
            (Flaw::Leaky, Err(TicketError::Unauthenticated(mut details))) => {
                // After the transport's scrubbing, which this bypasses.
                details.message = format!("{} (token {TOKEN})", details.message);
                Err(TicketError::Unauthenticated(details))
            }
            (Flaw::WrongReceipt, Ok(receipt)) => Ok(UpdateReceipt::new(
                receipt.provider,
                TicketId::new("tk-0").unwrap(),
            )),
            (_, other) => other,
        }
    }
}

fn factory(
    flaw: Flaw,
) -> impl Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    move |url, mut http| {
        let token = if flaw == Flaw::WrongCredential {
            "tok-0000000000"
        } else {
            TOKEN
        };
        let url = if flaw == Flaw::WrongPrefix {
            format!("{url}/v2")
        } else {
            url.to_owned()
        };
        if flaw == Flaw::RetriesComments {
            http = http.clone().retry(http.retry.retry_non_idempotent(true));
        }
        let client = JsonClient::builder(Mini(flaw), BaseUrl::parse(&url)?)
            .credential(Credential::bearer(token, "the token")?)
            .http(http)
            .build()?;
        Ok(Arc::new(Wrapped(client, flaw)))
    }
}

fn suite(flaw: Flaw) -> Suite {
    Suite::new(factory(flaw), Reply::json(200, SUCCESS))
        .route("/api/mini/tickets/{id}")
        .credential("authorization", &format!("Bearer {TOKEN}"))
        .secrets(&[TOKEN])
        .business_error(
            Reply::json(200, r#"{"ok":false,"error":"token expired"}"#),
            ErrorKind::Unauthenticated,
        )
        .business_error(
            Reply::json(409, r#"{"code":"conflict","message":"edited meanwhile"}"#),
            ErrorKind::Provider,
        )
}

#[tokio::test]
async fn a_provider_written_with_the_kit_passes() {
    suite(Flaw::None).run().await;
}

#[tokio::test]
#[should_panic(expected = "[body] mini: tags was set to")]
async fn a_provider_that_drops_a_field_fails_the_body_check() {
    suite(Flaw::DropsTags).run().await;
}

#[tokio::test]
#[should_panic(expected = "[body] mini: title was set to")]
async fn a_provider_that_sends_an_empty_body_fails_the_body_check() {
    suite(Flaw::SendsEmpty).run().await;
}

#[tokio::test]
#[should_panic(expected = "[body] mini: title was set to \"cf-title-Qx71\" (tags alone)")]
async fn a_provider_that_mixes_up_fields_fails_the_body_check() {
    suite(Flaw::MixesUp).run().await;
}

#[tokio::test]
#[should_panic(expected = "[enum] mini: priority low and priority medium send the same body")]
async fn a_provider_that_ignores_a_value_fails_the_enum_check() {
    suite(Flaw::OnePriority).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[credentials] mini: the authorization header sent is not the credential"
)]
async fn a_provider_that_sends_a_wrong_credential_fails_the_credentials_check() {
    suite(Flaw::WrongCredential).run().await;
}

#[tokio::test]
#[should_panic(expected = "[path] mini: the update went to the wrong path")]
async fn a_provider_with_a_wrong_path_prefix_fails_the_path_check() {
    suite(Flaw::WrongPrefix).run().await;
}

#[tokio::test]
#[should_panic(expected = "[preview] mini: the body previewed is not the body sent")]
async fn a_provider_whose_preview_lies_fails_the_preview_check() {
    suite(Flaw::PreviewLies).run().await;
}

#[tokio::test]
#[should_panic(expected = "[receipt] mini: the receipt names another ticket")]
async fn a_provider_that_names_another_ticket_fails_the_receipt_check() {
    suite(Flaw::WrongReceipt).run().await;
}

#[tokio::test]
#[should_panic(expected = "[strict] mini: unsupported description: update must refuse")]
async fn a_provider_that_ignores_the_strict_policy_fails_the_strict_check() {
    suite(Flaw::IgnoresStrict).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[lenient] mini: unsupported kind: dropped, yet the body differs from the same update without it"
)]
async fn a_provider_that_ignores_the_lenient_policy_fails_the_lenient_check() {
    suite(Flaw::IgnoresLenient).run().await;
}

#[tokio::test]
#[should_panic(expected = "[ids] mini: ticket \"a/b\" went to the wrong path")]
async fn a_provider_that_rewrites_ids_fails_the_ids_check() {
    suite(Flaw::RewritesIds).run().await;
}

#[tokio::test]
#[should_panic(expected = "[errors] mini: HTTP 401 was sent 4 times, not 1")]
async fn a_provider_that_retries_a_401_fails_the_errors_check() {
    suite(Flaw::Retries401).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[errors] mini: HTTP 503 to an update that is not idempotent was sent 4 times, not 1"
)]
async fn a_provider_that_retries_comments_after_a_5xx_fails_the_errors_check() {
    suite(Flaw::RetriesComments).run().await;
}

#[tokio::test]
#[should_panic(expected = "[secrets] mini, HTTP 401: secret #1 leaked in the error's Display")]
async fn a_provider_that_quotes_its_token_fails_the_secrets_check() {
    suite(Flaw::Leaky).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[business] mini: business error #1 (Unauthenticated) was read as a success"
)]
async fn a_provider_that_reads_a_200_error_as_success_fails_the_business_check() {
    suite(Flaw::BusinessOk).run().await;
}

#[tokio::test]
#[should_panic(expected = "[wait] mini: the server asked for a one-second wait")]
async fn a_provider_that_ignores_the_servers_wait_fails_the_wait_check() {
    suite(Flaw::IgnoresWait).run().await;
}
