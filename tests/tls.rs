//! TLS over a real loopback server whose certificate is made on the spot: an untrusted
//! certificate is a permanent error (one handshake, no retries), and `ca_file` makes it
//! trusted.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;

use helpdesk::ErrorKind;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use support::tls_server::tls_server;
use support::*;

#[tokio::test]
async fn an_untrusted_certificate_is_permanent_and_ca_file_trusts_it() {
    let (url, pem, connections) = tls_server().await;
    let err = engagelab(&url, fast(3))
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("ca_file"), "{err}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one handshake, no retries"
    );

    let path = std::env::temp_dir().join(format!("ticket-tls-test-{}.pem", std::process::id()));
    std::fs::write(&path, &pem).unwrap();
    let receipt = engagelab(&url, fast(0).ca_file(&path))
        .update(&id("t1"), &update_for("engagelab"))
        .await;
    std::fs::remove_file(&path).unwrap();
    receipt.unwrap();
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let path = std::env::temp_dir().join(format!("ticket-tls-empty-{}.pem", std::process::id()));
    std::fs::write(&path, "not a certificate").unwrap();
    let result = EngageLabClient::new(
        EngageLabConfig::new(EL_KEY, EL_SECRET)
            .unwrap()
            .with_http_options(fast(0).ca_file(&path)),
    );
    std::fs::remove_file(&path).unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("ca_file"), "{err}");
}
