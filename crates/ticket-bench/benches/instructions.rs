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
//! `VARIANT`: `raw` (hand-written reqwest PUT, body and headers built once), `provider` (the
//! provider client) or `facade` (`Arc<dyn TicketUpdater>` from a `Config`). `PROVIDER`:
//! `engagelab` or `feishu`. Without `N` (as under `cargo test --benches`) it sends 10.
//!
//! `BUDGET` (facade only): `none` (default), `local` or `redis`: the facade with a rate budget
//! that always has room (`rate_limit = 1000000/s`), local or shared through a `redis-server`
//! this binary starts on a loopback port (a process of its own, so callgrind counts only the
//! client's side of each Redis call). The difference from `none` is the budget's cost per
//! update when it does not wait.

use std::sync::Arc;

use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig};
use secrecy::SecretString;
use ticket_bench::{fixtures, hand, server::FixedServer};
use ticket_core::{TicketId, TicketUpdate, TicketUpdater};
use ticket_facade::Config;
use ticket_http::reqwest::Method;
use ticket_http::reqwest::header::{self, HeaderValue};
use ticket_http::{HttpOptions, PreparedRequest};

const KEY: &str = "sandbox-engagelab-key";
const SECRET: &str = "sandbox-engagelab-secret";
const TOKEN: &str = "u-sandbox-feishu-user-token";
const HELPDESK_ID: &str = "sandbox-helpdesk-id";
const HELPDESK_TOKEN: &str = "sandbox-helpdesk-token";

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The provider client, its ticket, its update, and the request it prepares for them.
fn provider(
    name: &str,
    base: &str,
) -> (
    Arc<dyn TicketUpdater>,
    TicketId,
    TicketUpdate,
    PreparedRequest,
) {
    if name == "engagelab" {
        let config = EngageLabConfig::new(KEY, SECRET)
            .and_then(|c| c.with_base_url(base))
            .expect("a config");
        let client = EngageLabClient::new(config).expect("a client");
        let (id, update) = (fixtures::engagelab_id(), fixtures::engagelab_small());
        let (request, _) = client.prepare(&id, &update).expect("prepare");
        (Arc::new(client), id, update, request)
    } else {
        let config = FeishuConfig::with_static_token(TOKEN, HELPDESK_ID, HELPDESK_TOKEN)
            .and_then(|c| c.with_base_url(base))
            .expect("a config");
        let client = FeishuClient::new(config).expect("a client");
        let (id, update) = (fixtures::feishu_id(), fixtures::feishu_small());
        let token = SecretString::from(TOKEN);
        let (request, _) = client
            .prepare_with_token(&id, &update, &token)
            .expect("prepare");
        (Arc::new(client), id, update, request)
    }
}

/// The facade's client and its rate budget; `budget`: the keys of one (without the provider's
/// prefix).
fn facade(name: &str, base: &str, budget: &[(&str, String)]) -> ticket_facade::Connected {
    let mut entries: Vec<(String, String)> = if name == "engagelab" {
        vec![
            ("engagelab.api_key".into(), KEY.into()),
            ("engagelab.api_secret".into(), SECRET.into()),
            ("engagelab.base_url".into(), base.into()),
        ]
    } else {
        vec![
            ("feishu.user_access_token".into(), TOKEN.into()),
            ("feishu.helpdesk_id".into(), HELPDESK_ID.into()),
            ("feishu.helpdesk_token".into(), HELPDESK_TOKEN.into()),
            ("feishu.base_url".into(), base.into()),
        ]
    };
    entries.extend(
        budget
            .iter()
            .map(|(k, v)| (format!("{name}.{k}"), v.clone())),
    );
    ticket_facade::connect_budgeted(&Config::from_map(entries).with_provider(name))
        .expect("a facade")
}

fn main() {
    let variant = env("VARIANT", "provider");
    let name = env("PROVIDER", "engagelab");
    let per_call = env("BUILD", "call") == "call";
    let n: usize = env("N", "10").parse().expect("N is a number");
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
        let (client, id, update, request) = provider(&name, &base);
        let (client, rate_budget) = if variant == "facade" {
            let connected = facade(&name, &base, &budget);
            (connected.updater, connected.budget)
        } else {
            (client, None)
        };
        // The floor and the hand-written contestant use a bare client: reqwest's defaults
        // plus the same security settings, and no default headers of ours. Every header
        // (`user-agent` included) is in the request, so the bytes on the wire are the
        // library's own (checked below).
        let bare = hand::bare_client();
        let user_agent = HeaderValue::from_str(&HttpOptions::default().user_agent).expect("text");
        let mut floor_headers = request.headers().clone();
        floor_headers.insert(header::USER_AGENT, user_agent.clone());
        let url = ticket_http::Url::parse(request.url()).expect("a URL");
        let auth = request.headers()[header::AUTHORIZATION].clone();
        assert_eq!(hand::body(&name), request.body().as_ref(), "the same body");
        let fixture = if name == "engagelab" {
            fixtures::engagelab_small
        } else {
            fixtures::feishu_small
        };
        for _ in 0..n {
            match variant.as_str() {
                "raw" => {
                    let response = bare
                        .request(Method::PUT, url.clone())
                        .headers(floor_headers.clone())
                        .body(request.body().clone())
                        .send()
                        .await
                        .expect("an answer");
                    assert!(response.status().is_success());
                    response.bytes().await.expect("a body");
                }
                "hand" => {
                    hand::update(&bare, &name, &base, id.as_str(), &auth, &user_agent).await;
                }
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
