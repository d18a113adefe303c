//! The broken providers: the kit's client of [`Mini`] wrapped in one that breaks the contract
//! outside the kit where a flaw asks it to, and the suites they run.

use std::sync::{Arc, Mutex, PoisonError};

use helpdesk_ticket_http::testkit::{Reply, Suite};
use helpdesk_ticket_http::{BaseUrl, Credential, HttpOptions, JsonApi, JsonClient};
use ticket_core::{
    Capabilities, ErrorKind, Plan, RequestPreview, TicketError, TicketId, TicketSnapshot,
    TicketUpdate, TicketUpdater, UpdateReceipt, update_with_reads,
};

use crate::mini::{Flaw, Mini, NoRead, READ_ANSWER, READ_TOKEN, ReadToken, SUCCESS, TOKEN};

/// A provider that wraps the kit's client and breaks the contract outside it (and remembers
/// the last ticket it read, for a flaw that merges against it).
struct Wrapped<A>(JsonClient<A>, Flaw, Mutex<Option<TicketSnapshot>>);

impl<A: JsonApi> Wrapped<A> {
    fn new(client: JsonClient<A>, flaw: Flaw) -> Self {
        Self(client, flaw, Mutex::new(None))
    }

    fn id(&self, id: &TicketId) -> TicketId {
        self.rewritten(id, Flaw::RewritesIds)
    }

    /// `id` as a read sends it.
    fn read_id(&self, id: &TicketId) -> TicketId {
        self.rewritten(id, Flaw::RewritesReadIds)
    }

    /// `id`, with `/` written as `-` under `rewrites` or [`Flaw::RewritesIds`].
    fn rewritten(&self, id: &TicketId, rewrites: Flaw) -> TicketId {
        if self.1 == rewrites || self.1 == Flaw::RewritesIds {
            TicketId::new(id.as_str().replace('/', "-")).unwrap()
        } else {
            id.clone()
        }
    }

    /// The read a flawed merge runs: the last ticket read, or a template's title.
    async fn flawed_read(&self, id: &TicketId) -> Result<TicketSnapshot, TicketError> {
        let cached = self
            .2
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match (self.1, cached) {
            (Flaw::CachesReads, Some(cached)) => Ok(cached),
            _ => {
                let mut snapshot = self.0.read(id).await?;
                if self.1 == Flaw::FillsFromDefaults {
                    snapshot.title = Some("untitled".into());
                }
                Ok(snapshot)
            }
        }
    }
}

#[async_trait::async_trait]
impl<A: JsonApi> TicketUpdater for Wrapped<A> {
    fn provider(&self) -> &str {
        self.0.provider()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        if self.1 == Flaw::PreviewsMerge && update.merges() {
            return self.0.preview(id, &update.without_reads());
        }
        let mut preview = self.0.preview(&self.id(id), update)?;
        if self.1 == Flaw::PreviewLies {
            preview.body.push(' ');
        }
        Ok(preview)
    }
    fn check(&self, id: &TicketId, update: &TicketUpdate) -> Result<Plan, TicketError> {
        if self.1 == Flaw::CheckBuildsMergeBody {
            return self.0.prepare(id, update).map(|(_, plan)| plan);
        }
        self.0.check(&self.id(id), update)
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
        let result = match self.1 {
            Flaw::IgnoresMerge => self.0.update(id, &update.without_reads()).await,
            Flaw::CachesReads | Flaw::FillsFromDefaults if update.needs_read() => {
                let caps = self.0.capabilities();
                let read = || self.flawed_read(id);
                let write = |merged: TicketUpdate| async move { self.0.update(id, &merged).await };
                update_with_reads(&caps, update, read, write).await
            }
            _ => self.0.update(&self.id(id), update).await,
        };
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
            (Flaw::NoMergeReport, Ok(receipt)) => Ok(receipt.with_merge(None)),
            (Flaw::VerifiesDrift, Ok(mut receipt)) => {
                if let Some(v) = receipt.verification.as_mut() {
                    let drifted = std::mem::take(&mut v.drifted);
                    v.verified.extend(drifted.into_iter().map(|d| d.field));
                }
                Ok(receipt)
            }
            (Flaw::FailsOnReadBack, Ok(receipt))
                if receipt
                    .verification
                    .as_ref()
                    .is_some_and(|v| v.read_error.is_some()) =>
            {
                Err(TicketError::invalid("verify", "the read back failed"))
            }
            (_, other) => other,
        }
    }
    async fn read(&self, id: &TicketId) -> Result<TicketSnapshot, TicketError> {
        if self.1 == Flaw::LogsReadToken {
            tracing::debug!("reading with the token {READ_TOKEN}");
        }
        let result = self.0.read(&self.read_id(id)).await;
        if let Ok(snapshot) = &result {
            *self.2.lock().unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        }
        match (self.1, result) {
            (Flaw::LeaksReadToken, Err(TicketError::Unauthenticated(mut details))) => {
                details.message = format!("{} (read token {READ_TOKEN})", details.message);
                Err(TicketError::Unauthenticated(details))
            }
            (_, other) => other,
        }
    }
}

/// The kit's client of [`Mini`] with `flaw`, at `url`.
fn client(flaw: Flaw, url: &str, http: HttpOptions) -> Result<JsonClient<Mini>, TicketError> {
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
    let http = if flaw == Flaw::RetriesComments {
        http.clone().retry(http.retry.retry_non_idempotent(true))
    } else {
        http
    };
    let builder = JsonClient::builder(Mini(flaw), BaseUrl::parse(&url)?)
        .credential(Credential::bearer(token, "the token")?)
        .http(http);
    if flaw == Flaw::ReadsWithUpdateToken {
        // It has the read token (and scrubs it), and reads with the update's anyway.
        builder.secret(READ_TOKEN).build()
    } else {
        builder
            .read_token_source(Arc::new(ReadToken::new()))
            .build()
    }
}

fn factory(
    flaw: Flaw,
) -> impl Fn(&str, HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    move |url, http| Ok(Arc::new(Wrapped::new(client(flaw, url, http)?, flaw)))
}

/// The suite's settings every provider here shares: the update's route, credential and
/// errors.
fn common(suite: Suite) -> Suite {
    suite
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

/// The suite of [`Mini`] with `flaw`: it reads with a token of its own, which it can renew.
pub(crate) fn suite(flaw: Flaw) -> Suite {
    common(Suite::new(factory(flaw), Reply::json(200, SUCCESS)))
        .secrets(&[TOKEN, READ_TOKEN])
        .read("/api/mini/tickets/{id}", Reply::json(200, READ_ANSWER))
        .read_preview(move |url, http, id| {
            let mut preview = client(flaw, url, http)?.preview_read(id)?;
            if flaw == Flaw::ReadPreviewLies {
                preview.headers.retain(|(name, _)| name != "host");
            }
            Ok(preview)
        })
        .read_credential("authorization", &format!("Bearer {READ_TOKEN}"))
        .read_token_refusal(Reply::json(
            401,
            r#"{"code":"token_expired","message":"read token expired"}"#,
        ))
}

/// The suite of [`NoRead`], which cannot read, with `flaw`.
pub(crate) fn suite_without_reads(flaw: Flaw) -> Suite {
    let factory = move |url: &str, http| -> Result<Arc<dyn TicketUpdater>, TicketError> {
        let client = JsonClient::builder(NoRead(Mini(Flaw::None)), BaseUrl::parse(url)?)
            .credential(Credential::bearer(TOKEN, "the token")?)
            .http(http)
            .build()?;
        Ok(Arc::new(Wrapped::new(client, flaw)))
    };
    common(Suite::new(factory, Reply::json(200, SUCCESS)))
}
