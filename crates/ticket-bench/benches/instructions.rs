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
//!
//! `BUDGET` (facade only): `none` (default), `local` or `redis`: the facade with a rate budget
//! that always has room (`rate_limit = 1000000/s`), local or shared through a `redis-server`
//! this binary starts on a loopback port (a process of its own, so callgrind counts only the
//! client's side of each Redis call). The difference from `none` is the budget's cost per
//! update when it does not wait.

use std::sync::Arc;

use helpdesk::Config;
use ticket_bench::floor::{self, Floor, HeaderWay};
use ticket_bench::{fixtures, hand::Hand, server::FixedServer};
use ticket_core::TicketUpdater;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The facade's client and its rate budget; `budget`: the keys of one (without the provider's
/// prefix).
fn facade(name: &str, base: &str, budget: &[(&str, String)]) -> helpdesk::Connected {
    let mut entries: Vec<(String, String)> = if name == "engagelab" {
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
    entries.extend(
        budget
            .iter()
            .map(|(k, v)| (format!("{name}.{k}"), v.clone())),
    );
    helpdesk::connect_budgeted(&Config::from_map(entries).with_provider(name)).expect("a facade")
}

fn main() {
    let variant = env("VARIANT", "provider");
    let name = env("PROVIDER", "engagelab");
    let per_call = env("BUILD", "call") == "call";
    let n: usize = env("N", "10").parse().expect("N is a number");
    let way = HeaderWay::parse(&env("FLOOR_HEADERS", "move")).expect("move, calls or clone");
    let budget_kind = env("BUDGET", "none");
    // A budget that always has room: it checks, and never waits.
    let mut budget = vec![("rate_limit", "1000000/s".to_owned())];
    let redis = match budget_kind.as_str() {
        "none" => {
            budget.clear();
            None
        }
        "local" => None,
        "redis" => {
            let redis = ticket_sandbox::RedisServer::start(None, None)
                .unwrap_or_else(|why| panic!("BUDGET=redis needs redis-server: {why}"));
            budget.extend([
                ("rate_budget", "redis".to_owned()),
                ("redis_url", redis.url().to_owned()),
                // Never fall back because callgrind slows this process down.
                ("rate_budget_timeout_ms", "60000".to_owned()),
            ]);
            Some(redis)
        }
        other => panic!("BUDGET must be none, local or redis, not {other}"),
    };
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
        let (client, rate_budget): (Arc<dyn TicketUpdater>, _) =
            match (variant.as_str(), name.as_str()) {
                ("facade", _) => {
                    let connected = facade(&name, &base, &budget);
                    (connected.updater, connected.budget)
                }
                (_, "engagelab") => (Arc::new(floor::engagelab_client(&base)), None),
                _ => (Arc::new(floor::feishu_client(&base)), None),
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
            "{variant} {name} (budget {budget_kind}): {n} updates, server answered {}",
            server.requests()
        );
        if let Some(b) = rate_budget {
            // Every update drew from the budget as configured: never the fallback.
            let status = b.status();
            assert_eq!(status.shared, redis.is_some(), "{status:?}");
            assert_eq!(status.fallbacks, 0, "{status:?}");
        }
    });
    drop(redis);
}
