//! The library's own loop, the contestant of `helpdesk apply` (BENCHMARKS.md section 9):
//! `CONCURRENCY` tasks on a multi-thread runtime with the default worker count (as
//! `helpdesk` has), taking the next update from a shared counter, each update built per call
//! (as `helpdesk` parses each line) and sent through one facade client with its default retry
//! policy. The updates are those of [`line()`], the lines `helpdesk apply` is given.
//!
//! `benches/apply_loop.rs` runs it as a process of its own against a sandbox process, and
//! `scripts/apply.sh` runs that beside `helpdesk apply` against the same sandbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use helpdesk::{Config, TicketId, TicketStatus, TicketUpdate};

/// Updates in flight, as `helpdesk apply --concurrency 8` has them.
pub const CONCURRENCY: usize = 8;

/// Distinct tickets the updates cycle through (a sandbox seeded with `t0` … `t999`).
pub const TICKETS: usize = 1000;

/// Line `i` of the input `helpdesk apply` is given: the same update the loop sends as `i`.
pub fn line(i: usize) -> String {
    format!(
        r#"{{"ticket_id":"t{}","status":"in_progress","tags":["bulk"]}}"#,
        i % TICKETS
    )
}

/// The Feishu configuration of the sandbox at `base` (its default credentials).
pub fn sandbox_config(base: &str) -> Config {
    let c = ticket_sandbox::Credentials::default();
    Config::from_map([
        ("provider", "feishu".to_owned()),
        ("feishu.base_url", base.to_owned()),
        ("feishu.helpdesk_id", c.feishu_helpdesk_id.clone()),
        ("feishu.helpdesk_token", c.feishu_helpdesk_token.clone()),
        (
            "feishu.user_access_token",
            c.feishu_user_access_token.clone(),
        ),
    ])
}

/// Sends `n` updates through the facade client of `config`, [`CONCURRENCY`] at a time.
/// Returns the time the sending took (the client built before it starts) and how many failed.
pub async fn run(config: &Config, n: usize) -> (Duration, u64) {
    let updater = helpdesk::connect(config).expect("a facade client");
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        let updater = Arc::clone(&updater);
        let next = Arc::clone(&next);
        let failures = Arc::clone(&failures);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let id = TicketId::new(format!("t{}", i % TICKETS)).expect("a ticket id");
                let update = TicketUpdate::builder()
                    .status(TicketStatus::InProgress)
                    .tags(["bulk"])
                    .build()
                    .expect("an update");
                if updater.update(&id, &update).await.is_err() {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a loop task");
    }
    (start.elapsed(), failures.load(Ordering::Relaxed))
}
