//! What a run did: the counters the workers share, the latency histogram, and the summary
//! (text or JSON).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde_json::{Value, json};

use crate::journal::Journal;

/// Counters shared by the workers.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) applied: u64,
    pub(super) failed: u64,
    pub(super) skipped: u64,
    pub(super) invalid: u64,
    pub(super) unknown: Vec<Value>,
    /// Lines not sent because they were no longer the lines checked.
    pub(super) changed: Vec<u64>,
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) latency: Histogram,
    /// With `--verify`: updates whose every field landed.
    pub(super) verified: u64,
    /// ... whose fields did not all land: line, ticket, the fields with what was sent and
    /// found.
    pub(super) drifted: Vec<Value>,
    /// ... that could not be read back.
    pub(super) unverified: Vec<Value>,
    /// ... in which a change by someone else was seen.
    pub(super) concurrent: Vec<Value>,
}

impl Tally {
    /// Counts one update's verification, and says on stderr what did not land.
    pub(super) fn verification(
        &mut self,
        line: u64,
        id: &helpdesk::TicketId,
        v: &helpdesk::Verification,
    ) {
        let id = id.as_str();
        if let Some(err) = &v.read_error {
            eprintln!("line {line}: ticket {id}: applied, but could not be read back: {err}");
            self.unverified
                .push(json!({"line": line, "ticket_id": id, "error": err}));
        } else if v.drifted.is_empty() {
            self.verified += 1;
        } else {
            let fields: Vec<&str> = v.drifted.iter().map(|d| d.field.as_str()).collect();
            eprintln!(
                "line {line}: ticket {id}: applied, but did not land: {}",
                fields.join(", ")
            );
            self.drifted
                .push(json!({"line": line, "ticket_id": id, "drifted": v.drifted}));
        }
        if !v.concurrent.is_empty() {
            self.concurrent
                .push(json!({"line": line, "ticket_id": id, "changes": v.concurrent}));
        }
    }
}

/// Latencies in buckets about 1% wide, so memory stays flat however long the file: bucket
/// `i` holds values `v` (µs) with `round(ln(v + 1) * 100) == i`.
pub(super) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        // ln(1e10 µs) * 100 ≈ 2303: up to about 3 hours.
        Self {
            counts: vec![0; 2304],
            total: 0,
        }
    }
}

impl Histogram {
    pub(super) fn record(&mut self, micros: u64) {
        let idx = ((micros as f64 + 1.0).ln() * 100.0).round() as usize;
        let last = self.counts.len() - 1;
        self.counts[idx.min(last)] += 1;
        self.total += 1;
    }

    /// The `p` quantile in milliseconds (0 when empty), within about 1%.
    fn quantile_ms(&self, p: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((self.total as f64 - 1.0) * p).round() as u64 + 1;
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let micros = (i as f64 / 100.0).exp() - 1.0;
                return (micros / 10.0).round() / 100.0;
            }
        }
        0.0
    }
}

/// What the summary says beside the tally.
pub(super) struct Facts {
    /// Valid lines, as the check pass counted them.
    pub(super) total: u64,
    /// Stopped by a signal.
    pub(super) interrupted: bool,
    pub(super) elapsed: Duration,
    pub(super) rate_limited: u64,
    pub(super) adopted_rate: Option<u32>,
    /// Stopped because the journal could not be written: the file, the error, and the
    /// outcomes it could not take.
    pub(super) journal_error: Option<Value>,
    /// Whether updates were verified (`--verify`, or a line's `"verify": true`): the report
    /// then says what landed.
    pub(super) verify: bool,
}

pub(super) fn report(t: &Tally, facts: Facts) -> Value {
    let Facts {
        total,
        interrupted,
        elapsed,
        rate_limited,
        adopted_rate,
        journal_error,
        verify,
    } = facts;
    let sent =
        t.applied + t.failed + t.unknown.iter().filter(|u| u["held"] == false).count() as u64;
    let secs = elapsed.as_secs_f64();
    let mut report = json!({
        "lines": total + t.invalid,
        "invalid": t.invalid,
        "sent": sent,
        "applied": t.applied,
        "failed": t.failed,
        "unknown": t.unknown,
        "changed": t.changed,
        "skipped_already_applied": t.skipped,
        "errors": t.errors,
        "rate_limited_answers": rate_limited,
        "adopted_rate_per_sec": adopted_rate,
        "interrupted": interrupted,
        "journal_error": journal_error,
        "elapsed_ms": elapsed.as_millis() as u64,
        "rate_per_sec": if secs > 0.0 { (sent as f64 / secs * 10.0).round() / 10.0 } else { 0.0 },
        "latency_ms": {"p50": t.latency.quantile_ms(0.5), "p99": t.latency.quantile_ms(0.99)},
    });
    if verify || t.verified > 0 || !t.drifted.is_empty() || !t.unverified.is_empty() {
        report["verified"] = json!(t.verified);
        report["drifted"] = json!(t.drifted);
        report["unverified"] = json!(t.unverified);
        report["concurrent_changes"] = json!(t.concurrent);
    }
    report
}

pub(super) fn print_summary(r: &Value) {
    let unknown = r["unknown"].as_array().map_or(0, Vec::len);
    println!(
        "{} applied, {} failed, {} unknown, {} skipped (already applied), {} invalid; {} sent in {:.1} s ({}/s), latency p50 {} ms, p99 {} ms; {} rate-limit answers{}{}",
        r["applied"],
        r["failed"],
        unknown,
        r["skipped_already_applied"],
        r["invalid"],
        r["sent"],
        r["elapsed_ms"].as_f64().unwrap_or_default() / 1000.0,
        r["rate_per_sec"],
        r["latency_ms"]["p50"],
        r["latency_ms"]["p99"],
        r["rate_limited_answers"],
        match r["adopted_rate_per_sec"].as_u64() {
            Some(rate) => format!(" (paced at the server's stated limit, {rate}/s)"),
            None => String::new(),
        },
        if r["interrupted"] == true {
            "; interrupted"
        } else {
            ""
        },
    );
    if let Some(errors) = r["errors"].as_object() {
        for (kind, n) in errors {
            println!("  {kind}: {n}");
        }
    }
    let count = |key: &str| r[key].as_array().map_or(0, Vec::len);
    print_verification(r);
    if count("concurrent_changes") > 0 {
        println!(
            "{} ticket(s) were changed by someone else between the reads (see concurrent_changes in --output json)",
            count("concurrent_changes")
        );
    }
    if unknown > 0 {
        println!("unknown outcome (not re-sent; check these tickets):");
        for u in r["unknown"].as_array().into_iter().flatten() {
            println!("  line {} ticket {}", u["line"], u["ticket_id"]);
        }
    }
    if let Some(changed) = r["changed"].as_array().filter(|c| !c.is_empty()) {
        let lines: Vec<String> = changed.iter().map(Value::to_string).collect();
        println!(
            "changed since the check (not sent): line {}",
            lines.join(", ")
        );
    }
    if let Some(j) = r["journal_error"].as_object() {
        println!(
            "stopped: the journal {} could not be written ({}); no update was started after that",
            j["file"].as_str().unwrap_or_default(),
            j["error"].as_str().unwrap_or_default()
        );
        for u in j["unrecorded"].as_array().into_iter().flatten() {
            println!(
                "  line {} ticket {}: {}, not recorded",
                u["line"], u["ticket_id"], u["outcome"]
            );
        }
    }
}

/// The summary's verification part (`--verify`): what landed, and each field that drifted.
fn print_verification(r: &Value) {
    let count = |key: &str| r[key].as_array().map_or(0, Vec::len);
    if r.get("verified").is_none() {
        return;
    }
    {
        println!(
            "verified: {} landed as sent, {} drifted (a field did not land), {} could not be read back",
            r["verified"],
            count("drifted"),
            count("unverified")
        );
        for d in r["drifted"].as_array().into_iter().flatten() {
            let fields: Vec<String> = d["drifted"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}: sent {}, found {}",
                        f["field"].as_str().unwrap_or_default(),
                        f["sent"],
                        f["found"]
                    )
                })
                .collect();
            println!(
                "  line {} ticket {}: {}",
                d["line"],
                d["ticket_id"],
                fields.join("; ")
            );
        }
    }
}

/// Progress, and a journal sync every second (a failed one stops the run).
pub(super) fn tick(
    journal: Option<Arc<Journal>>,
    done: Arc<AtomicU64>,
    tally: Arc<Mutex<Tally>>,
    bar: Option<ProgressBar>,
    every: Duration,
    total: u64,
    started: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_line = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(j) = &journal {
                j.sync();
            }
            let d = done.load(Ordering::Relaxed);
            let failed = tally.lock().map(|t| t.failed).unwrap_or_default();
            match &bar {
                Some(bar) => {
                    bar.set_position(d);
                    bar.set_message(format!("failures: {failed}"));
                }
                None if last_line.elapsed() >= every => {
                    last_line = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!(
                        "progress: {d}/{total} done, {failed} failed, {:.1}/s",
                        d as f64 / secs
                    );
                }
                None => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_a_percent() {
        let mut h = Histogram::default();
        assert!(h.quantile_ms(0.5).abs() < f64::EPSILON);
        for ms in 1..=100u64 {
            h.record(ms * 1000);
        }
        let p50 = h.quantile_ms(0.5);
        let p99 = h.quantile_ms(0.99);
        // The middle value of 1..=100 ms is 50 or 51 ms; the bucket adds at most 1%.
        assert!((49.5..=51.6).contains(&p50), "{p50}");
        assert!((98.0..=101.0).contains(&p99), "{p99}");
        h.record(u64::MAX);
        assert!(h.quantile_ms(1.0) > 1e6);
    }
}
