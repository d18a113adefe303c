//! `https://` without a TLS backend is a configuration error naming the features to enable,
//! before anything is sent; never a retryable "could not connect", which is what a closed port
//! gives. The refusals run in a build without TLS (`.ci/run`:
//! `cargo test -p helpdesk-ticket-http --no-default-features --test no_tls`); built with TLS,
//! the same calls are accepted.
#![allow(clippy::unwrap_used)]

use helpdesk_ticket_http::{BaseUrl, HttpOptions, PreparedRequest, RetryPolicy, Transport, Url};
use reqwest::Method;
use reqwest::header::HeaderMap;
use ticket_core::{ErrorKind, TicketError};

const TLS: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

fn names_the_features(err: &TicketError) {
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(!err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("`rustls`") && text.contains("`native-tls`"),
        "{text}"
    );
}

#[test]
fn an_https_base_url_needs_a_tls_feature() {
    let http = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
    assert!(http.require_tls_backend().is_ok());
    let https = BaseUrl::parse("https://desk.example.com").unwrap();
    let verdict = https.require_tls_backend();
    assert_eq!(verdict.is_ok(), TLS, "{verdict:?}");
    if let Err(err) = verdict {
        names_the_features(&err);
    }
}

#[tokio::test]
async fn a_transport_refuses_https_before_connecting() {
    // Nothing listens on port 1: with TLS the attempt fails to connect.
    let transport = Transport::new(
        "x",
        HttpOptions::default().retry(RetryPolicy::disabled()),
        &[],
    )
    .unwrap();
    let url = Url::parse("https://127.0.0.1:1/t").unwrap();
    let request = PreparedRequest::new(Method::PUT, url, HeaderMap::new(), "{}");
    let err = transport.send(&request).await.unwrap_err();
    if TLS {
        assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    } else {
        names_the_features(&err);
    }
}
