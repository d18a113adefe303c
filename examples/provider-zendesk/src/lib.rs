//! Zendesk Support as a ticket provider, written with `helpdesk::kit` only: the worked
//! example of a downstream provider. `PUT /api/v2/tickets/{id}.json` to update and `GET` on the
//! same path to read (so merge mode and verification work too), Basic auth
//! `{email}/token:{api_token}`, 429 with `Retry-After`, 409 (an edit conflict) retried.
//!
//! | unified field | Zendesk wire (`{"ticket": {…}}`) |
//! |---|---|
//! | title | `subject` |
//! | priority | `priority`: `low`/`normal`/`high`/`urgent` |
//! | kind | `type`: `incident`/`question`/`problem`/`task` |
//! | tags | `tags` |
//! | custom fields | `custom_fields` `[{id, value}]`: a numeric id on every field; keys are not carried |
//! | status | `status`: open and in_progress → `open`, pending → `pending`, on_hold → `hold`, solved → `solved`, closed → `closed`; native `{"zendesk": "new"}` and the others |
//! | comment, comment visibility | `comment`: `{body, public}` |
//! | description, attachments, solved | not supported |
//! | provider fields keyed `zendesk` | merged into `ticket` |

use std::sync::Arc;

use helpdesk::kit::serde_json::{Map, Value, json};
use helpdesk::kit::{
    self, BaseUrl, Credential, ErrorShape, ExposeSecret, JsonApi, JsonClient, RawResponse,
};
use helpdesk::{
    Capabilities, CommentVisibility, ConfigKey, CustomFieldId, Field, FieldSet, NativeStatus, Plan,
    Priority, Settings, SnapshotField, Status, TicketError, TicketId, TicketKind, TicketSnapshot,
    TicketStatus, TicketUpdate, TicketUpdater, UpdateReceipt, ValueKind,
};

/// The registry name.
pub const PROVIDER: &str = "zendesk";

/// A Zendesk client.
pub type ZendeskClient = JsonClient<Zendesk>;

/// Zendesk's ticket update API.
#[derive(Debug)]
pub struct Zendesk;

const STATUSES: &[&str] = &["new", "open", "pending", "hold", "solved", "closed"];

/// The client for `base_url` (`https://{subdomain}.zendesk.com`) and an agent's API token.
pub fn client(
    base_url: &str,
    email: &str,
    api_token: &kit::SecretString,
    http: kit::HttpOptions,
) -> Result<ZendeskClient, TicketError> {
    let user = format!("{email}/token");
    let auth = Credential::basic(&user, api_token.expose_secret(), "the Zendesk API token")?;
    JsonClient::builder(Zendesk, BaseUrl::parse(base_url)?)
        .credential(auth)
        .http(http)
        .build()
}

impl JsonApi for Zendesk {
    const PROVIDER: &'static str = PROVIDER;
    const CAPABILITIES: Capabilities = Capabilities::new(FieldSet::of(&[
        Field::Title,
        Field::Priority,
        Field::Kind,
        Field::Tags,
        Field::CustomFields,
        Field::CustomFieldIds,
        Field::Status,
        Field::Comment,
        Field::CommentVisibility,
    ]))
    .requiring_per_custom_field(FieldSet::of(&[Field::CustomFieldIds]))
    .not_idempotent(FieldSet::of(&[Field::Comment]))
    .replacing_whole(FieldSet::of(&[Field::Tags]))
    .reading(None);
    const MAPPED_KEYS: &'static [&'static str] = &[
        "subject",
        "priority",
        "type",
        "tags",
        "custom_fields",
        "status",
        "comment",
    ];
    const ROUTE: &'static str = "/api/v2/tickets/{id}.json";
    fn request_id_headers(&self) -> &'static [&'static str] {
        &["x-request-id", "x-zendesk-request-id"]
    }

    type Body<'a> = Value;

    fn body(&self, _: &TicketId, update: &TicketUpdate, plan: &Plan) -> Result<Value, TicketError> {
        let extra = update.provider_fields(PROVIDER);
        let mut t = extra.cloned().unwrap_or_default();
        let carried = |field| plan.carried.contains(field);
        let priority = update
            .priority()
            .map(|p| p.as_str().replace("medium", "normal"));
        let simple = [
            ("subject", update.title().map(Value::from)),
            ("priority", priority.map(Value::from)),
            ("type", update.kind().map(|k| k.as_str().into())),
            ("tags", update.tags().map(Value::from)),
        ];
        t.extend(
            simple
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?))),
        );
        if let Some(fields) = update.custom_fields() {
            let items = fields
                .iter()
                .map(|f| match f.id().and_then(|id| id.as_u64()) {
                    Some(id) => Ok(json!({"id": id, "value": f.value().to_json()})),
                    None => {
                        let why = format!("custom field {} has no numeric id", f.label());
                        Err(TicketError::invalid("custom_fields.id", why))
                    }
                });
            t.insert("custom_fields".into(), items.collect::<Result<_, _>>()?);
        }
        if let Some(status) = update.status().filter(|_| carried(Field::Status)) {
            t.insert("status".into(), status_value(status)?.into());
        }
        if let Some(body) = update.comment().filter(|_| carried(Field::Comment)) {
            let mut comment = Map::from_iter([("body".to_owned(), Value::from(body))]);
            if let Some(v) = update.comment_visibility() {
                comment.insert("public".into(), (v == CommentVisibility::Public).into());
            }
            t.insert("comment".into(), comment.into());
        }
        Ok(json!({ "ticket": t }))
    }

    fn decode(
        &self,
        receipt: UpdateReceipt,
        r: &RawResponse,
    ) -> Result<UpdateReceipt, TicketError> {
        let (_, at) = ticket_of(r)?;
        Ok(receipt.with_updated_at(at))
    }

    /// `GET /api/v2/tickets/{id}.json`, the same path as the update.
    fn read_route(&self) -> Option<&str> {
        Some(Self::ROUTE)
    }

    /// `{"ticket": {subject, description, priority, type, status, tags, custom_fields, …}}`.
    fn decode_read(&self, id: &TicketId, r: &RawResponse) -> Result<TicketSnapshot, TicketError> {
        let (body, at) = ticket_of(r)?;
        let t = &body["ticket"];
        // An answer about another ticket must not pass for the one asked for.
        let answered = match t.get("id") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        if let Some(other) = answered.filter(|other| other != id.as_str()) {
            let why = format!("answered about ticket {other}, not {:?}", id.as_str());
            return Err(r.malformed(PROVIDER, why));
        }
        let text = |key: &str| t.get(key).and_then(Value::as_str).map(str::to_owned);
        let bad = |key: &str, e: TicketError| r.malformed(PROVIDER, format!("`{key}`: {e}"));
        let mut s = TicketSnapshot::new(PROVIDER, id.clone());
        s.title = text("subject");
        s.description = text("description");
        s.priority = text("priority")
            .map(|p| p.parse::<Priority>())
            .transpose()
            .map_err(|e| bad("priority", e))?;
        s.kind = text("type")
            .map(|k| k.parse::<TicketKind>())
            .transpose()
            .map_err(|e| bad("type", e))?;
        s.tags = t.get("tags").and_then(Value::as_array).map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        s.custom_fields = t
            .get("custom_fields")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|f| {
                        SnapshotField::new(f.get("value").cloned().unwrap_or(Value::Null)).with_id(
                            f.get("id")
                                .and_then(Value::as_u64)
                                .map(CustomFieldId::Number),
                        )
                    })
                    .collect()
            });
        if let Some(status) = text("status") {
            // `open` is where both `open` and `in_progress` go.
            (s.status, s.status_aliases) = match status.as_str() {
                "new" | "open" => (Some(TicketStatus::Open), vec![TicketStatus::InProgress]),
                "pending" => (Some(TicketStatus::Pending), vec![]),
                "hold" => (Some(TicketStatus::OnHold), vec![]),
                "solved" => (Some(TicketStatus::Solved), vec![]),
                "closed" => (Some(TicketStatus::Closed), vec![]),
                _ => (None, vec![]),
            };
            s.native_status = NativeStatus::new(PROVIDER, status).ok();
        }
        s.updated_at = at;
        s.raw = t.clone();
        Ok(s)
    }
}

/// The `ticket` object of a success, with its `updated_at`; or the error of a refusal.
fn ticket_of(r: &RawResponse) -> Result<(Value, Option<kit::time::OffsetDateTime>), TicketError> {
    if r.is_success() {
        let body: Option<Value> = kit::serde_json::from_slice(&r.body).ok();
        let Some(body) = body.filter(|b| b.get("ticket").is_some_and(Value::is_object)) else {
            return Err(r.malformed(PROVIDER, "no `ticket` object in the answer"));
        };
        let at = kit::rfc3339_at(r, &body, "/ticket/updated_at", PROVIDER)?;
        return Ok((body, at));
    }
    let shape = ErrorShape {
        code: &["/error", "/error/title"],
        message: &["/description", "/error/message"],
        retryable: &[409],
        ..ErrorShape::default()
    };
    Err(kit::json_error(r, PROVIDER, shape))
}

fn status_value(status: &Status) -> Result<&str, TicketError> {
    Ok(match status {
        Status::Unified(TicketStatus::Open | TicketStatus::InProgress) => "open",
        Status::Unified(TicketStatus::Pending) => "pending",
        Status::Unified(TicketStatus::OnHold) => "hold",
        Status::Unified(TicketStatus::Solved) => "solved",
        Status::Unified(TicketStatus::Closed) => "closed",
        Status::Native(n) if STATUSES.contains(&n.value()) => n.value(),
        Status::Native(n) => {
            let why = format!("unknown Zendesk status {:?}; expected one of", n.value());
            return Err(TicketError::invalid(
                "status",
                format!("{why} {}", STATUSES.join(", ")),
            ));
        }
    })
}

/// The configuration keys `build` reads (beside the HTTP keys every provider accepts).
pub const KEYS: &[ConfigKey] = &[
    ConfigKey::new("subdomain", ValueKind::Text, "`{subdomain}.zendesk.com`"),
    ConfigKey::new("base_url", ValueKind::Url, "instead of `subdomain`"),
    ConfigKey::new("email", ValueKind::Text, "required: the agent's email"),
    ConfigKey::new("api_token", ValueKind::Text, "required: the API token").secret(),
];

/// Builds a client from settings: `subdomain` or `base_url`, `email`, `api_token`, HTTP keys.
pub fn build(s: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    let base = match (s.optional("subdomain"), s.optional("base_url")) {
        (Some(sub), None) => format!("https://{sub}.zendesk.com"),
        (None, Some(url)) => url,
        _ => {
            let (a, b) = (s.describe("subdomain"), s.describe("base_url"));
            return Err(TicketError::config(format!("set either {a} or {b}")));
        }
    };
    let (email, token) = (s.required("email")?, s.required_secret("api_token")?);
    Ok(Arc::new(client(&base, &email, &token, s.http_options()?)?))
}

/// Registers (or registers again) `zendesk` in the process-wide registry of `helpdesk`.
pub fn register() -> Result<(), TicketError> {
    helpdesk::replace(PROVIDER, KEYS, build).map(|_| ())
}
