//! What the workspace's benchmarks share: the update fixtures ([`fixtures`]), the floor
//! ([`floor`]), the hand-written reqwest + serde contestant and the bare client ([`hand`]),
//! the library loop `helpdesk apply` is compared with ([`apply_loop`]), a minimal
//! fixed-response HTTP server ([`server`]), and latency statistics and RSS readings
//! ([`stats`]).
//!
//! The benchmarks themselves are in `benches/`:
//!
//! - `cargo bench -p ticket-bench --bench build_cost`: Criterion, `prepare` per provider.
//! - `cargo bench -p ticket-bench --bench roundtrip`: round-trip overhead against the raw
//!   `reqwest` floor, sandbox throughput, and RSS over 100,000 updates.
//! - `cargo bench -p ticket-bench --bench instructions`: instructions per update under
//!   callgrind (`scripts/instructions.sh` runs every contestant).
//! - `cargo bench -p ticket-bench --bench apply_loop -- --base-url URL --updates N`: the
//!   library loop as a process of its own (`scripts/apply.sh` runs it beside
//!   `helpdesk apply`).
//!
//! Nothing here asserts on time: the figures are printed, and recorded in `BENCHMARKS.md`.

pub mod apply_loop;
pub mod fixtures;
pub mod floor;
pub mod hand;
pub mod server;
pub mod stats;
