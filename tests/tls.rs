//! TLS over a real loopback server whose certificate is made on the spot: an untrusted
//! certificate is a permanent error (one handshake, no retries), and `ca_file` makes it
//! trusted.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use provider_engagelab::{EngageLabClient, EngageLabConfig};
use support::*;
use ticket_facade::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server on 127.0.0.1 answering every request with EngageLab's success; returns its
/// URL, the certificate as PEM, and the count of TCP connections.
async fn tls_server() -> (String, String, Arc<AtomicUsize>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let pem = certified.cert.pem();
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(certified.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{EL_OK}",
                    EL_OK.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, pem, connections)
}

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
