//! The system's root certificates are read once per process, at the first certificate a client
//! checks: never for a plain `http://` client, never again for a second client, of any
//! provider (the certificate directories beside the bundle once more at most, for a
//! certificate the bundle's roots do not vouch for); a client's `ca_file` root is its own. Counted with `ticket_http::system_root_reads`
//! (feature `test-util`). One test alone in its binary: the count is the process's, so no other
//! test may speak TLS before this one has checked its zero.
#![allow(clippy::unwrap_used)]

mod support;

use helpdesk::ErrorKind;
use support::tls_server::tls_server;
use support::*;
use ticket_http::system_root_reads;
use ticket_http::test_server::{Reply, ScriptedServer};

#[tokio::test]
async fn system_roots_are_read_once_per_process_and_only_for_tls() {
    // The count is kept where the roots are shared (see ticket-http's `tls` module).
    let shared = cfg!(all(
        unix,
        not(target_os = "android"),
        not(target_vendor = "apple")
    ));
    assert_eq!(system_root_reads(), 0);

    // Plain http:// to loopback, both providers, clients built and used: no roots read.
    let el = ScriptedServer::always(Reply::json(200, EL_OK))
        .await
        .unwrap();
    engagelab(el.url(), fast(0))
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap();
    let fs = ScriptedServer::always(Reply::json(200, FS_OK))
        .await
        .unwrap();
    feishu(fs.url(), fast(0))
        .update(&id("t1"), &update_for("feishu"))
        .await
        .unwrap();
    let config = helpdesk::Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.base_url", el.url()),
    ]);
    helpdesk::connect(&config)
        .unwrap()
        .update(&id("t2"), &update_for("engagelab"))
        .await
        .unwrap();
    assert_eq!(system_root_reads(), 0, "an http:// client read the roots");

    // The first certificate check reads them: a client trusting the server through its own
    // `ca_file`, beside the system's roots.
    let (url, pem, connections) = tls_server().await;
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &pem).unwrap();
    engagelab(&url, fast(0).ca_file(ca.path()))
        .update(&id("t1"), &update_for("engagelab"))
        .await
        .unwrap();
    assert_eq!(system_root_reads(), usize::from(shared));

    // A second client, through `connect`, with its own `ca_file`: trusted, no second read.
    let config = helpdesk::Config::from_map([
        ("provider", "engagelab"),
        ("engagelab.api_key", "k"),
        ("engagelab.api_secret", "s"),
        ("engagelab.base_url", url.as_str()),
        ("engagelab.ca_file", ca.path().to_str().unwrap()),
    ]);
    helpdesk::connect(&config)
        .unwrap()
        .update(&id("t3"), &update_for("engagelab"))
        .await
        .unwrap();
    assert_eq!(system_root_reads(), usize::from(shared));

    // Clients without `ca_file`: the others' root is not theirs, so the server is refused.
    // The first refusal may read the certificate directories beside the bundle (one more
    // read, when the system has both); the next reads nothing.
    let untrusted = || async {
        let err = engagelab(&url, fast(0))
            .update(&id("t1"), &update_for("engagelab"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
        assert!(err.to_string().contains("ca_file"), "{err}");
    };
    untrusted().await;
    let reads = system_root_reads();
    assert!(reads <= 2 * usize::from(shared), "{reads} reads");
    untrusted().await;
    assert_eq!(system_root_reads(), reads);
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "one handshake per client"
    );
}
