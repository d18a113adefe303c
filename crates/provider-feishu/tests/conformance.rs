//! Feishu runs the workspace's conformance suite (`ticket_http::testkit`) from its own tests:
//! the body carries every field it claims, strict and lenient for every field it cannot carry,
//! the exact request with both credentials, errors as users meet them, and Feishu's own codes,
//! most of which arrive with HTTP 200; and its reads, with a tenant token made from the app's
//! credentials (fetched from the suite's server, renewed once when a read refuses it), never
//! the user's: the exact `GET`, read errors, merge mode and verification.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use helpdesk_provider_feishu::{
    FIELDS_ROUTE, FeishuClient, FeishuConfig, READ_ROUTE, TENANT_TOKEN_PATH,
};
use ticket_core::{ErrorKind, TicketError, TicketUpdater};
use ticket_http::HttpOptions;
use ticket_http::testkit::{Reply, Suite};

const TOKEN: &str = "u-7f1bcd13fc57d46bac21793a18e560";
const HELPDESK_ID: &str = "7012345678";
const HELPDESK_TOKEN: &str = "ht-0d5e9a71c2";
/// `base64("7012345678:ht-0d5e9a71c2")`, written out as the vendor documents it.
const HELPDESK_AUTHORIZATION: &str = "NzAxMjM0NTY3ODpodC0wZDVlOWE3MWMy";

const APP_ID: &str = "cli_a1b2c3d4e5";
const APP_SECRET: &str = "app-secret-5e8d1c0b7a";
/// The tenant token the suite's server hands out for the app's credentials.
const TENANT: &str = "t-caecc734c2e3328a62489fe0648c4b98";
/// A read answer (`ticket_v2`) about ticket `{id}`: in progress, unsolved, two tags, a
/// dropdown field, the latest comment.
const READ_ANSWER: &str = r#"{"code":0,"msg":"success","data":{"ticket":{"ticket_id":"{id}","helpdesk_id":"7012345678","comments":{"content":"called back","created_at":1700000000123,"id":3},"ticket_type":2,"status":2,"solve":1,"created_at":1700000000000,"updated_at":1700000300000,"channel":9,"customized_fields":[{"id":"6834320707288072194","value":"b","key_name":"test dropdown","display_name":"test dropdown"}],"tags":[{"id":"7474857595946745884","name":"printer"},{"id":"7474857595946745885","name":"floor-3"}]}}}"#;
/// The custom field definitions a read with a dropdown field looks up.
const FIELDS: &str = r#"{"code":0,"msg":"success","data":{"has_more":false,"items":[{"ticket_customized_field_id":"6834320707288072194","key_name":"test dropdown","field_type":"dropdown","dropdown_options":{"children":[{"tag":"1","display_name":"a"},{"tag":"2","display_name":"b"}]}}]}}"#;

fn client(url: &str, http: HttpOptions) -> Result<FeishuClient, TicketError> {
    let config = FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN)?
        .with_base_url(url)?
        .with_app_credentials(APP_ID, APP_SECRET)?
        .with_http_options(http);
    FeishuClient::new(config)
}

fn feishu(url: &str, http: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    Ok(Arc::new(client(url, http)?))
}

#[tokio::test]
async fn feishu_passes_the_conformance_suite() {
    let code = |status, code: i64, msg: &str| {
        Reply::json(
            status,
            &format!(r#"{{"code":{code},"msg":"{msg}","data":{{}}}}"#),
        )
    };
    let mut suite = Suite::new(
        feishu,
        Reply::json(200, r#"{"code":0,"msg":"success","data":{}}"#),
    )
    .route("/open-apis/helpdesk/v1/tickets/{id}")
    .credential("authorization", &format!("Bearer {TOKEN}"))
    .credential("x-lark-helpdesk-authorization", HELPDESK_AUTHORIZATION)
    .secrets(&[TOKEN, HELPDESK_TOKEN, APP_SECRET])
    // Reads: the tenant token instead of the user's, the helpdesk header as on updates.
    .read(READ_ROUTE, Reply::json(200, READ_ANSWER))
    .read_preview(|url, http, id| client(url, http)?.preview_read(id))
    .read_credential("authorization", &format!("Bearer {TENANT}"))
    .read_credential("x-lark-helpdesk-authorization", HELPDESK_AUTHORIZATION)
    .read_token_refusal(code(
        200,
        99991663,
        "Invalid access token for authorization",
    ))
    .serve(
        TENANT_TOKEN_PATH,
        Reply::json(
            200,
            &format!(r#"{{"code":0,"msg":"ok","tenant_access_token":"{TENANT}","expire":7200}}"#),
        ),
    )
    .serve(FIELDS_ROUTE, Reply::json(200, FIELDS));
    // A refused user token arrives with HTTP 200; a static token cannot be refreshed, so each
    // is sent once.
    for token_code in [99991661, 99991663, 99991668, 99991671, 99991677] {
        suite = suite.business_error(
            code(200, token_code, "token invalid"),
            ErrorKind::Unauthenticated,
        );
    }
    suite
        .business_error(
            code(401, 99991663, "Invalid access token"),
            ErrorKind::Unauthenticated,
        )
        .business_error(code(200, 154003, "no access"), ErrorKind::PermissionDenied)
        .business_error(code(403, 154003, "no access"), ErrorKind::PermissionDenied)
        .business_error(code(200, 99991672, "scope"), ErrorKind::PermissionDenied)
        .business_error(code(200, 154004, "not found"), ErrorKind::NotFound)
        .business_error(code(404, 154004, "not found"), ErrorKind::NotFound)
        .business_error(code(429, 99991400, "limit"), ErrorKind::RateLimited)
        .business_error(code(400, 99991400, "limit"), ErrorKind::RateLimited)
        .business_error(code(200, 99991400, "limit"), ErrorKind::RateLimited)
        .business_error(code(400, 154000, "bad request"), ErrorKind::Provider)
        .business_error(code(500, 155000, "internal"), ErrorKind::Provider)
        .business_error(code(200, 1, "unknown"), ErrorKind::Provider)
        .run()
        .await;
}
