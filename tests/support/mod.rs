//! Shared set-up of the workspace's integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use ticket_facade::{Priority, TicketId, TicketStatus, TicketUpdate, TicketUpdater};
use ticket_http::{HttpOptions, RetryPolicy};

pub const EL_KEY: &str = "el-key-5d1e0c";
pub const EL_SECRET: &str = "el-secret-9a3b77";
pub const FS_TOKEN: &str = "u-static-3f9a1c";
pub const FS_HELPDESK_ID: &str = "7012345678";
pub const FS_HELPDESK_TOKEN: &str = "ht-8e2d4b6f";

/// A success that names no ticket (so it answers an update of any id).
pub const EL_OK: &str =
    r#"{"code":0,"message":"Success","data":{"updated_at":"2025-11-04T10:30:00+08:00"}}"#;
pub const FS_OK: &str = r#"{"code":0,"msg":"success","data":{}}"#;

/// Short timeouts and `retries` quick retries without jitter.
pub fn fast(retries: u32) -> HttpOptions {
    HttpOptions::default()
        .connect_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(400))
        .retry(
            RetryPolicy::default()
                .max_retries(retries)
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(50))
                .jitter(false)
                .budget(Duration::from_secs(5)),
        )
}

pub fn engagelab(url: &str, http: HttpOptions) -> Arc<dyn TicketUpdater> {
    let config = EngageLabConfig::new(EL_KEY, EL_SECRET)
        .unwrap()
        .with_base_url(url)
        .unwrap()
        .with_http_options(http);
    Arc::new(EngageLabClient::new(config).unwrap())
}

pub fn feishu(url: &str, http: HttpOptions) -> Arc<dyn TicketUpdater> {
    let config = FeishuConfig::with_static_token(FS_TOKEN, FS_HELPDESK_ID, FS_HELPDESK_TOKEN)
        .unwrap()
        .with_base_url(url)
        .unwrap()
        .with_http_options(http);
    Arc::new(FeishuClient::new(config).unwrap())
}

/// An update each provider accepts.
pub fn update_for(provider: &str) -> TicketUpdate {
    match provider {
        "engagelab" => TicketUpdate::builder()
            .title("Printer jammed")
            .description("Paper stuck.")
            .priority(Priority::High)
            .build()
            .unwrap(),
        // No comment: a comment is not idempotent and is not retried after a 5xx
        // (tests/no_duplicate_comments.rs); these tests exercise retries in general.
        _ => TicketUpdate::builder()
            .status(TicketStatus::InProgress)
            .tag("printer")
            .build()
            .unwrap(),
    }
}

pub fn id(text: &str) -> TicketId {
    TicketId::new(text).unwrap()
}

/// Every configured secret, including the base64 header forms.
pub fn secrets() -> Vec<String> {
    use base64_like::encode;
    vec![
        EL_KEY.into(),
        EL_SECRET.into(),
        FS_TOKEN.into(),
        FS_HELPDESK_TOKEN.into(),
        encode(&format!("{EL_KEY}:{EL_SECRET}")),
        encode(&format!("{FS_HELPDESK_ID}:{FS_HELPDESK_TOKEN}")),
    ]
}

/// Standard base64, enough for the tests (avoids a dependency).
mod base64_like {
    pub fn encode(text: &str) -> String {
        const TABLE: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// The update the Feishu token tests send: a status change every seeded ticket accepts.
pub fn in_progress() -> TicketUpdate {
    TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .build()
        .unwrap()
}

/// A sandbox seeded with the default Feishu ticket `ticket`, its tokens living `ttl` (the
/// sandbox's default when `None`).
pub async fn feishu_sandbox(ticket: &str, ttl: Option<Duration>) -> ticket_sandbox::Sandbox {
    let mut builder = ticket_sandbox::Sandbox::builder().seed_feishu_default(ticket);
    if let Some(ttl) = ttl {
        builder = builder.token_ttl(ttl);
    }
    builder.start().await.unwrap()
}

/// A refreshing token source for `sb`'s app and its first refresh token, aimed at `sb`.
pub fn refreshing(sb: &ticket_sandbox::Sandbox) -> provider_feishu::RefreshingTokenBuilder {
    let c = sb.credentials();
    provider_feishu::RefreshingToken::builder(
        &c.feishu_app_id,
        &c.feishu_app_secret,
        &c.feishu_refresh_token,
    )
    .base_url(sb.base_url())
}

/// A Feishu client of `sb`'s helpdesk whose user tokens come from `source`.
pub fn feishu_client(
    sb: &ticket_sandbox::Sandbox,
    source: Arc<dyn provider_feishu::UserTokenSource>,
) -> Arc<dyn TicketUpdater> {
    let c = sb.credentials();
    let config = FeishuConfig::new(source, &c.feishu_helpdesk_id, &c.feishu_helpdesk_token)
        .unwrap()
        .with_base_url(&sb.base_url())
        .unwrap();
    Arc::new(FeishuClient::new(config).unwrap())
}

/// A `Write` sink that keeps everything written to it.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        self.text_from(0)
    }

    /// How many bytes have been written so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// What was written after the first `start` bytes.
    pub fn text_from(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[start..]).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The TRACE logs of the whole test binary (ours, and reqwest's and hyper's through the `log`
/// bridge), captured from the first call on.
pub fn trace_logs() -> &'static Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        tracing_log::LogTracer::init().unwrap();
        capture
    })
}
