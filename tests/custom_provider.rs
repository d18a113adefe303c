//! A downstream-style provider, defined outside the workspace crates, built on the public
//! `ticket-http` plumbing, registered through the facade and used by name over real HTTP.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use async_trait::async_trait;
use helpdesk::{
    Capabilities, Config, ConfigKey, ErrorKind, Field, FieldSet, RequestPreview, Settings,
    TicketError, TicketId, TicketUpdate, TicketUpdater, UpdateReceipt, ValueKind,
};
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderMap, HeaderValue};
use ticket_http::test_server::{Reply, ScriptedServer};
use ticket_http::{BaseUrl, PreparedRequest, Route, Transport};

/// "Acme Desk": `POST /v1/tickets/:id/notes` with a bearer API token.
struct AcmeDesk {
    transport: Transport,
    route: Route,
    headers: HeaderMap,
}

const CAPS: Capabilities = Capabilities::new(FieldSet::of(&[Field::Comment])).requiring_any_field();

impl AcmeDesk {
    fn prepare(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<(PreparedRequest, Vec<Field>), TicketError> {
        let plan = update.plan("acme", &CAPS, &["note"])?;
        let body = format!("{{\"note\":{:?}}}", update.comment().unwrap_or_default());
        let mut url = self.route.url(id);
        url.path_segments_mut()
            .map_err(|()| TicketError::config("bad base URL"))?
            .push("notes");
        Ok((
            PreparedRequest::new(Method::POST, url, self.headers.clone(), body),
            plan.dropped,
        ))
    }
}

#[async_trait]
impl TicketUpdater for AcmeDesk {
    fn provider(&self) -> &str {
        "acme"
    }
    fn capabilities(&self) -> Capabilities {
        CAPS
    }
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let (request, dropped) = self.prepare(id, update)?;
        Ok(self.transport.preview(&request).with_dropped(dropped))
    }
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        let (request, dropped) = self.prepare(id, update)?;
        let response = self.transport.send(&request).await?;
        if !response.is_success() {
            let message = response.fallback_message();
            return Err(response.to_error("acme", None, None, message, None));
        }
        Ok(UpdateReceipt::new("acme", id.clone())
            .with_request_id(response.request_id)
            .with_dropped(dropped))
    }
}

const ACME_KEYS: &[ConfigKey] = &[
    ConfigKey::new("api_token", ValueKind::Text, "required: the API token").secret(),
    ConfigKey::new("base_url", ValueKind::Url, "required: where Acme is"),
];

fn build_acme(settings: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    let token = settings.required("api_token")?;
    let base = BaseUrl::parse(&settings.required("base_url")?)?;
    let auth = ticket_http::sensitive_header(format!("Bearer {token}"), "the Acme token")?;
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, auth);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(Arc::new(AcmeDesk {
        transport: Transport::new("acme", settings.http_options()?, &["x-request-id"])?,
        route: base.route("/v1/tickets/"),
        headers,
    }))
}

#[tokio::test]
async fn a_downstream_provider_registers_and_is_used_by_name() {
    helpdesk::register("acme", ACME_KEYS, build_acme).unwrap();
    assert!(helpdesk::providers().contains(&"acme".to_owned()));

    let server = ScriptedServer::start(|req| {
        if req.header("authorization") == Some("Bearer acme-secret-1") {
            Reply::json(201, "{}").header("x-request-id", "acme-req-1")
        } else {
            Reply::json(401, "{}")
        }
    })
    .await
    .unwrap();
    let config = Config::from_env_vars([
        ("TICKET_PROVIDER", "acme"),
        ("TICKET_ACME_API_TOKEN", "acme-secret-1"),
        ("TICKET_ACME_BASE_URL", server.url()),
    ]);
    let updater = helpdesk::connect(&config).unwrap();
    assert_eq!(updater.provider(), "acme");

    let update = TicketUpdate::builder()
        .comment("rebooted")
        .priority(helpdesk::Priority::High)
        .lenient()
        .build()
        .unwrap();
    let id = TicketId::new("A/7").unwrap();
    let preview = updater.preview(&id, &update).unwrap();
    assert!(!preview.to_string().contains("acme-secret-1"));
    let receipt = updater.update(&id, &update).await.unwrap();
    assert_eq!(receipt.request_id.as_deref(), Some("acme-req-1"));
    assert_eq!(receipt.dropped, vec![Field::Priority]);
    let req = &server.requests()[0];
    // The preview lists exactly the headers that arrived, including the ones the client adds
    // by default (`accept`, `user-agent`) that this provider never set.
    let mut previewed: Vec<&str> = preview.headers.iter().map(|(n, _)| n.as_str()).collect();
    let mut received: Vec<&str> = req.headers.iter().map(|(n, _)| n.as_str()).collect();
    previewed.sort_unstable();
    received.sort_unstable();
    assert_eq!(previewed, received);
    for (name, value) in &preview.headers {
        if value != helpdesk::RequestPreview::REDACTED {
            assert_eq!(req.header(name), Some(value.as_str()), "{name}");
        }
    }
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/v1/tickets/A%2F7/notes")
    );
    assert_eq!(req.body_text(), r#"{"note":"rebooted"}"#);

    // The facade's checks apply to downstream providers too.
    let typo = Config::from_map([
        ("provider", "acme"),
        ("acme.api_token", "t"),
        ("acme.base_url", server.url()),
        ("acme.api_tokne", "t"),
    ]);
    let err = helpdesk::connect(&typo).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("`acme.api_tokne`"), "{err}");
    let missing =
        helpdesk::connect(&Config::from_env_vars([("TICKET_PROVIDER", "acme")])).unwrap_err();
    assert!(
        missing.to_string().contains("set TICKET_ACME_API_TOKEN"),
        "{missing}"
    );
}
