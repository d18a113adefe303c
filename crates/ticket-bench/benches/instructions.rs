//! Instruction counts per update, for a noisy machine: wall-clock figures move 10–30 % between
//! runs here, while `valgrind --tool=callgrind` counts the same instructions every time.
//!
//! Runs `N` sequential updates of one variant against the minimal in-process server (client
//! and server on one current-thread runtime, so callgrind sees both). Run it twice with
//! different `N`; the difference divided by the difference in `N` is the cost of one update,
//! free of start-up:
//!
//! ```sh
//! cargo bench -p ticket-bench --bench instructions --no-run
//! BIN=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
//! for v in raw provider facade; do for n in 500 1500; do
//!   VARIANT=$v N=$n PROVIDER=engagelab valgrind --tool=callgrind \
//!     --callgrind-out-file=cg.$v.$n.out $BIN 2>&1 | grep Collected
//! done; done
//! ```
//!
//! `VARIANT`: `raw` (the floor, `ticket_bench::floor`: the library's prepared request sent
//! with reqwest, everything built once; `FLOOR_HEADERS` = `move` (default), `calls` or
//! `clone` says how its headers reach reqwest), `hand` (reqwest + serde by hand,
//! `ticket_bench::hand`), `provider` (the provider client) or `facade`
//! (`Arc<dyn TicketUpdater>` from a `Config`). `PROVIDER`: `engagelab` or `feishu`. All of
//! them send the same bytes (`tests/same_request.rs`). Without `N` (as under
//! `cargo test --benches`) it sends 10.

use std::sync::Arc;

use ticket_bench::floor::{self, Floor, HeaderWay};
use ticket_bench::{fixtures, hand::Hand, server::FixedServer};
use ticket_core::TicketUpdater;
use ticket_facade::Config;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn facade(name: &str, base: &str) -> Arc<dyn TicketUpdater> {
    let entries: Vec<(String, String)> = if name == "engagelab" {
        vec![
            ("engagelab.api_key".into(), floor::ENGAGELAB_KEY.into()),
            (
                "engagelab.api_secret".into(),
                floor::ENGAGELAB_SECRET.into(),
            ),
            ("engagelab.base_url".into(), base.into()),
        ]
    } else {
        vec![
            (
                "feishu.user_access_token".into(),
                floor::FEISHU_TOKEN.into(),
            ),
            (
                "feishu.helpdesk_id".into(),
                floor::FEISHU_HELPDESK_ID.into(),
            ),
            (
                "feishu.helpdesk_token".into(),
                floor::FEISHU_HELPDESK_TOKEN.into(),
            ),
            ("feishu.base_url".into(), base.into()),
        ]
    };
    ticket_facade::connect(&Config::from_map(entries).with_provider(name)).expect("a facade")
}

fn main() {
    let variant = env("VARIANT", "provider");
    let name = env("PROVIDER", "engagelab");
    let per_call = env("BUILD", "call") == "call";
    let n: usize = env("N", "10").parse().expect("N is a number");
    let way = HeaderWay::parse(&env("FLOOR_HEADERS", "move")).expect("move, calls or clone");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let server = FixedServer::start_on_current_runtime()
            .await
            .expect("a server");
        let base = server.base_url();
        let (id, update, fixture): (_, _, fn() -> ticket_core::TicketUpdate) =
            if name == "engagelab" {
                (
                    fixtures::engagelab_id(),
                    fixtures::engagelab_small(),
                    fixtures::engagelab_small,
                )
            } else {
                (
                    fixtures::feishu_id(),
                    fixtures::feishu_small(),
                    fixtures::feishu_small,
                )
            };
        let client: Arc<dyn TicketUpdater> = match (variant.as_str(), name.as_str()) {
            ("facade", _) => facade(&name, &base),
            (_, "engagelab") => Arc::new(floor::engagelab_client(&base)),
            _ => Arc::new(floor::feishu_client(&base)),
        };
        // The floor and the hand-written contestant send the library's request, headers and
        // all, on a bare client (tests/same_request.rs compares the bytes).
        let request = floor::library_request(&name, &base);
        let raw = Floor::new(&request, way);
        let hand = Hand::new(&name, &base, &request);
        for _ in 0..n {
            match variant.as_str() {
                "raw" => raw.send().await.expect("an answer"),
                "hand" => hand.update(id.as_str()).await.expect("an answer"),
                _ if per_call => {
                    let update = fixture();
                    client.update(&id, &update).await.expect("an update");
                }
                _ => {
                    client.update(&id, &update).await.expect("an update");
                }
            }
        }
        println!(
            "{variant} {name}: {n} updates, server answered {}",
            server.requests()
        );
    });
}
