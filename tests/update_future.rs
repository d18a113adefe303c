//! The future of an update stays within the sizes glibc's allocator serves from its per-thread
//! cache (requests up to 1,032 bytes). `async_trait` boxes every call's future; above that size
//! each update paid for a slow-path allocation (600–1,500 instructions under callgrind, depending
//! on the heap's state) and for copying kilobytes of state between nested futures
//! (BENCHMARKS.md section 5). What keeps it small: the request is handed to reqwest before an
//! attempt awaits anything, the retry loop, a refused token's refresh, merge mode's reads and a
//! subscriber's spans are boxed apart, the execution's shared state is boxed.
//!
//! Counted from outside: the allocations made when the update's future is created (the box, and
//! nothing else; it is dropped without being polled), for both built-in providers, with and
//! without a rate budget. A change that grows the future past the limit fails here, naming the
//! size, before it shows as a slower benchmark.

#![allow(clippy::unwrap_used)]

use std::alloc::System;

use helpdesk::{Config, Priority, TicketId, TicketUpdate};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// Requests glibc serves from its per-thread cache (`tcache_max_bytes` on 64-bit). An update's
/// future is 1,024 bytes today with every feature (the `metrics` feature's measure is boxed
/// apart), 1,016 without `metrics`; the layout is the same in debug and optimised builds.
const CACHED: usize = 1032;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn config(provider: &str, budget: bool) -> Config {
    let mut entries: Vec<(String, String)> = match provider {
        "engagelab" => vec![
            ("engagelab.api_key".into(), "key".into()),
            ("engagelab.api_secret".into(), "secret".into()),
            ("engagelab.base_url".into(), "http://127.0.0.1:9".into()),
        ],
        _ => vec![
            ("feishu.user_access_token".into(), "u-token".into()),
            ("feishu.helpdesk_id".into(), "helpdesk".into()),
            ("feishu.helpdesk_token".into(), "helpdesk-token".into()),
            ("feishu.base_url".into(), "http://127.0.0.1:9".into()),
        ],
    };
    if budget {
        entries.push((format!("{provider}.rate_limit"), "100/s".into()));
    }
    Config::from_map(entries).with_provider(provider)
}

#[test]
fn an_update_future_is_one_allocation_the_thread_cache_serves() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The clients are built inside the runtime, as an application builds them.
    let _entered = runtime.enter();
    for provider in ["engagelab", "feishu"] {
        for budget in [false, true] {
            let updater = helpdesk::connect(&config(provider, budget)).unwrap();
            let id = TicketId::new("6945345902185807891").unwrap();
            let update = TicketUpdate::builder()
                .priority(Priority::High)
                .comment("Picked up by the on-call agent.")
                .build()
                .unwrap();
            // Nothing else runs in this process meanwhile (one test, a current-thread runtime).
            let region = Region::new(GLOBAL);
            let future = updater.update(&id, &update);
            let made = region.change();
            drop(future);
            assert_eq!(
                (made.allocations, made.reallocations),
                (1, 0),
                "{provider} (budget: {budget}): creating an update's future allocates its box only: {made:?}"
            );
            assert!(
                made.bytes_allocated <= CACHED,
                "{provider} (budget: {budget}): an update's future is {} bytes, over the {CACHED} the allocator's thread cache serves; see the module docs",
                made.bytes_allocated
            );
        }
    }
}
