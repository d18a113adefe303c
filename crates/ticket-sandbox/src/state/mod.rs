//! The shared mutable state behind one sandbox, one file per concern.

mod faults;
mod limits;
mod log;
mod modes;
mod tickets;
mod tokens;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::fault::{Fault, Scope};
use crate::model::{
    Credentials, EngageLabGetPaths, EngageLabTicket, FeishuFieldDef, FeishuTicket, OmittedPriority,
    RecordedRequest, Stats,
};
use crate::ratelimit::Provider;
use crate::util::unix_millis_now;

use limits::Limits;
pub(crate) use log::TicketCall;
pub(crate) use tickets::FeishuRecord;
use tokens::Tokens;
pub(crate) use tokens::{Presented, REFRESH_TOKEN_TTL_SECS, RefreshOutcome, TokenCheck};

/// What the sandbox was started with, to restore on reset.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) credentials: Credentials,
    pub(crate) token_ttl: Duration,
    pub(crate) tenant_token_ttl: Duration,
    pub(crate) tenant_token_renew_window: Duration,
    pub(crate) seed_engagelab: Vec<(String, EngageLabTicket)>,
    pub(crate) seed_feishu: Vec<(String, FeishuTicket)>,
    pub(crate) feishu_fields: Vec<FeishuFieldDef>,
    pub(crate) request_log_capacity: usize,
    pub(crate) request_log_max_bytes: usize,
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) rate_limits: Vec<(Provider, u32)>,
    pub(crate) feishu_get_rate_limit: u32,
    pub(crate) omitted_priority: OmittedPriority,
    pub(crate) engagelab_get_paths: EngageLabGetPaths,
}

/// The kind of route a request hit, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    EngageLab,
    Feishu,
    FeishuToken,
    FeishuTenantToken,
    Admin,
    Other,
}

impl RouteKind {
    /// Whether the vendor is Feishu (its answers carry `X-Tt-Logid` and its error shape).
    pub(crate) fn is_feishu(self) -> bool {
        matches!(
            self,
            Self::Feishu | Self::FeishuToken | Self::FeishuTenantToken
        )
    }
}

#[derive(Debug)]
struct Inner {
    engagelab: HashMap<String, EngageLabTicket>,
    feishu: HashMap<String, FeishuRecord>,
    /// The helpdesk's ticket custom field definitions, in listing order.
    feishu_fields: Vec<FeishuFieldDef>,
    tokens: Tokens,
    faults: HashMap<Scope, VecDeque<(Fault, u32)>>,
    /// Scopes in the order their first fault was queued, for stable listings.
    fault_order: Vec<Scope>,
    stats: Stats,
    log: VecDeque<RecordedRequest>,
    /// Sum of [`RecordedRequest::size`] over `log`.
    log_bytes: usize,
    limits: Limits,
    omitted_priority: OmittedPriority,
    engagelab_get_paths: EngageLabGetPaths,
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
            .map(|(id, t)| {
                (
                    id.clone(),
                    tickets::prepare_engagelab(id.clone(), t.clone()),
                )
            })
            .collect();
        let feishu = config
            .seed_feishu
            .iter()
            .map(|(id, t)| (id.clone(), FeishuRecord::seeded(id.clone(), t.clone())))
            .collect();
        Self {
            engagelab,
            feishu,
            feishu_fields: config.feishu_fields.clone(),
            tokens: Tokens::new(config),
            faults: HashMap::new(),
            fault_order: Vec::new(),
            stats: Stats::default(),
            log: VecDeque::new(),
            log_bytes: 0,
            limits: Limits::new(&config.rate_limits, config.feishu_get_rate_limit),
            omitted_priority: config.omitted_priority,
            engagelab_get_paths: config.engagelab_get_paths,
        }
    }
}
