//! The broken providers' API: a small helpdesk ([`Mini`]) written on the kit, as a downstream
//! provider would be, that reads tickets with a token of its own; the same without reads
//! ([`NoRead`]); and the [`Flaw`]s, each one change to the contract.

use helpdesk_ticket_http::{
    ErrorShape, JsonApi, RawResponse, Secrets, TokenSource, json_error, rfc3339_at,
};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use ticket_core::{
    Capabilities, ErrorKind, Field, FieldSet, Plan, SnapshotField, TicketError, TicketId,
    TicketSnapshot, TicketUpdate, UpdateReceipt,
};

pub(crate) const TOKEN: &str = "tok-3f9a1c7e55";
/// The token of reads, which is not the update's.
pub(crate) const READ_TOKEN: &str = "rd-8c41e2b9d7";
pub(crate) const SUCCESS: &str = r#"{"ok":true}"#;
/// The ticket's title in the read answer.
pub(crate) const READ_TITLE: &str = "Printer jam";
/// A read answer: the ticket `{id}`.
pub(crate) const READ_ANSWER: &str = r#"{"ok":true,"ticket":{"id":"{id}","title":"Printer jam","priority":"urgent","tags":["printer","floor-3"],"fields":{"device_sn":"PRN-1"},"updated_at":"2025-11-04T15:42:18+08:00"}}"#;

/// What a broken provider gets wrong; `None` keeps the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flaw {
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
    /// Reads with the update's token instead of its own.
    ReadsWithUpdateToken,
    /// Reads from `/mini/…`, without the update's `/api` prefix.
    WrongReadPrefix,
    /// Writes `/` in ticket ids as `-` in reads only.
    RewritesReadIds,
    /// Previews a read without its `host` header.
    ReadPreviewLies,
    /// Retries a read answered 404.
    RetriesReadNotFound,
    /// Reads a 404 as an empty ticket.
    IgnoresReadNotFound,
    /// Takes an answer about another ticket for the one read.
    AcceptsOtherTicket,
    /// Never asks for a new read token when one is refused.
    NeverRefreshesReads,
    /// Quotes its read token in the error of a refused read.
    LeaksReadToken,
    /// Logs its read token before each read.
    LogsReadToken,
    /// Merges against the ticket it read last, without reading it again.
    CachesReads,
    /// Leaves the title out of the body when it is the ticket's current one, as if unchanged.
    DropsFilledTitle,
    /// Merges against a template ticket (title `untitled`) instead of the one read.
    FillsFromDefaults,
    /// Returns the receipt of a merge update without its merge report.
    NoMergeReport,
    /// Checks a merge update by building its body.
    CheckBuildsMergeBody,
    /// Previews a merge update as if it did not merge.
    PreviewsMerge,
    /// Lists the fields that drifted as verified.
    VerifiesDrift,
    /// Fails an update whose read back failed.
    FailsOnReadBack,
    /// Cannot read, yet sends merge updates as plain ones.
    IgnoresMerge,
}

/// What the small helpdesk API below can carry: title (required), priority, tags, custom
/// fields by key, and a comment (not idempotent). It cannot carry description, kind,
/// attachments, status, solved, custom field ids or comment visibility.
pub(crate) const MINI_CAPS: Capabilities = Capabilities::new(FieldSet::of(&[
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

/// A small helpdesk API ([`MINI_CAPS`]) that reads tickets too, with a token of its own.
pub(crate) struct Mini(pub(crate) Flaw);

impl JsonApi for Mini {
    const PROVIDER: &'static str = "mini";
    const CAPABILITIES: Capabilities = MINI_CAPS.reading(None);
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
        let Some(title) = title else {
            // The API refuses an update without a title (merge mode fills it in first).
            return Err(TicketError::invalid("title", "mini needs a title"));
        };
        if !(self.0 == Flaw::DropsFilledTitle && title == READ_TITLE) {
            body.insert("title".into(), title.into());
        }
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
        Err(self.error(r, false))
    }

    fn read_route(&self) -> Option<&str> {
        Some(if self.0 == Flaw::WrongReadPrefix {
            "/mini/tickets/{id}"
        } else {
            Self::ROUTE
        })
    }

    /// `{"ok": true, "ticket": {id, title, priority, tags, fields, updated_at}}`.
    fn decode_read(&self, id: &TicketId, r: &RawResponse) -> Result<TicketSnapshot, TicketError> {
        if !r.is_success() {
            if r.status == 404 && self.0 == Flaw::IgnoresReadNotFound {
                return Ok(TicketSnapshot::new("mini", id.clone()));
            }
            return Err(self.error(r, true));
        }
        let body: Value =
            serde_json::from_slice(&r.body).map_err(|_| r.malformed("mini", "not JSON"))?;
        let Some(t) = body.get("ticket").and_then(Value::as_object) else {
            return Err(r.malformed("mini", "no `ticket`"));
        };
        let text = |key: &str| t.get(key).and_then(Value::as_str).map(str::to_owned);
        if let Some(other) = text("id").filter(|o| o != id.as_str())
            && self.0 != Flaw::AcceptsOtherTicket
        {
            return Err(r.malformed("mini", format!("answered about ticket {other:?}")));
        }
        let mut s = TicketSnapshot::new("mini", id.clone());
        s.title = text("title");
        s.priority = text("priority")
            .map(|p| p.parse())
            .transpose()
            .map_err(|e| r.malformed("mini", format!("priority: {e}")))?;
        s.tags = t.get("tags").and_then(Value::as_array).map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        s.custom_fields = t.get("fields").and_then(Value::as_object).map(|fields| {
            fields
                .iter()
                .map(|(k, v)| SnapshotField::new(v.clone()).with_key(Some(k.clone())))
                .collect()
        });
        s.updated_at = rfc3339_at(r, &body, "/ticket/updated_at", "mini")?;
        s.raw = Value::Object(t.clone());
        Ok(s)
    }

    fn refuses_token(&self, err: &TicketError) -> bool {
        self.0 != Flaw::NeverRefreshesReads && err.kind() == ErrorKind::Unauthenticated
    }
}

impl Mini {
    /// The error of a refusal (of a read when `reading`), read from `{code, message}`.
    fn error(&self, r: &RawResponse, reading: bool) -> TicketError {
        if self.0 == Flaw::IgnoresWait {
            return r.to_error("mini", None, None, r.message(None), None);
        }
        let retryable: &[u16] = match (self.0, reading) {
            (Flaw::Retries401, _) => &[401],
            (Flaw::RetriesReadNotFound, true) => &[404],
            _ => &[],
        };
        let shape = ErrorShape {
            code: &["/code"],
            message: &["/message"],
            retryable,
            ..ErrorShape::default()
        };
        json_error(r, "mini", shape)
    }
}

/// The same API without reads: a provider that cannot read.
pub(crate) struct NoRead(pub(crate) Mini);

impl JsonApi for NoRead {
    const PROVIDER: &'static str = "noread";
    const CAPABILITIES: Capabilities = MINI_CAPS;
    const MAPPED_KEYS: &'static [&'static str] = Mini::MAPPED_KEYS;
    const ROUTE: &'static str = Mini::ROUTE;

    type Body<'a> = Value;

    fn body(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
        plan: &Plan,
    ) -> Result<Value, TicketError> {
        self.0.body(id, update, plan)
    }

    fn decode(
        &self,
        receipt: UpdateReceipt,
        r: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        self.0.decode(receipt, r)
    }
}

/// The read token: always the same, "renewed" (to itself) whenever it is refused, and a
/// secret of the client from the start.
pub(crate) struct ReadToken(pub(crate) Secrets);

impl ReadToken {
    pub(crate) fn new() -> Self {
        let secrets = Secrets::new();
        secrets.add(READ_TOKEN);
        Self(secrets)
    }
}

#[async_trait::async_trait]
impl TokenSource for ReadToken {
    async fn access_token(&self) -> Result<SecretString, TicketError> {
        Ok(SecretString::from(READ_TOKEN))
    }

    async fn refresh(&self, _: &SecretString) -> Result<bool, TicketError> {
        Ok(true)
    }

    fn secrets(&self) -> Option<Secrets> {
        Some(self.0.clone())
    }
}
