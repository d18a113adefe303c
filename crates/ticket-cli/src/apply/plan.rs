//! `helpdesk apply --plan`: every checked line's ticket read (paced, `--concurrency` at a
//! time) and compared with what its update would set; nothing is sent but reads. The lines
//! are handled a chunk at a time, in order, so memory stays flat however long the file.

use std::collections::BTreeSet;
use std::sync::Arc;

use helpdesk::{TicketError, TicketId, TicketUpdate, TicketUpdater};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::ApplyArgs;
use super::input::{Input, Line, is_blank};
use crate::get::print_ticket_plan;
use crate::line::parse_line_with;
use crate::plan::{TicketPlan, plan};
use crate::{EXIT_FAILED, EXIT_USAGE, Output};

/// Lines read and planned together before their results are shown.
const CHUNK: usize = 256;

/// What the plan found, in sum.
#[derive(Default)]
struct Totals {
    would_change: u64,
    up_to_date: u64,
    read_failed: u64,
    plans: Vec<Value>,
    failures: Vec<Value>,
}

type Job = (u64, TicketId, Box<TicketUpdate>);
type Planned = (u64, TicketId, Result<TicketPlan, TicketError>);

pub(super) async fn run(
    args: &ApplyArgs,
    updater: Arc<dyn TicketUpdater>,
    input: &Input,
    max: usize,
    invalid: &BTreeSet<u64>,
) -> u8 {
    let permits = Arc::new(Semaphore::new(usize::from(args.concurrency)));
    let mut totals = Totals::default();
    let mut lines = match input.lines(max) {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("helpdesk: cannot read {}: {e}", args.file);
            return EXIT_USAGE;
        }
    };
    loop {
        let mut chunk: Vec<Job> = Vec::with_capacity(CHUNK);
        let mut done = false;
        while chunk.len() < CHUNK {
            let next = match lines.next_line() {
                Ok(next) => next,
                Err(e) => {
                    eprintln!("helpdesk: reading {} failed midway: {e}", args.file);
                    return EXIT_FAILED;
                }
            };
            let Some((n, line)) = next else {
                done = true;
                break;
            };
            // Checked lines only: the invalid ones (with --skip-invalid) are left out.
            let Line::Text { text: Ok(text), .. } = line else {
                continue;
            };
            if is_blank(text) || invalid.contains(&n) {
                continue;
            }
            match parse_line_with(text, args.flags()) {
                Ok((id, update)) => chunk.push((n, id, update)),
                Err(reason) => eprintln!("line {n}: changed since the check: {reason}"),
            }
        }
        let mut planned = plan_chunk(chunk, &updater, &permits).await;
        planned.sort_by_key(|(n, _, _)| *n);
        for (n, id, result) in planned {
            report(args.output, n, &id, result, &mut totals);
        }
        if done {
            break;
        }
    }
    summary(args.output, totals)
}

/// Plans the jobs of one chunk, `--concurrency` at a time.
async fn plan_chunk(
    chunk: Vec<Job>,
    updater: &Arc<dyn TicketUpdater>,
    permits: &Arc<Semaphore>,
) -> Vec<Planned> {
    let mut tasks = JoinSet::new();
    for (n, id, update) in chunk {
        let (updater, permits) = (Arc::clone(updater), Arc::clone(permits));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            // Paced and retried by the library, with the command's pacer as its hook.
            let result = match updater.read(&id).await {
                Ok(current) => plan(updater.as_ref(), &update, &current),
                Err(e) => Err(e),
            };
            (n, id, result)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(planned) = joined {
            out.push(planned);
        }
    }
    out
}

fn report(
    output: Output,
    n: u64,
    id: &TicketId,
    result: Result<TicketPlan, TicketError>,
    totals: &mut Totals,
) {
    match result {
        Ok(planned) => {
            if planned.changes() {
                totals.would_change += 1;
            } else {
                totals.up_to_date += 1;
            }
            match output {
                Output::Text => {
                    if planned.changes() {
                        print_ticket_plan(id, &planned);
                    }
                }
                Output::Json => {
                    let mut json = planned.json;
                    json["line"] = json!(n);
                    totals.plans.push(json);
                }
            }
        }
        Err(e) => {
            totals.read_failed += 1;
            eprintln!("line {n}: ticket {id}: cannot plan: {e}");
            totals.failures.push(json!({
                "line": n,
                "ticket_id": id.as_str(),
                "error": crate::error_json(&e),
            }));
        }
    }
}

/// The summary; exit 0 unless a ticket could not be read or planned.
fn summary(output: Output, totals: Totals) -> u8 {
    match output {
        Output::Json => crate::print_json(&json!({
            "plan": totals.plans,
            "would_change": totals.would_change,
            "up_to_date": totals.up_to_date,
            "read_failed": totals.read_failed,
            "failures": totals.failures,
        })),
        Output::Text => println!(
            "Plan: {} ticket(s) would change, {} already up to date, {} could not be read; nothing was sent.",
            totals.would_change, totals.up_to_date, totals.read_failed
        ),
    }
    if totals.read_failed > 0 {
        EXIT_FAILED
    } else {
        0
    }
}
