//! The budget's metrics (feature `metrics`, through the `metrics` facade: the application
//! chooses the exporter): `ticket.rate_limit.waits` and `ticket.rate_limit.wait_seconds`
//! {provider, operation}, `ticket.rate_budget.fallbacks` {provider}. Without the feature,
//! nothing.
//!
//! The facade's counters count whole numbers, so `ticket.rate_limit.wait_seconds` is
//! incremented in whole **milliseconds** (its unit is described as such).

use std::time::Duration;

/// A request that the budget (gate, shared budget, fallback share or cap) made wait `wait`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn waited(provider: &str, operation: &'static str, wait: Duration) {
    #[cfg(feature = "metrics")]
    {
        describe();
        let labels = [
            ("provider", provider.to_owned()),
            ("operation", operation.to_owned()),
        ];
        ::metrics::counter!("ticket.rate_limit.waits", &labels).increment(1);
        let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        ::metrics::counter!("ticket.rate_limit.wait_seconds", &labels).increment(millis);
    }
}

/// The shared budget fell back to the local share.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables, dead_code))]
pub(crate) fn fell_back(provider: &str) {
    #[cfg(feature = "metrics")]
    {
        describe();
        ::metrics::counter!("ticket.rate_budget.fallbacks", "provider" => provider.to_owned())
            .increment(1);
    }
}

/// Describes the counters once per process (for exporters that print help and units).
#[cfg(feature = "metrics")]
fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        ::metrics::describe_counter!(
            "ticket.rate_limit.waits",
            ::metrics::Unit::Count,
            "requests the rate budget made wait (its pause gate, shared budget or limiter)"
        );
        ::metrics::describe_counter!(
            "ticket.rate_limit.wait_seconds",
            ::metrics::Unit::Milliseconds,
            "total time requests waited for the rate budget, in whole milliseconds (the metrics facade's counters are integers)"
        );
        ::metrics::describe_counter!(
            "ticket.rate_budget.fallbacks",
            ::metrics::Unit::Count,
            "times the shared (Redis) rate budget fell back to the local share"
        );
    });
}
