//! Feishu runs the workspace's conformance suite (`ticket_http::testkit`) from its own tests:
//! the body carries every field it claims, strict and lenient for every field it cannot carry,
//! the exact request with both credentials, errors as users meet them, and Feishu's own codes,
//! most of which arrive with HTTP 200.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use provider_feishu::{FeishuClient, FeishuConfig};
use ticket_core::{ErrorKind, TicketError, TicketUpdater};
use ticket_http::HttpOptions;
use ticket_http::testkit::{Reply, Suite};

const TOKEN: &str = "u-7f1bcd13fc57d46bac21793a18e560";
const HELPDESK_ID: &str = "7012345678";
const HELPDESK_TOKEN: &str = "ht-0d5e9a71c2";
/// `base64("7012345678:ht-0d5e9a71c2")`, written out as the vendor documents it.
const HELPDESK_AUTHORIZATION: &str = "NzAxMjM0NTY3ODpodC0wZDVlOWE3MWMy";

fn feishu(url: &str, http: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    let config = FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN)?
        .with_base_url(url)?
        .with_http_options(http);
    Ok(Arc::new(FeishuClient::new(config)?))
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
    .secrets(&[TOKEN, HELPDESK_TOKEN]);
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
