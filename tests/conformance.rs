//! The conformance suite of `ticket_facade::testkit`, run by both built-in providers (the
//! Zendesk example runs it in its own crate).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig, FeishuStatus};
use ticket_facade::testkit::{Reply, Suite};
use ticket_facade::{HttpOptions, Priority, TicketError, TicketUpdate, TicketUpdater};

const EL_KEY: &str = "el-key-5f1c9a";
const EL_SECRET: &str = "el-secret-8d2b7e41";
const FS_TOKEN: &str = "u-7f1bcd13fc57d46bac21793a18e560";
const FS_HELPDESK_TOKEN: &str = "ht-0d5e9a71c2";

fn engagelab(url: &str, http: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    let config = EngageLabConfig::new(EL_KEY, EL_SECRET)?
        .with_base_url(url)?
        .with_http_options(http);
    Ok(Arc::new(EngageLabClient::new(config)?))
}

fn feishu(url: &str, http: HttpOptions) -> Result<Arc<dyn TicketUpdater>, TicketError> {
    let config = FeishuConfig::with_static_token(FS_TOKEN, "7012345678", FS_HELPDESK_TOKEN)?
        .with_base_url(url)?
        .with_http_options(http);
    Ok(Arc::new(FeishuClient::new(config)?))
}

#[tokio::test]
async fn engagelab_passes_the_conformance_suite() {
    // One fixed answer serves every ticket the suite updates, so it confirms no ticket id (a
    // success naming another ticket than the requested one is an error).
    let success =
        r#"{"code":0,"message":"Success","data":{"updated_at":"2025-11-04T15:42:18+08:00"}}"#;
    let update = TicketUpdate::builder()
        .title("Printer jammed")
        .description("A4 paper is stuck.")
        .priority(Priority::High)
        .tags(["printer"])
        .custom_field("device_sn", "PRN-2024-001")
        .custom_field("floor", 3)
        .attachment("https://files.example.com/a.png")
        .build()
        .unwrap();
    Suite::new(engagelab, Reply::json(200, success))
        .update(update)
        .secrets(&[EL_KEY, EL_SECRET])
        .run()
        .await;
}

#[tokio::test]
async fn feishu_passes_the_conformance_suite() {
    let update = TicketUpdate::builder()
        .status(FeishuStatus::Queued)
        .tags(["printer"])
        .custom_field_with_id("6981", "device_sn", "PRN-2024-001")
        .custom_field_by_id(6982u64, true)
        .comment("good")
        .build()
        .unwrap();
    Suite::new(
        feishu,
        Reply::json(200, r#"{"code":0,"msg":"success","data":{}}"#),
    )
    .update(update)
    .secrets(&[FS_TOKEN, FS_HELPDESK_TOKEN])
    .run()
    .await;
}
