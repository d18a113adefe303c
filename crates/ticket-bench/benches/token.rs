//! Feishu token source costs. Prints Markdown; asserts nothing about time; stops by itself.
//!
//! `cargo bench -p ticket-bench --bench token`. Without the `--bench` argument that
//! `cargo bench` passes (as under `cargo test --benches`) the counts shrink to a smoke test.
//!
//! - `fresh`: the cost of `UserTokenSource::access_token` per update while the cached token is
//!   fresh (the hot path: no store is read), for a `RefreshingToken` on a file store and for a
//!   `StaticToken`; `TOKEN_ROUNDS` rounds (default 10) of `TOKEN_CALLS` calls (default 1,000,000).
//! - `recovery`: six `FeishuClient`s with six `RefreshingToken`s sharing one `FileTokenStore`
//!   (the several-processes-on-one-host deployment, in one process), against the sandbox. Each
//!   round expires every access token at the sandbox, then times until all six have landed one
//!   update (refused → one shared refresh → retry); `TOKEN_RECOVERIES` rounds (default 30).
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use provider_feishu::{
    FeishuClient, FeishuConfig, FileTokenStore, RefreshingToken, StaticToken, UserTokenSource,
};
use ticket_bench::stats::{median, min_max};
use ticket_core::{TicketId, TicketStatus, TicketUpdate, TicketUpdater};
use ticket_sandbox::Sandbox;

fn setting(name: &str, bench: u64, smoke: u64) -> u64 {
    let full = std::env::args().any(|a| a == "--bench");
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { bench } else { smoke })
}

async fn per_call_ns(source: &dyn UserTokenSource, calls: u64) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(source.access_token().await.unwrap());
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

fn spread(values: &[f64]) -> String {
    let (min, max) = min_max(values);
    format!("{:.2} | {min:.2} | {max:.2}", median(values))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = setting("TOKEN_ROUNDS", 10, 2);
    let calls = setting("TOKEN_CALLS", 1_000_000, 10_000);
    let recoveries = setting("TOKEN_RECOVERIES", 30, 3);
    let dir = tempfile::tempdir().unwrap();

    // ---- fresh ------------------------------------------------------------------------------
    let refreshing = RefreshingToken::builder("cli_a", "secret", "ur-1")
        .base_url("http://127.0.0.1:9")
        .access_token("u-fresh", Some(Duration::from_secs(7200)))
        .store(Arc::new(
            FileTokenStore::new(dir.path().join("fresh.json")).unwrap(),
        ))
        .build()
        .unwrap();
    let fixed = StaticToken::new("u-fresh", "the token").unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(per_call_ns(&refreshing, calls).await);
        b.push(per_call_ns(&fixed, calls).await);
    }
    println!("## Token source, fresh token ({rounds} rounds × {calls} calls)\n");
    println!("| source | median ns/call | min | max |\n|---|---|---|---|");
    println!("| `RefreshingToken` (file store) | {} |", spread(&a));
    println!("| `StaticToken` | {} |", spread(&b));

    // ---- recovery ---------------------------------------------------------------------------
    let sb = Sandbox::builder()
        .seed_feishu_default("1")
        .start()
        .await
        .unwrap();
    let c = sb.credentials().clone();
    let file = dir.path().join("shared.json");
    std::fs::write(&file, &c.feishu_refresh_token).unwrap();
    let update = TicketUpdate::builder()
        .status(TicketStatus::InProgress)
        .build()
        .unwrap();
    let id = TicketId::new("1").unwrap();
    let clients: Vec<Arc<FeishuClient>> = (0..6)
        .map(|_| {
            let source = RefreshingToken::builder(&c.feishu_app_id, &c.feishu_app_secret, "")
                .base_url(sb.base_url())
                .store(Arc::new(FileTokenStore::new(&file).unwrap()))
                .build()
                .unwrap();
            let config = FeishuConfig::new(
                Arc::new(source),
                &c.feishu_helpdesk_id,
                &c.feishu_helpdesk_token,
            )
            .unwrap()
            .with_base_url(&sb.base_url())
            .unwrap();
            Arc::new(FeishuClient::new(config).unwrap())
        })
        .collect();
    // Warm up: every instance holds the current token.
    for client in &clients {
        client.update(&id, &update).await.unwrap();
    }
    let mut times_ms = Vec::new();
    let before = sb.stats().token_refresh_requests;
    for _ in 0..recoveries {
        sb.expire_access_tokens();
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for client in &clients {
            let (client, update, id) = (Arc::clone(client), update.clone(), id.clone());
            tasks.spawn(async move { client.update(&id, &update).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let stats = sb.stats();
    let refreshes = stats.token_refresh_requests - before;
    println!("\n## Six instances on one token file recover from an expiry ({recoveries} rounds)\n");
    println!(
        "| median ms | min | max | refresh requests per expiry | refused |\n|---|---|---|---|---|"
    );
    println!(
        "| {} | {:.2} | {} |",
        spread(&times_ms),
        refreshes as f64 / recoveries as f64,
        stats.token_refresh_refused
    );
}
