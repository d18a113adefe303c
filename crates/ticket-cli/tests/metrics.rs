//! `helpdesk apply --metrics-addr`: the run's metrics served for Prometheus while it lasts,
//! scraped over real HTTP from a running process; and an address that cannot be bound refused
//! before anything is sent.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::*;
use predicates::prelude::*;
use ticket_sandbox::{Fault, Sandbox, Scope};

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of `GET /metrics` at `port`, or `None` while nothing answers.
fn scrape(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request =
        format!("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// t1 is refused once (503) and then applied; t2 is held by the sandbox far longer than the
/// test, so the process is still running when the metrics say t1 is done. Polled with a
/// deadline, never timed.
#[test]
fn apply_serves_its_metrics_for_prometheus_while_it_runs() {
    let env = Env::start(
        Sandbox::builder()
            .seed_feishu_default("t1")
            .seed_feishu_default("t2"),
    );
    let t1 = Scope::Ticket("t1".to_owned());
    env.sb.inject(Fault::ServerError { status: 503 }, t1, 1);
    let slow = Fault::Latency(Duration::from_secs(600));
    env.sb.inject(slow, Scope::Ticket("t2".to_owned()), 1);
    let path = env.path("in.jsonl");
    write_lines(
        &path,
        &[
            r#"{"ticket_id":"t1","status":"in_progress"}"#.to_owned(),
            r#"{"ticket_id":"t2","status":"in_progress"}"#.to_owned(),
        ],
    );
    let port = free_port();
    let mut child = env
        .helpdesk_std("feishu")
        .args(["apply", path.to_str().unwrap(), "--concurrency", "2"])
        .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let done = r#"ticket_updates{provider="feishu",outcome="ok"} 1"#;
    let mut body = String::new();
    for _ in 0..6000 {
        if let Some(text) = scrape(port) {
            body = text;
            if body.contains(done) {
                break;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "helpdesk ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(body.contains(done), "{body}");
    for expected in [
        "# TYPE ticket_updates counter",
        r#"ticket_retries{provider="feishu",operation="update"} 1"#,
        "# TYPE http_client_request_duration histogram",
        r#"http_client_request_duration_bucket{provider="feishu",operation="update",http_request_method="PUT",http_response_status_code="200",le="10"} 1"#,
        r#"http_client_request_duration_count{provider="feishu",operation="update",http_request_method="PUT",http_response_status_code="503",error_type="provider"} 1"#,
    ] {
        assert!(body.contains(expected), "{expected} not in {body}");
    }
    for secret in secrets(&env.sb) {
        assert!(!body.contains(&secret), "{secret} in {body}");
    }
}

/// An address already in use: a usage error naming it, and nothing sent.
#[test]
fn an_address_that_cannot_be_bound_is_refused_before_anything_is_sent() {
    let env = Env::start(Sandbox::builder().seed_feishu_default("t1"));
    let path = env.path("in.jsonl");
    write_lines(
        &path,
        &[r#"{"ticket_id":"t1","status":"in_progress"}"#.to_owned()],
    );
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    env.helpdesk("feishu")
        .args(["apply", path.to_str().unwrap(), "--metrics-addr", &addr])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot serve the metrics at {addr}"
        )));
    assert_eq!(env.vendor_requests(), 0);
}
