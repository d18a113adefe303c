//! Feeds arbitrary answers (status, one rate-limit header, body) to both providers' decoders:
//! they must return a value or a typed error, never panic, and never accept a non-2xx status.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use ticket_core::TicketId;
use ticket_http::RawResponse;
use ticket_http::reqwest::header::{HeaderMap, HeaderValue};

fn clients() -> &'static (EngageLabClient, FeishuClient) {
    static CLIENTS: OnceLock<(EngageLabClient, FeishuClient)> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let el =
            EngageLabClient::new(EngageLabConfig::new("k", "s").expect("config")).expect("client");
        let fs = FeishuClient::new(
            FeishuConfig::with_static_token("u-token", "1", "t").expect("config"),
        )
        .expect("client");
        (el, fs)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let header_len = usize::from(data[2] % 8).min(data.len() - 3);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(&data[3..3 + header_len]) {
        headers.insert("x-ogw-ratelimit-reset", value.clone());
        headers.insert("retry-after", value);
    }
    let body = data[3 + header_len..].to_vec();
    let response = RawResponse::new(status, headers, body, None);
    let (el, fs) = clients();
    let id = TicketId::new("1").expect("an id");
    let a = el.decode(&id, &response);
    let b = fs.decode(&id, &response);
    if a.is_ok() || b.is_ok() {
        assert!((200..300).contains(&status));
    }
});
