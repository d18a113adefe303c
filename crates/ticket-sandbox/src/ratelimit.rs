//! The rate-limit mode: one token bucket per provider, answering as each vendor does.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One of the two emulated helpdesks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// EngageLab LiveDesk (`/api/...`).
    EngageLab,
    /// Feishu / Lark Helpdesk (`/open-apis/...`, the token endpoint excepted).
    Feishu,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EngageLab => "engagelab",
            Self::Feishu => "feishu",
        })
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "engagelab" => Ok(Self::EngageLab),
            "feishu" => Ok(Self::Feishu),
            other => Err(format!(
                "unknown provider {other:?} (expected engagelab or feishu)"
            )),
        }
    }
}

/// One bucket of the rate-limit mode. Feishu reads have their own (the Get Ticket page states
/// 10/s; the update page only "special limits"), so a burst of reads cannot starve updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// EngageLab ticket requests (its documents state no limits, so one bucket for all).
    EngageLab,
    /// Feishu ticket requests other than `GET`.
    Feishu,
    /// Feishu ticket `GET`s.
    FeishuGet,
}

impl Lane {
    pub(crate) const ALL: [Self; 3] = [Self::EngageLab, Self::Feishu, Self::FeishuGet];

    pub(crate) fn index(self) -> usize {
        match self {
            Self::EngageLab => 0,
            Self::Feishu => 1,
            Self::FeishuGet => 2,
        }
    }

    /// The key in the admin JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::EngageLab => "engagelab",
            Self::Feishu => "feishu",
            Self::FeishuGet => "feishu_get",
        }
    }

    pub(crate) fn provider(self) -> Provider {
        match self {
            Self::EngageLab => Provider::EngageLab,
            Self::Feishu | Self::FeishuGet => Provider::Feishu,
        }
    }
}

/// A token bucket holding at most one second's worth of requests (`per_second` tokens),
/// full at start.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    per_second: u32,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            per_second,
            tokens: f64::from(per_second),
            last: Instant::now(),
        }
    }

    pub(crate) fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes one token, or says how long until one is available.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(self.per_second);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate() {
        let start = Instant::now();
        let mut b = Bucket::new(2);
        b.last = start;
        assert!(b.take(start).is_ok());
        assert!(b.take(start).is_ok());
        let wait = b.take(start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(b.take(start + Duration::from_millis(500)).is_ok());
        assert!(b.take(start + Duration::from_millis(500)).is_err());
        // Never more than one second's worth.
        assert!(b.take(start + Duration::from_secs(60)).is_ok());
        assert!(b.take(start + Duration::from_secs(60)).is_ok());
        assert!(b.take(start + Duration::from_secs(60)).is_err());
    }
}
