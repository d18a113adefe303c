//! The rate-limit mode's buckets: one per [`Lane`], the Feishu read lane following the Feishu
//! mode.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Shared;
use crate::ratelimit::{Bucket, Lane, Provider};

/// The buckets in force, and the Feishu read pace to use whenever the Feishu mode is on.
#[derive(Debug)]
pub(super) struct Limits {
    buckets: [Option<Bucket>; 3],
    feishu_get_per_second: u32,
}

impl Limits {
    pub(super) fn new(rate_limits: &[(Provider, u32)], feishu_get_per_second: u32) -> Self {
        let mut limits = Self {
            buckets: [None, None, None],
            feishu_get_per_second,
        };
        for (provider, per_second) in rate_limits {
            limits.set(*provider, Some(*per_second));
        }
        limits
    }

    /// Turns a provider's mode on (`Some(n)`, n > 0) or off. Turning Feishu's on also paces its
    /// reads at the read figure; both start full.
    fn set(&mut self, provider: Provider, per_second: Option<u32>) {
        let bucket = per_second.filter(|n| *n > 0).map(Bucket::new);
        match provider {
            Provider::EngageLab => self.buckets[Lane::EngageLab.index()] = bucket,
            Provider::Feishu => {
                self.buckets[Lane::Feishu.index()] = bucket;
                self.refresh_feishu_get();
            }
        }
    }

    fn set_feishu_get(&mut self, per_second: u32) {
        self.feishu_get_per_second = per_second;
        self.refresh_feishu_get();
    }

    fn refresh_feishu_get(&mut self) {
        let on = self.buckets[Lane::Feishu.index()].is_some() && self.feishu_get_per_second > 0;
        self.buckets[Lane::FeishuGet.index()] = on.then(|| Bucket::new(self.feishu_get_per_second));
    }
}

impl Shared {
    /// Takes a token from `lane`'s bucket. `Err((per_second, wait))` when the request must
    /// be refused; `Ok` when no rate limit is set or a token was available.
    pub(crate) fn take_rate_token(&self, lane: Lane) -> Result<(), (u32, Duration)> {
        let mut inner = self.lock();
        let Some(bucket) = inner.limits.buckets[lane.index()].as_mut() else {
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
        self.lock().limits.set(provider, per_second);
    }

    pub(crate) fn set_feishu_get_rate_limit(&self, per_second: u32) {
        self.lock().limits.set_feishu_get(per_second);
    }

    /// Each lane's pace in force, requests per second (`None` when off).
    pub(crate) fn rate_limits(&self) -> BTreeMap<String, Option<u32>> {
        let inner = self.lock();
        Lane::ALL
            .into_iter()
            .map(|lane| {
                let pace = inner.limits.buckets[lane.index()]
                    .as_ref()
                    .map(Bucket::per_second);
                (lane.name().to_owned(), pace)
            })
            .collect()
    }
}
