//! EngageLab runs the workspace's conformance suite (`ticket_http::testkit`) from its own
//! tests: the body carries every field it claims, strict and lenient for every field it
//! cannot carry, the exact request, errors as users meet them, and EngageLab's own error codes;
//! and its reads: the exact `GET` with the update's Basic auth, read errors, merge mode (title,
//! description and priority filled from the read) and verification.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use helpdesk_provider_engagelab::{EngageLabClient, EngageLabConfig, READ_ROUTE};
use ticket_core::{ErrorKind, TicketError, TicketUpdater};
use ticket_http::HttpOptions;
use ticket_http::testkit::{Reply, Suite};

const KEY: &str = "el-key-5f1c9a";
const SECRET: &str = "el-secret-8d2b7e41";
/// `Basic base64("el-key-5f1c9a:el-secret-8d2b7e41")`, written out as the vendor documents it.
const AUTHORIZATION: &str = "Basic ZWwta2V5LTVmMWM5YTplbC1zZWNyZXQtOGQyYjdlNDE=";

/// A read answer about ticket `{id}`: every field EngageLab carries, none with the suite's
/// values.
const READ_ANSWER: &str = r#"{"code":0,"message":"Success","data":{"ticket_id":"{id}","title":"Printer jam","description":"A4 stuck in tray 2.","attachments":[{"file_url":"https://files.example.com/error.jpg"}],"status":"open","priority":"urgent","ticket_type":"question","tags":["printer","floor-3"],"custom_fields":{"device_sn":"PRN-1","floor":3},"updated_at":"2025-11-04T15:42:18+08:00"}}"#;

fn client(url: &str, http: HttpOptions) -> Result<EngageLabClient, TicketError> {
    let config = EngageLabConfig::new(KEY, SECRET)?
        .with_base_url(url)?
        .with_http_options(http);
    EngageLabClient::new(config)
}

fn engagelab(url: &str, http: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    Ok(Arc::new(client(url, http)?))
}

#[tokio::test]
async fn engagelab_passes_the_conformance_suite() {
    // A success naming no ticket: it answers the update of any id.
    let success =
        r#"{"code":0,"message":"Success","data":{"updated_at":"2025-11-04T15:42:18+08:00"}}"#;
    let error = |status, body: &str| Reply::json(status, body);
    Suite::new(engagelab, Reply::json(200, success))
        .route("/api/v2/accounts/tickets/{id}")
        .credential("authorization", AUTHORIZATION)
        .secrets(&[KEY, SECRET])
        // EngageLab's sibling APIs' codes win over the HTTP status, in either shape.
        .business_error(
            error(200, r#"{"code":40101,"message":"invalid api key"}"#),
            ErrorKind::Unauthenticated,
        )
        .business_error(
            error(401, r#"{"error":{"code":40101,"message":"auth"}}"#),
            ErrorKind::Unauthenticated,
        )
        .business_error(
            error(200, r#"{"code":40301,"message":"no access"}"#),
            ErrorKind::PermissionDenied,
        )
        .business_error(
            error(200, r#"{"code":40401,"message":"ticket not found"}"#),
            ErrorKind::NotFound,
        )
        .business_error(
            error(400, r#"{"code":42901,"message":"slow down"}"#),
            ErrorKind::RateLimited,
        )
        .business_error(
            error(200, r#"{"code":40001,"message":"bad request"}"#),
            ErrorKind::Provider,
        )
        .business_error(
            error(400, r#"{"code":40001,"message":"bad request"}"#),
            ErrorKind::Provider,
        )
        // Reads carry the update's credentials (no `read_credential`).
        .read(READ_ROUTE, Reply::json(200, READ_ANSWER))
        .read_preview(|url, http, id| client(url, http)?.preview_read(id))
        .run()
        .await;
}
