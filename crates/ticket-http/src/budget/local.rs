//! The budget of one process: a pause gate and GCRA limiters (the `governor` crate) for one
//! operation, whose rate a server's stated limit can lower.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use super::Rate;

/// When a server says wait, every request of the process waits here, not each on its own.
///
/// The end of the current pause is one atomic (microseconds after the gate was made, 0 for
/// none), so the check every request makes takes no lock.
#[derive(Debug)]
pub(crate) struct Gate {
    base: Instant,
    until_micros: AtomicU64,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            until_micros: AtomicU64::new(0),
        }
    }
}

impl Gate {
    /// Whether no pause was set since the last one ended (one atomic load, no clock read): the
    /// budget's fast path.
    pub(crate) fn is_open(&self) -> bool {
        self.until_micros.load(Ordering::Acquire) == 0
    }

    /// Waits until no pause is running; true if it waited.
    pub(crate) async fn wait(&self) -> bool {
        let mut waited = false;
        loop {
            let until = self.until_micros.load(Ordering::Acquire);
            if until == 0 {
                return waited;
            }
            let at = self.base + Duration::from_micros(until);
            if at <= Instant::now() {
                // Over: open the gate again (unless a new pause began meanwhile), so that the
                // next request takes the fast path.
                let _ = self.until_micros.compare_exchange(
                    until,
                    0,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                return waited;
            }
            tokio::time::sleep_until(at).await;
            waited = true;
        }
    }

    /// Pauses everyone for `wait` from now (a longer pause already running is kept).
    pub(crate) fn pause(&self, wait: Duration) {
        let at = (Instant::now() + wait).saturating_duration_since(self.base);
        let micros = u64::try_from(at.as_micros()).unwrap_or(u64::MAX).max(1);
        self.until_micros.fetch_max(micros, Ordering::AcqRel);
    }
}

/// A GCRA limiter and the interval it keeps.
#[derive(Debug)]
struct Limiter {
    interval: Duration,
    limiter: DefaultDirectRateLimiter,
}

impl Limiter {
    /// One request every `interval`, with a burst of a twentieth of a second's requests (at
    /// least one): it absorbs timer jitter without overrunning a server bucket that holds a
    /// second's worth.
    fn new(interval: Duration) -> Option<Self> {
        let quota = Quota::with_period(interval)?.allow_burst(burst(interval));
        Some(Self {
            interval,
            limiter: RateLimiter::direct(quota),
        })
    }

    /// Waits for this limiter's next slot (on tokio's timer); true if it waited.
    async fn ready(&self) -> bool {
        let clock = DefaultClock::default();
        let mut waited = false;
        while let Err(not_until) = self.limiter.check() {
            tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
            waited = true;
        }
        waited
    }
}

/// The burst of a budget at one request per `interval`: a twentieth of a second's requests,
/// at least one.
pub(crate) fn burst(interval: Duration) -> NonZeroU32 {
    let per_second = Duration::from_secs(1).as_nanos() / interval.as_nanos().max(1);
    NonZeroU32::new(u32::try_from(per_second / 20).unwrap_or(u32::MAX).max(1))
        .unwrap_or(NonZeroU32::MIN)
}

/// What a lane's rate is made of, and its limiters.
#[derive(Debug, Default)]
struct Rates {
    /// The configured rate (or, for reads, the provider's documented one).
    configured: Option<Rate>,
    /// The rate a server stated, when below the configured one, in requests a second.
    adopted: Option<u32>,
    /// The process's own cap at the effective rate: always passed, so one process never
    /// spends more than the rate, shared budget or not.
    cap: Option<Arc<Limiter>>,
    /// The fallback's share of the effective rate and the divisor it was made with.
    share: Option<(u32, Arc<Limiter>)>,
}

impl Rates {
    /// The interval between requests: the configured rate's, or the adopted rate's when
    /// slower.
    fn interval(&self) -> Option<Duration> {
        let adopted = self.adopted.map(|r| Duration::from_secs(1) / r.max(1));
        match (self.configured.map(Rate::interval), adopted) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    fn rebuild(&mut self) {
        let interval = self.interval();
        if self.cap.as_ref().map(|c| c.interval) != interval {
            self.cap = interval.and_then(Limiter::new).map(Arc::new);
            self.share = None;
        }
    }
}

/// One operation's budget in this process (`update`, `get`): its pause gate and its rates.
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) operation: &'static str,
    pub(crate) gate: Gate,
    rates: RwLock<Rates>,
}

impl Lane {
    pub(crate) fn new(operation: &'static str, configured: Option<Rate>) -> Self {
        let mut rates = Rates {
            configured,
            ..Rates::default()
        };
        rates.rebuild();
        Self {
            operation,
            gate: Gate::default(),
            rates: RwLock::new(rates),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rates> {
        self.rates.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rates> {
        self.rates.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configured rate, if any.
    pub(crate) fn configured(&self) -> Option<Rate> {
        self.read().configured
    }

    /// Sets the configured rate unless one is set (a provider's documented read rate).
    pub(crate) fn default_rate(&self, rate: Rate) {
        let mut rates = self.write();
        if rates.configured.is_none() {
            rates.configured = Some(rate);
            rates.rebuild();
        }
    }

    /// The interval between requests now (configured or adopted), if any.
    pub(crate) fn interval(&self) -> Option<Duration> {
        self.read().interval()
    }

    /// The adopted rate, if a server stated one below the configured rate.
    pub(crate) fn adopted(&self) -> Option<u32> {
        self.read().adopted
    }

    /// The rate to adopt from a server's statement: `stated` when below the effective rate
    /// (never above the configured one), else `None`.
    pub(crate) fn lower(&self, stated: u32) -> Option<u32> {
        let stated = stated.max(1);
        let slower = Duration::from_secs(1) / stated;
        match self.read().interval() {
            Some(now) if slower <= now => None,
            _ => Some(stated),
        }
    }

    /// Adopts `rate` (requests a second) when it is below the effective rate; true if it
    /// changed anything.
    pub(crate) fn adopt(&self, rate: u32) -> bool {
        if self.lower(rate).is_none() {
            return false;
        }
        let mut rates = self.write();
        rates.adopted = Some(rates.adopted.map_or(rate, |r| r.min(rate)));
        rates.rebuild();
        true
    }

    /// Takes a slot of the process's cap if one is free now, without waiting (true then, and
    /// when there is no cap).
    pub(crate) fn try_cap(&self) -> bool {
        self.read()
            .cap
            .as_ref()
            .is_none_or(|cap| cap.limiter.check().is_ok())
    }

    /// Waits for the process's cap (the effective rate); true if it waited.
    pub(crate) async fn cap(&self) -> bool {
        let cap = self.read().cap.clone();
        match cap {
            Some(cap) => cap.ready().await,
            None => false,
        }
    }

    /// Waits for the fallback's share: the effective rate divided by `divisor`; true if it
    /// waited.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) async fn share(&self, divisor: u32) -> bool {
        let divisor = divisor.max(1);
        let share = {
            let rates = self.read();
            match &rates.share {
                Some((d, share)) if *d == divisor => Some(Arc::clone(share)),
                _ => None,
            }
        };
        let share = match share {
            Some(share) => Some(share),
            None => {
                let mut rates = self.write();
                let made = rates
                    .interval()
                    .and_then(|i| Limiter::new(i.saturating_mul(divisor)))
                    .map(Arc::new);
                rates.share = made.clone().map(|m| (divisor, m));
                made
            }
        };
        match share {
            Some(share) => share.ready().await,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_holds_everyone_until_the_longest_pause_ends() {
        let gate = Gate::default();
        // No pause, or one that is over: no wait.
        gate.wait().await;
        gate.pause(Duration::ZERO);
        gate.wait().await;
        // An hour's pause is not shortened by a later, shorter one: still closed.
        gate.pause(Duration::from_secs(3600));
        gate.pause(Duration::from_secs(1));
        let closed = tokio::time::timeout(Duration::from_millis(20), gate.wait()).await;
        assert!(
            closed.is_err(),
            "the gate let a worker through during the pause"
        );
        let until = Duration::from_micros(gate.until_micros.load(Ordering::Acquire));
        assert!(until >= Duration::from_secs(3600));
    }

    #[test]
    fn a_stated_rate_is_adopted_only_below_the_effective_one() {
        let lane = Lane::new("update", Some(Rate::per_second(50)));
        assert!(
            !lane.adopt(80),
            "a higher stated rate must not raise the budget"
        );
        assert_eq!(lane.adopted(), None);
        assert!(lane.adopt(30));
        assert_eq!(lane.adopted(), Some(30));
        assert!(
            !lane.adopt(40),
            "a later, higher statement must not raise it again"
        );
        assert_eq!(lane.interval(), Some(Duration::from_secs(1) / 30));
        // Without a configured rate, the first statement is the rate.
        let open = Lane::new("get", None);
        assert_eq!(open.interval(), None);
        assert!(open.adopt(10));
        assert_eq!(open.interval(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn the_burst_is_a_twentieth_of_a_second_and_at_least_one() {
        assert_eq!(burst(Duration::from_millis(20)).get(), 2);
        assert_eq!(burst(Duration::from_millis(1)).get(), 50);
        assert_eq!(burst(Duration::from_secs(1)).get(), 1);
    }
}
