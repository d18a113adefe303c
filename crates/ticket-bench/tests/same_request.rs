//! Every contestant of the benchmarks sends the library's request byte for byte: method,
//! target, every header in order (`host` and `content-length` included) and body, recorded
//! whole on `ticket_http`'s loopback server. A floor or a hand-written client that sent less
//! (a header missing, another `content-type`) would be cheaper for it, and the comparison of
//! BENCHMARKS.md section 5 would not hold.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use helpdesk::Config;
use ticket_bench::fixtures;
use ticket_bench::floor::{self, Floor, HeaderWay};
use ticket_bench::hand::Hand;
use ticket_core::TicketUpdater;
use ticket_http::test_server::{RecordedRequest, Reply, ScriptedServer};

/// `(contestant, request)` for every contestant of `provider`, the facade first.
async fn requests(provider: &str) -> Vec<(&'static str, RecordedRequest)> {
    let success = if provider == "engagelab" {
        fixtures::ENGAGELAB_SUCCESS
    } else {
        fixtures::FEISHU_SUCCESS
    };
    let server = ScriptedServer::always(Reply::json(200, success))
        .await
        .expect("a loopback server");
    let base = server.url().to_owned();
    let (id, update) = if provider == "engagelab" {
        (fixtures::engagelab_id(), fixtures::engagelab_small())
    } else {
        (fixtures::feishu_id(), fixtures::feishu_small())
    };
    let config = if provider == "engagelab" {
        Config::from_map([
            ("engagelab.api_key", floor::ENGAGELAB_KEY),
            ("engagelab.api_secret", floor::ENGAGELAB_SECRET),
            ("engagelab.base_url", base.as_str()),
        ])
    } else {
        Config::from_map([
            ("feishu.user_access_token", floor::FEISHU_TOKEN),
            ("feishu.helpdesk_id", floor::FEISHU_HELPDESK_ID),
            ("feishu.helpdesk_token", floor::FEISHU_HELPDESK_TOKEN),
            ("feishu.base_url", base.as_str()),
        ])
    }
    .with_provider(provider);
    let facade = helpdesk::connect(&config).expect("a facade");
    facade
        .update(&id, &update)
        .await
        .expect("the facade's update");
    if provider == "engagelab" {
        let client = floor::engagelab_client(&base);
        client.update(&id, &update).await.expect("an update");
    } else {
        let client = floor::feishu_client(&base);
        client.update(&id, &update).await.expect("an update");
    }
    let library = floor::library_request(provider, &base);
    for way in [HeaderWay::Move, HeaderWay::Calls, HeaderWay::Clone] {
        Floor::new(&library, way).send().await.expect("the floor");
    }
    Hand::new(provider, &base, &library)
        .update(id.as_str())
        .await
        .expect("the hand-written update");
    let names = [
        "facade",
        "provider",
        "floor (move)",
        "floor (calls)",
        "floor (clone)",
        "hand-written",
    ];
    let recorded = server.requests();
    assert_eq!(recorded.len(), names.len(), "one request per contestant");
    names.into_iter().zip(recorded).collect()
}

fn assert_identical(provider: &str, requests: &[(&str, RecordedRequest)]) {
    let (_, facade) = &requests[0];
    for (name, request) in &requests[1..] {
        assert_eq!(
            (&request.method, &request.target, &request.headers),
            (&facade.method, &facade.target, &facade.headers),
            "{provider}: {name} sends other headers than the facade"
        );
        assert_eq!(
            request.body_text(),
            facade.body_text(),
            "{provider}: {name} sends another body than the facade"
        );
    }
}

fn names(request: &RecordedRequest) -> Vec<&str> {
    request.headers.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn engagelab_contestants_send_the_facade_request_byte_for_byte() {
    let requests = requests("engagelab").await;
    assert_identical("engagelab", &requests);
    let facade = &requests[0].1;
    assert_eq!(facade.method, "PUT");
    assert_eq!(
        facade.target,
        format!("/api/v2/accounts/tickets/{}", fixtures::ENGAGELAB_TICKET)
    );
    assert_eq!(
        names(facade),
        [
            "authorization",
            "content-type",
            "accept",
            "user-agent",
            "host",
            "content-length"
        ]
    );
    assert_eq!(facade.header("content-type"), Some("application/json"));
    assert!(
        facade
            .header("user-agent")
            .unwrap()
            .starts_with("helpdesk-tickets/")
    );
}

#[tokio::test]
async fn feishu_contestants_send_the_facade_request_byte_for_byte() {
    let requests = requests("feishu").await;
    assert_identical("feishu", &requests);
    let facade = &requests[0].1;
    assert_eq!(facade.method, "PUT");
    assert_eq!(
        facade.target,
        format!("/open-apis/helpdesk/v1/tickets/{}", fixtures::FEISHU_TICKET)
    );
    assert_eq!(
        names(facade),
        [
            "authorization",
            "x-lark-helpdesk-authorization",
            "content-type",
            "accept",
            "user-agent",
            "host",
            "content-length"
        ]
    );
    assert_eq!(
        facade.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(
        facade
            .header("user-agent")
            .unwrap()
            .starts_with("helpdesk-tickets/")
    );
}
