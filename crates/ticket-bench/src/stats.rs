//! Latency percentiles, medians of rounds, CPU clocks and load, and the process's resident
//! memory (Linux).

use std::time::{Duration, Instant};

/// Throughput and latency of one measured run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunStats {
    /// Requests completed.
    pub requests: u64,
    /// Requests per second (requests / wall-clock time).
    pub per_sec: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th-percentile latency, microseconds.
    pub p99_us: f64,
    /// CPU time per request, microseconds (of the clock the caller chose; 0 when unknown).
    pub cpu_us: f64,
}

impl RunStats {
    /// Stats of `latencies_ns` (sorted in place) over `elapsed_secs` of wall-clock time.
    pub fn from_latencies(latencies_ns: &mut [u64], elapsed_secs: f64) -> Self {
        latencies_ns.sort_unstable();
        Self {
            requests: latencies_ns.len() as u64,
            per_sec: latencies_ns.len() as f64 / elapsed_secs,
            p50_us: percentile(latencies_ns, 0.50) as f64 / 1e3,
            p99_us: percentile(latencies_ns, 0.99) as f64 / 1e3,
            cpu_us: 0.0,
        }
    }

    /// The same stats with `cpu` spent over the requests.
    #[must_use]
    pub fn with_cpu(mut self, cpu: Duration) -> Self {
        if self.requests > 0 {
            self.cpu_us = cpu.as_secs_f64() * 1e6 / self.requests as f64;
        }
        self
    }
}

/// Which CPU clock to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuClock {
    /// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
    Thread,
    /// The whole process's CPU time, every thread (`CLOCK_PROCESS_CPUTIME_ID`).
    Process,
}

impl CpuClock {
    /// The clock's current value.
    pub fn now(self) -> Duration {
        let id = match self {
            CpuClock::Thread => rustix::time::ClockId::ThreadCPUTime,
            CpuClock::Process => rustix::time::ClockId::ProcessCPUTime,
        };
        let t = rustix::time::clock_gettime(id);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }
}

/// A reading of the whole machine's busy time (`/proc/stat`) and this process's CPU time, to
/// tell how much CPU *other* processes used in between two readings.
#[derive(Debug, Clone, Copy)]
pub struct LoadProbe {
    busy_ticks: u64,
    own: Duration,
    at: Instant,
}

impl LoadProbe {
    /// Reads now; `None` where `/proc/stat` does not exist.
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)?;
        Some(Self {
            busy_ticks: busy,
            own: CpuClock::Process.now(),
            at: Instant::now(),
        })
    }

    /// How many cores other processes kept busy on average since `self` (0 = an idle
    /// machine; 2 = both cores of a 2-core machine).
    pub fn foreign_cores_since(&self) -> Option<f64> {
        let now = Self::now()?;
        let wall = now.at.duration_since(self.at).as_secs_f64();
        if wall <= 0.0 {
            return None;
        }
        let hz = rustix::param::clock_ticks_per_second() as f64;
        let busy = now.busy_ticks.saturating_sub(self.busy_ticks) as f64 / hz;
        let own = now.own.saturating_sub(self.own).as_secs_f64();
        Some(((busy - own) / wall).max(0.0))
    }
}

/// Waits, up to `max_wait`, until other processes use less than `threshold` cores over a
/// 250 ms window (so that a round does not start in the middle of someone else's build).
/// Returns the load of the last window, or `None` when it cannot be read.
pub fn wait_for_quiet(threshold: f64, max_wait: Duration) -> Option<f64> {
    let start = Instant::now();
    loop {
        let probe = LoadProbe::now()?;
        std::thread::sleep(Duration::from_millis(250));
        let load = probe.foreign_cores_since()?;
        if load < threshold || start.elapsed() >= max_wait {
            return Some(load);
        }
    }
}

/// The `q` quantile (0..=1) of sorted `values`, by the nearest-rank method; 0 when empty.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values` (the mean of the two middle ones for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The smallest and largest of `values`.
pub fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// The process's memory from `/proc/self/status`, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size so far (`VmHWM`).
    pub hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM`; `None` where `/proc/self/status` does not exist (not Linux).
pub fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let m = memory().expect("VmRSS and VmHWM");
            assert!(m.rss_kib > 0 && m.hwm_kib >= m.rss_kib);
        }
    }
}
