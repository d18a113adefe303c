//! The library loop of `helpdesk apply`'s comparison as a process of its own
//! ([`ticket_bench::apply_loop`]), against a sandbox process:
//!
//! ```sh
//! cargo bench -p ticket-bench --bench apply_loop -- --base-url http://127.0.0.1:18099 --updates 10000
//! ```
//!
//! It prints the sending time in seconds and the failures (`0.412 0`) and exits non-zero if
//! any update failed. `scripts/apply.sh` runs it beside `helpdesk apply`. Without
//! `--base-url` (as under `cargo test --benches`) it starts a sandbox of its own in the
//! process and sends 20 updates: a smoke test, not a figure.

use std::process::ExitCode;

use ticket_bench::apply_loop;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn main() -> ExitCode {
    let updates: usize = arg("--updates").map_or(20, |n| n.parse().expect("--updates N"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (elapsed, failed) = rt.block_on(async {
        match arg("--base-url") {
            Some(base) => apply_loop::run(&apply_loop::sandbox_config(&base), updates).await,
            None => {
                let sandbox = (0..apply_loop::TICKETS)
                    .fold(ticket_sandbox::Sandbox::builder(), |b, i| {
                        b.seed_feishu_default(format!("t{i}"))
                    })
                    .start()
                    .await
                    .expect("a sandbox");
                apply_loop::run(&apply_loop::sandbox_config(&sandbox.base_url()), updates).await
            }
        }
    });
    println!("{:.3} {failed}", elapsed.as_secs_f64());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
