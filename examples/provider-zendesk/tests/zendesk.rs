//! Zendesk over real loopback HTTP: the conformance suite (a 409 retried among its declared
//! errors; reads, merge mode and verification with the update's Basic auth), the wire body,
//! error codes and messages, and selection by `TICKET_PROVIDER=zendesk`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use helpdesk::kit::SecretString;
use helpdesk::testkit::{Reply, ScriptedServer, Suite};
use helpdesk::{
    CommentVisibility, Config, ErrorKind, Field, HttpOptions, NativeStatus, Priority, TicketError,
    TicketId, TicketKind, TicketStatus, TicketUpdate, TicketUpdater,
};
use provider_zendesk::{PROVIDER, ZendeskClient, client, register};

const EMAIL: &str = "agent@example.com";
const TOKEN: &str = "zd-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv";
/// `Basic base64("agent@example.com/token:<TOKEN>")`, as Zendesk documents it.
const AUTHORIZATION: &str = "Basic YWdlbnRAZXhhbXBsZS5jb20vdG9rZW46emQtNndpSUJXYkdrQk1vMW1SRE11VndrdzFFUHNOa2VVajk1UEl6MmFrdg==";
const SUCCESS: &str = r#"{"ticket":{"id":35436,"subject":"Printer jammed","status":"open","updated_at":"2025-11-04T07:42:18Z"},"audit":{"id":1}}"#;

/// A read answer about ticket `{id}` (a number, as Zendesk's ids are).
const READ_ANSWER: &str = r#"{"ticket":{"id":{id},"subject":"Printer jam","description":"A4 stuck in tray 2.","priority":"urgent","type":"question","status":"open","tags":["printer","floor-3"],"custom_fields":[{"id":360001,"value":"PRN-1"}],"updated_at":"2025-11-04T07:42:18Z"}}"#;

fn zendesk_client(url: &str, http: HttpOptions) -> Result<ZendeskClient, TicketError> {
    client(url, EMAIL, &SecretString::from(TOKEN), http)
}

fn zendesk(url: &str, http: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    Ok(Arc::new(zendesk_client(url, http)?))
}

fn full_update() -> TicketUpdate {
    TicketUpdate::builder()
        .title("Printer jammed")
        .priority(Priority::Medium)
        .kind(TicketKind::Incident)
        .tags(["printer", "hardware"])
        .custom_field_by_id(360_001u64, "PRN-2024-001")
        .custom_field_by_id("360002", 3)
        .status(TicketStatus::OnHold)
        .internal_comment("Waiting for the technician.")
        .provider_field("zendesk", "assignee_id", 235_323)
        .build()
        .unwrap()
}

#[tokio::test]
async fn zendesk_passes_the_conformance_suite() {
    let error = |status, body: &str| Reply::json(status, body);
    Suite::new(zendesk, Reply::json(200, SUCCESS))
        .route("/api/v2/tickets/{id}.json")
        .credential("authorization", AUTHORIZATION)
        .secrets(&[TOKEN])
        .business_error(
            error(
                404,
                r#"{"error":"RecordNotFound","description":"Not found"}"#,
            ),
            ErrorKind::NotFound,
        )
        .business_error(
            error(
                403,
                r#"{"error":{"title":"Forbidden","message":"No access"}}"#,
            ),
            ErrorKind::PermissionDenied,
        )
        // An edit conflict is worth retrying (Zendesk's own classifier).
        .business_error(
            error(409, r#"{"error":"Conflict","description":"Edit conflict"}"#),
            ErrorKind::Provider,
        )
        .business_error(
            error(
                422,
                r#"{"error":"RecordInvalid","description":"Record validation errors"}"#,
            ),
            ErrorKind::Provider,
        )
        .read("/api/v2/tickets/{id}.json", Reply::json(200, READ_ANSWER))
        .read_preview(|url, http, id| zendesk_client(url, http)?.preview_read(id))
        .run()
        .await;
}

#[tokio::test]
async fn the_body_and_headers_are_zendesks() {
    let server = ScriptedServer::always(Reply::json(200, SUCCESS))
        .await
        .unwrap();
    let updater = zendesk(server.url(), HttpOptions::default()).unwrap();
    let receipt = updater
        .update(&TicketId::new("35436").unwrap(), &full_update())
        .await
        .unwrap();
    assert_eq!(receipt.updated_at.unwrap().unix_timestamp(), 1_762_242_138);
    let sent = &server.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.target.as_str()),
        ("PUT", "/api/v2/tickets/35436.json")
    );
    assert_eq!(
        sent.body_text(),
        r#"{"ticket":{"assignee_id":235323,"comment":{"body":"Waiting for the technician.","public":false},"custom_fields":[{"id":360001,"value":"PRN-2024-001"},{"id":360002,"value":3}],"priority":"normal","status":"hold","subject":"Printer jammed","tags":["printer","hardware"],"type":"incident"}}"#
    );
    assert_eq!(sent.header("authorization"), Some(AUTHORIZATION));
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn statuses_visibility_and_what_zendesk_cannot_carry() {
    let server = ScriptedServer::always(Reply::json(200, SUCCESS))
        .await
        .unwrap();
    let updater = zendesk(server.url(), HttpOptions::default()).unwrap();
    let id = TicketId::new("1").unwrap();
    let body = |u: TicketUpdate| updater.preview(&id, &u).map(|p| p.body);
    let b = TicketUpdate::builder;
    for (status, wire) in [
        (TicketStatus::Open, "open"),
        (TicketStatus::InProgress, "open"),
        (TicketStatus::Pending, "pending"),
        (TicketStatus::OnHold, "hold"),
        (TicketStatus::Solved, "solved"),
        (TicketStatus::Closed, "closed"),
    ] {
        let expected = format!(r#"{{"ticket":{{"status":"{wire}"}}}}"#);
        assert_eq!(body(b().status(status).build().unwrap()).unwrap(), expected);
    }
    let new = NativeStatus::new("zendesk", "new").unwrap();
    assert_eq!(
        body(b().status(new).build().unwrap()).unwrap(),
        r#"{"ticket":{"status":"new"}}"#
    );
    let bad = NativeStatus::new("zendesk", "queued").unwrap();
    assert_eq!(
        body(b().status(bad).build().unwrap()).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let public = b()
        .comment("hi")
        .comment_visibility(CommentVisibility::Public)
        .build()
        .unwrap();
    assert_eq!(
        body(public).unwrap(),
        r#"{"ticket":{"comment":{"body":"hi","public":true}}}"#
    );
    assert_eq!(
        body(b().comment("hi").build().unwrap()).unwrap(),
        r#"{"ticket":{"comment":{"body":"hi"}}}"#
    );
    // A key-only custom field has no id to be sent by; a text id must be a number.
    let keyed = b()
        .custom_field("device_sn", "x")
        .lenient()
        .build()
        .unwrap();
    assert_eq!(body(keyed).unwrap_err().kind(), ErrorKind::InvalidInput);
    let text_id = b().custom_field_by_id("abc", "x").build().unwrap();
    assert_eq!(body(text_id).unwrap_err().kind(), ErrorKind::InvalidInput);
    match body(b().description("d").solved(true).build().unwrap()).unwrap_err() {
        TicketError::Unsupported { fields, .. } => {
            assert_eq!(fields, vec![Field::Description, Field::Solved]);
        }
        other => panic!("{other:?}"),
    }
    // A Feishu-only status is not Zendesk's to carry.
    let foreign = b()
        .status(NativeStatus::new("feishu", "queued").unwrap())
        .build()
        .unwrap();
    assert_eq!(body(foreign).unwrap_err().kind(), ErrorKind::Unsupported);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn zendesk_errors_keep_their_string_codes() {
    let not_found = Reply::json(
        404,
        r#"{"error":"RecordNotFound","description":"Not found"}"#,
    )
    .header("x-request-id", "req-404");
    let server = ScriptedServer::always(not_found).await.unwrap();
    let updater = zendesk(server.url(), HttpOptions::default()).unwrap();
    let err = updater
        .update(&TicketId::new("9").unwrap(), &full_update())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let details = err.server().unwrap();
    assert_eq!(details.code.as_ref().unwrap(), &"RecordNotFound");
    assert_eq!(details.message, "Not found");
    assert_eq!(err.request_id(), Some("req-404"));

    let forbidden = Reply::json(
        403,
        r#"{"error":{"title":"Forbidden","message":"You do not have access"}}"#,
    );
    let server = ScriptedServer::always(forbidden).await.unwrap();
    let updater = zendesk(server.url(), HttpOptions::default()).unwrap();
    let err = updater
        .update(&TicketId::new("9").unwrap(), &full_update())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.server().unwrap().message, "You do not have access");
}

#[tokio::test]
async fn selectable_with_ticket_provider_zendesk() {
    let server = ScriptedServer::always(Reply::json(200, SUCCESS))
        .await
        .unwrap();
    register().unwrap();
    register().unwrap(); // registering again replaces, it does not fail
    let config = Config::from_env_vars([
        ("TICKET_PROVIDER", "zendesk"),
        ("TICKET_ZENDESK_BASE_URL", server.url()),
        ("TICKET_ZENDESK_EMAIL", EMAIL),
        ("TICKET_ZENDESK_API_TOKEN", TOKEN),
        ("TICKET_ZENDESK_MAX_RETRIES", "0"),
    ]);
    let updater = helpdesk::connect(&config).unwrap();
    assert_eq!(updater.provider(), PROVIDER);
    let receipt = updater
        .update(&TicketId::new("35436").unwrap(), &full_update())
        .await
        .unwrap();
    assert_eq!(receipt.provider, "zendesk");
    assert_eq!(server.requests()[0].target, "/api/v2/tickets/35436.json");
    assert!(helpdesk::providers().contains(&"zendesk".to_owned()));

    let missing = Config::from_env_vars([
        ("TICKET_PROVIDER", "zendesk"),
        ("TICKET_ZENDESK_SUBDOMAIN", "acme"),
    ]);
    let err = helpdesk::connect(&missing).unwrap_err().to_string();
    assert!(err.contains("TICKET_ZENDESK_EMAIL"), "{err}");
}

/// A small stateful Zendesk: `GET` answers the ticket as it stands, `PUT` stores `tags`.
fn stateful(
    tags: Arc<std::sync::Mutex<Vec<String>>>,
) -> impl Fn(&helpdesk::testkit::RecordedRequest) -> Reply + Send + Sync + 'static {
    move |request| {
        if request.method == "PUT" {
            let body: helpdesk::kit::serde_json::Value =
                helpdesk::kit::serde_json::from_slice(&request.body).unwrap();
            if let Some(list) = body["ticket"]["tags"].as_array() {
                *tags.lock().unwrap() = list
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect();
            }
            return Reply::json(200, SUCCESS);
        }
        let tags = tags.lock().unwrap().clone();
        let ticket = helpdesk::kit::serde_json::json!({"ticket": {
            "id": 35436, "subject": "Printer jammed", "description": "Paper stuck.",
            "priority": "normal", "type": "incident", "status": "open", "tags": tags,
            "custom_fields": [{"id": 360001, "value": "PRN-2024-001"}, {"id": 360002, "value": null}],
            "updated_at": "2025-11-04T07:42:18Z"}});
        Reply::json(200, &ticket.to_string())
    }
}

#[tokio::test]
async fn zendesk_reads_and_merges_its_tags() {
    let tags = Arc::new(std::sync::Mutex::new(vec!["printer".to_owned()]));
    let server = ScriptedServer::start(stateful(Arc::clone(&tags)))
        .await
        .unwrap();
    let updater = zendesk(server.url(), HttpOptions::default()).unwrap();
    let id = TicketId::new("35436").unwrap();
    let s = updater.read(&id).await.unwrap();
    assert_eq!(s.title.as_deref(), Some("Printer jammed"));
    assert_eq!(
        (s.priority, s.kind),
        (Some(Priority::Medium), Some(TicketKind::Incident))
    );
    assert_eq!(s.status, Some(TicketStatus::Open));
    assert_eq!(s.tags.as_deref(), Some(&["printer".to_owned()][..]));
    assert_eq!(
        s.custom_fields.as_ref().unwrap()[0]
            .id
            .as_ref()
            .unwrap()
            .to_string(),
        "360001"
    );
    assert_eq!(s.updated_at.unwrap().unix_timestamp(), 1_762_242_138);
    let read = &server.requests()[0];
    assert_eq!(
        (read.method.as_str(), read.target.as_str()),
        ("GET", "/api/v2/tickets/35436.json")
    );
    assert!(read.header("authorization").unwrap().starts_with("Basic "));

    // Zendesk replaces the tags whole: merge mode sends the ticket's with the one added, and
    // the read back verifies it (`in_progress` is written as `open`, and reads back so).
    let update = TicketUpdate::builder()
        .merge()
        .add_tag("vip")
        .status(TicketStatus::InProgress)
        .verify()
        .build()
        .unwrap();
    let receipt = updater.update(&id, &update).await.unwrap();
    let put = &server.requests()[2];
    assert_eq!(
        put.body_text(),
        r#"{"ticket":{"status":"open","tags":["printer","vip"]}}"#
    );
    let v = receipt.verification.unwrap();
    assert!(v.is_verified(), "{v:?}");
    assert_eq!(v.verified, ["tags", "status"]);
    assert!(
        receipt.merge.unwrap().filled.is_empty(),
        "Zendesk requires nothing"
    );
}
