//! The rate-limit mode's buckets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Shared;
use crate::ratelimit::{Bucket, Provider};

impl Shared {
    /// Takes a token from `provider`'s bucket. `Err((per_second, wait))` when the request must
    /// be refused; `Ok` when no rate limit is set or a token was available.
    pub(crate) fn take_rate_token(&self, provider: Provider) -> Result<(), (u32, Duration)> {
        let mut inner = self.lock();
        let Some(bucket) = inner.buckets[provider.index()].as_mut() else {
            return Ok(());
        };
        let per_second = bucket.per_second();
        match bucket.take(Instant::now()) {
            Ok(()) => Ok(()),
            Err(wait) => {
                inner.stats.rate_limited += 1;
                Err((per_second, wait))
            }
        }
    }

    pub(crate) fn set_rate_limit(&self, provider: Provider, per_second: Option<u32>) {
        self.lock().buckets[provider.index()] = per_second.filter(|n| *n > 0).map(Bucket::new);
    }

    pub(crate) fn rate_limits(&self) -> BTreeMap<String, Option<u32>> {
        let inner = self.lock();
        [Provider::EngageLab, Provider::Feishu]
            .into_iter()
            .map(|p| {
                (
                    p.to_string(),
                    inner.buckets[p.index()].as_ref().map(Bucket::per_second),
                )
            })
            .collect()
    }
}
