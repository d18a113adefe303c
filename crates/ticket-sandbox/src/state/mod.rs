//! The shared mutable state behind one sandbox.

mod faults;
mod limits;
mod log;
mod tickets;
mod tokens;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::fault::{Fault, Scope};
use crate::model::{Credentials, EngageLabTicket, FeishuTicket, RecordedRequest, Stats};
use crate::ratelimit::{Bucket, Provider};
use crate::util::unix_millis_now;

use tickets::{prepare_engagelab, prepare_feishu};
use tokens::Tokens;
pub(crate) use tokens::{REFRESH_TOKEN_TTL_SECS, RefreshOutcome, TokenCheck};

/// What the sandbox was started with, to restore on reset.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) credentials: Credentials,
    pub(crate) token_ttl: Duration,
    pub(crate) seed_engagelab: Vec<(String, EngageLabTicket)>,
    pub(crate) seed_feishu: Vec<(String, FeishuTicket)>,
    pub(crate) request_log_capacity: usize,
    pub(crate) request_log_max_bytes: usize,
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) rate_limits: Vec<(Provider, u32)>,
}

/// The kind of route a request hit, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    EngageLab,
    Feishu,
    FeishuToken,
    Admin,
    Other,
}

#[derive(Debug)]
struct Inner {
    engagelab: HashMap<String, EngageLabTicket>,
    feishu: HashMap<String, FeishuTicket>,
    tokens: Tokens,
    faults: HashMap<Scope, VecDeque<(Fault, u32)>>,
    /// Scopes in the order their first fault was queued, for stable listings.
    fault_order: Vec<Scope>,
    stats: Stats,
    log: VecDeque<RecordedRequest>,
    /// Sum of [`RecordedRequest::size`] over `log`.
    log_bytes: usize,
    /// The rate-limit mode's buckets, by [`Provider::index`].
    buckets: [Option<Bucket>; 2],
}

/// Shared state; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    inner: Arc<Mutex<Inner>>,
    logid_counter: Arc<AtomicU64>,
    logid_prefix: u64,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        let inner = Inner::new(&config);
        let logid_prefix = u64::try_from(unix_millis_now()).unwrap_or_default();
        Self {
            config: Arc::new(config),
            inner: Arc::new(Mutex::new(inner)),
            logid_counter: Arc::new(AtomicU64::new(0)),
            logid_prefix,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh, unique `X-Tt-Logid` value.
    pub(crate) fn next_logid(&self) -> String {
        let n = self.logid_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:014x}{:010x}", self.logid_prefix, n)
    }

    pub(crate) fn reset(&self) {
        *self.lock() = Inner::new(&self.config);
    }
}

impl Inner {
    fn new(config: &Config) -> Self {
        let engagelab = config
            .seed_engagelab
            .iter()
            .map(|(id, t)| (id.clone(), prepare_engagelab(id.clone(), t.clone())))
            .collect();
        let feishu = config
            .seed_feishu
            .iter()
            .map(|(id, t)| (id.clone(), prepare_feishu(id.clone(), t.clone())))
            .collect();
        Self {
            engagelab,
            feishu,
            tokens: Tokens::new(&config.credentials, config.token_ttl),
            faults: HashMap::new(),
            fault_order: Vec::new(),
            stats: Stats::default(),
            log: VecDeque::new(),
            log_bytes: 0,
            buckets: {
                let mut buckets = [None, None];
                for (provider, per_second) in &config.rate_limits {
                    buckets[provider.index()] = (*per_second > 0).then(|| Bucket::new(*per_second));
                }
                buckets
            },
        }
    }
}
