//! [`RateBudget`]: one rate budget for every client of a provider, an [`AttemptHook`]. Local
//! (GCRA with the `governor` crate, in this process) or shared through Redis (feature
//! `redis`: one Lua script implementing GCRA, so every replica of an app draws from one
//! budget).
//!
//! By role: `local` is the process's own budget (the pause gate and limiters), `shared` the
//! Redis one and its fallback. What it does is said through [`telemetry`](crate::telemetry):
//! an event for each wait and pause, and (feature `metrics`) its counters.

mod local;
#[cfg(feature = "redis")]
mod shared;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use ticket_core::TicketError;
use tokio::time::Instant;

use self::local::Lane;
use crate::telemetry;
use crate::{Attempt, AttemptHook, RateLimited};

#[cfg(feature = "redis")]
pub use self::shared::{GCRA_SCRIPT, RedisBudget, app_name};

/// A rate: `count` requests every `per` (`50/s`, `3000/min`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    count: u32,
    per: Duration,
}

impl Rate {
    /// `count` requests a second (at least one).
    pub fn per_second(count: u32) -> Self {
        Self {
            count: count.max(1),
            per: Duration::from_secs(1),
        }
    }

    /// `count` requests a minute (at least one).
    pub fn per_minute(count: u32) -> Self {
        Self {
            count: count.max(1),
            per: Duration::from_secs(60),
        }
    }

    /// The time between two requests at this rate.
    pub fn interval(self) -> Duration {
        self.per / self.count
    }

    /// Requests a second.
    pub fn per_second_f64(self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.per == Duration::from_secs(60) {
            "min"
        } else {
            "s"
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `N/s`, `N/min` or `N` (a second), `N` a positive whole number.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (number, per) = match text.split_once('/') {
            None => (text, Duration::from_secs(1)),
            Some((n, "s" | "sec" | "second")) => (n, Duration::from_secs(1)),
            Some((n, "min" | "minute")) => (n, Duration::from_secs(60)),
            Some(_) => return Err(format!("{text:?}: the unit must be /s or /min")),
        };
        match number.trim().parse::<u32>() {
            Ok(count) if count > 0 => Ok(Self { count, per }),
            _ => Err(format!(
                "{text:?} must be N/s or N/min with N a positive whole number, such as 50/s"
            )),
        }
    }
}

/// The pause after a rate-limit answer that states no wait (EngageLab's may not).
pub const UNSTATED_WAIT: Duration = Duration::from_secs(1);

/// What a budget has seen and where it draws from, for reports and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetStatus {
    /// Whether requests draw from the shared (Redis) budget now; false for a local budget and
    /// while a shared one has fallen back.
    pub shared: bool,
    /// How many times the shared budget fell back to the local share (Redis unreachable).
    pub fallbacks: u64,
    /// Rate-limit answers seen.
    pub refusals: u64,
    /// The replicas the shared budget last saw active (0 before it counted any): the fallback's
    /// share is the rate divided by this (at least the configured hint).
    pub replicas: u32,
}

/// One rate budget for every client of a provider: set it as the
/// [`AttemptHook`](crate::AttemptHook) of their [`HttpOptions`](crate::HttpOptions) (the facade
/// does it from the keys `rate_limit`, `read_rate_limit`, `rate_budget`, …).
///
/// Each operation has its own budget: updates (`"update"`) and reads (`"get"`), so that
/// Feishu's GET and PUT limits are kept apart; other requests (a tenant token) pass. Before
/// each attempt it waits:
///
/// 1. at the operation's **pause gate**: after a rate-limit answer, every request of the
///    operation in this process waits out the server's wait ([`UNSTATED_WAIT`] when it states
///    none);
/// 2. for the **shared budget** (Redis, [`RedisBudget`]), when there is one: one slot of the
///    app's budget, which every replica shares; while Redis cannot be reached, for the
///    **fallback share** instead (see [`RedisBudget`]);
/// 3. for the process's **cap**: a local GCRA limiter at the rate, so that one process never
///    spends more than the rate, whatever the shared budget says.
///
/// When a server states its limit (Feishu's `x-ogw-ratelimit-limit`) below the budget's rate,
/// the budget adopts it (never a higher one); with Redis, the adopted rate and the end of the
/// server's wait are stored there, so every replica slows down, not only the refused one. A
/// rate adopted while Redis could not be reached (or lost by a Redis that restarted empty) is
/// written there when Redis answers again.
pub struct RateBudget {
    provider: String,
    lanes: [Lane; 2],
    refusals: AtomicU64,
    #[cfg(feature = "redis")]
    shared: Option<RedisBudget>,
}

impl fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RateBudget");
        d.field("provider", &self.provider)
            .field("update", &self.lanes[0].configured())
            .field("get", &self.lanes[1].configured());
        #[cfg(feature = "redis")]
        d.field("shared", &self.shared);
        d.finish_non_exhaustive()
    }
}

impl RateBudget {
    /// A local budget for `provider`'s clients: `update` for updates and `read` for reads
    /// (`None`: no rate until a server states one; the pause gate works either way).
    pub fn local(provider: impl Into<String>, update: Option<Rate>, read: Option<Rate>) -> Self {
        Self {
            provider: provider.into(),
            lanes: [Lane::new("update", update), Lane::new("get", read)],
            refusals: AtomicU64::new(0),
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// [`local`](Self::local), drawing from the shared budget `shared` first (feature `redis`).
    #[cfg(feature = "redis")]
    pub fn shared(
        provider: impl Into<String>,
        update: Option<Rate>,
        read: Option<Rate>,
        shared: RedisBudget,
    ) -> Self {
        Self {
            shared: Some(shared),
            ..Self::local(provider, update, read)
        }
    }

    /// The provider whose clients this budget paces.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Sets the read rate to `rate` unless one is configured (a provider's documented rate:
    /// [`Capabilities::read_rate`](ticket_core::Capabilities::read_rate)).
    pub fn default_read_rate(&self, rate: Rate) {
        self.lanes[1].default_rate(rate);
    }

    /// The budget of `operation` (`"update"`, `"get"`), if it has one.
    fn lane(&self, operation: &str) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.operation == operation)
    }

    /// The rate of `operation` now, in requests a second: the configured one, or the adopted
    /// one when lower; `None` when it has none.
    pub fn rate(&self, operation: &str) -> Option<f64> {
        let interval = self.lane(operation)?.interval()?;
        Some(1.0 / interval.as_secs_f64())
    }

    /// The rate adopted for `operation` from a server's stated limit (requests a second), if
    /// one was below the configured rate.
    pub fn adopted_rate(&self, operation: &str) -> Option<u32> {
        self.lane(operation)?.adopted()
    }

    /// What the budget has seen and where it draws from.
    pub fn status(&self) -> BudgetStatus {
        #[cfg(feature = "redis")]
        let (shared, fallbacks, replicas) = match &self.shared {
            Some(s) => (!s.fallen_back(), s.fallbacks(), s.replicas()),
            None => (false, 0, 0),
        };
        #[cfg(not(feature = "redis"))]
        let (shared, fallbacks, replicas) = (false, 0, 0);
        BudgetStatus {
            shared,
            fallbacks,
            refusals: self.refusals.load(Ordering::Relaxed),
            replicas,
        }
    }

    /// Waits at `lane`'s gate, for its slot (shared budget or share, then the cap), and at the
    /// gate again; counts the wait.
    async fn wait_for_room(&self, lane: &Lane) {
        let started = Instant::now();
        let mut waited = lane.gate.wait().await;
        waited |= self.draw(lane).await;
        // A pause may have begun while this request waited for its slot.
        waited |= lane.gate.wait().await;
        if waited {
            telemetry::budget_waited(&self.provider, lane.operation, started.elapsed());
        }
    }

    /// Whether requests draw from a shared budget (or its fallback) first.
    fn is_shared(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.shared.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    /// Draws one slot of `lane`: the shared budget (or its fallback share), then the cap.
    /// True if it waited.
    async fn draw(&self, lane: &Lane) -> bool {
        #[cfg(feature = "redis")]
        let shared = match &self.shared {
            Some(shared) => shared.take(&self.provider, lane).await,
            None => false,
        };
        #[cfg(not(feature = "redis"))]
        let shared = false;
        let capped = lane.cap().await;
        shared | capped
    }
}

#[async_trait]
impl AttemptHook for RateBudget {
    async fn before_attempt(&self, attempt: &Attempt<'_>) -> Result<(), TicketError> {
        if self.ready_now(attempt) {
            return Ok(());
        }
        let Some(lane) = self.lane(attempt.operation) else {
            return Ok(());
        };
        // Boxed apart: the waits' state (timers, the Redis call) is kilobytes, and in the
        // hook's own boxed future every request, waiting or not, would allocate and copy it.
        Box::pin(self.wait_for_room(lane)).await;
        Ok(())
    }

    /// The fast path, when the budget has room: no pause, no shared budget, a free slot of
    /// the cap (taken). One atomic load and the limiter's own check: no other clock read, no
    /// future.
    fn ready_now(&self, attempt: &Attempt<'_>) -> bool {
        self.lane(attempt.operation)
            .is_none_or(|lane| lane.gate.is_open() && !self.is_shared() && lane.try_cap())
    }

    async fn on_rate_limited(
        &self,
        attempt: &Attempt<'_>,
        refusal: &RateLimited<'_>,
    ) -> Result<(), TicketError> {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        let Some(lane) = self.lane(attempt.operation) else {
            return Ok(());
        };
        let wait = refusal
            .retry_after
            .filter(|w| !w.is_zero())
            .unwrap_or(UNSTATED_WAIT);
        lane.gate.pause(wait);
        telemetry::budget_paused(&self.provider, lane.operation, wait);
        let adopt = refusal.stated_rate.and_then(|r| lane.lower(r));
        if let Some(rate) = adopt
            && lane.adopt(rate)
        {
            tracing::info!(
                provider = %self.provider,
                operation = lane.operation,
                rate,
                "rate budget: adopting the rate the server states"
            );
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.refused(&self.provider, lane, wait, adopt).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(operation: &'static str, method: &'a reqwest::Method) -> Attempt<'a> {
        Attempt {
            provider: "p",
            operation,
            method,
            number: 1,
            idempotent: true,
        }
    }

    #[tokio::test]
    async fn the_fast_path_takes_a_free_slot_and_leaves_every_wait_to_before_attempt() {
        let put = reqwest::Method::PUT;
        let update = attempt("update", &put);
        let budget = RateBudget::local("p", Some(Rate::per_minute(1)), None);
        assert!(budget.ready_now(&update), "the one slot is free");
        assert!(
            !budget.ready_now(&update),
            "no slot left: before_attempt waits"
        );
        assert!(
            budget.ready_now(&attempt("token", &put)),
            "no budget for it"
        );
        // A pause closes the fast path until a request has waited it out.
        let budget = RateBudget::local("p", Some(Rate::per_second(1000)), None);
        budget.lanes[0].gate.pause(Duration::from_millis(1));
        assert!(!budget.ready_now(&update));
        budget
            .before_attempt(&update)
            .await
            .expect("a local budget never fails");
        assert!(budget.ready_now(&update), "the gate opened again");
    }

    #[test]
    fn rates_read_per_second_and_per_minute() {
        assert_eq!("50/s".parse::<Rate>(), Ok(Rate::per_second(50)));
        assert_eq!(" 50 ".parse::<Rate>(), Ok(Rate::per_second(50)));
        assert_eq!("3000/min".parse::<Rate>(), Ok(Rate::per_minute(3000)));
        assert_eq!(Rate::per_minute(3000).interval(), Duration::from_millis(20));
        for bad in ["0/s", "-1", "50/h", "x/s", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Rate::per_minute(600).to_string(), "600/min");
    }
}
