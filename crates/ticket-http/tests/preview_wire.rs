//! A preview is the request as sent, including what hyper adds: `content-length` goes on the
//! wire only with a body (hyper writes none for an empty one, whatever the method), so a read's
//! `GET` is previewed without one, and an update with its body's length.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used)]

use helpdesk_ticket_http::test_server::{Reply, ScriptedServer};
use helpdesk_ticket_http::{HttpOptions, PreparedRequest, RetryPolicy, Transport, Url};
use reqwest::Method;
use reqwest::header::HeaderMap;

#[tokio::test]
async fn content_length_is_previewed_exactly_when_it_is_sent() {
    let server = ScriptedServer::always(Reply::json(200, "{}"))
        .await
        .unwrap();
    let options = HttpOptions::default().retry(RetryPolicy::disabled());
    let transport = Transport::new("x", options, &[]).unwrap();
    let url = Url::parse(&format!("{}/t/1", server.url())).unwrap();
    let cases = [
        (Method::GET, "", None),
        (Method::PUT, "", None),
        (Method::PUT, r#"{"title":"x"}"#, Some("13")),
    ];
    for (i, (method, body, length)) in cases.into_iter().enumerate() {
        let request = PreparedRequest::new(method.clone(), url.clone(), HeaderMap::new(), body);
        let preview = transport.preview(&request);
        transport.send(&request).await.unwrap();
        let sent = &server.requests()[i];
        let names = |headers: &[(String, String)]| -> Vec<String> {
            headers
                .iter()
                .map(|(n, _)| n.to_ascii_lowercase())
                .collect()
        };
        assert_eq!(
            names(&preview.headers),
            names(&sent.headers),
            "{method} with {body:?}: the headers previewed are the headers sent, in order"
        );
        assert_eq!(sent.header("content-length"), length, "{method} {body:?}");
        let previewed = preview.headers.iter().find(|(n, _)| n == "content-length");
        assert_eq!(
            previewed.map(|(_, v)| v.as_str()),
            length,
            "{method} {body:?}"
        );
    }
}
