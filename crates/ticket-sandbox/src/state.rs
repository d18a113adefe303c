//! The shared mutable state behind one sandbox.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::fault::{Fault, PendingFault, Scope};
use crate::model::{Credentials, EngageLabTicket, FeishuTicket, RecordedRequest, Stats};
use crate::ratelimit::{Bucket, Provider};
use crate::util::{rfc3339_now, unix_millis_now};

/// How long a refresh token lives, as reported by the token endpoint (not enforced).
pub(crate) const REFRESH_TOKEN_TTL_SECS: u64 = 604_800;

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

/// The result of checking a Feishu access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

/// The result of a refresh attempt.
#[derive(Debug)]
pub(crate) enum RefreshOutcome {
    /// New tokens: access token, refresh token, access TTL.
    Issued {
        access_token: String,
        refresh_token: String,
        expires_in: u64,
    },
    /// Unknown or already used refresh token.
    InvalidGrant,
}

#[derive(Debug)]
struct Tokens {
    /// Access token → expiry.
    access: HashMap<String, Instant>,
    /// Refresh token → already used?
    refresh: HashMap<String, bool>,
    current_access: String,
    current_refresh: String,
    issued: u64,
}

impl Tokens {
    fn new(creds: &Credentials, ttl: Duration) -> Self {
        let now = Instant::now();
        let mut access = HashMap::new();
        access.insert(creds.feishu_user_access_token.clone(), now + ttl);
        let mut refresh = HashMap::new();
        refresh.insert(creds.feishu_refresh_token.clone(), false);
        Self {
            access,
            refresh,
            current_access: creds.feishu_user_access_token.clone(),
            current_refresh: creds.feishu_refresh_token.clone(),
            issued: 0,
        }
    }
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

    // ---- tickets -------------------------------------------------------------------------

    pub(crate) fn seed_engagelab(&self, id: String, ticket: EngageLabTicket) {
        let ticket = prepare_engagelab(id.clone(), ticket);
        self.lock().engagelab.insert(id, ticket);
    }

    pub(crate) fn seed_feishu(&self, id: String, ticket: FeishuTicket) {
        let ticket = prepare_feishu(id.clone(), ticket);
        self.lock().feishu.insert(id, ticket);
    }

    pub(crate) fn engagelab_ticket(&self, id: &str) -> Option<EngageLabTicket> {
        self.lock().engagelab.get(id).cloned()
    }

    pub(crate) fn feishu_ticket(&self, id: &str) -> Option<FeishuTicket> {
        self.lock().feishu.get(id).cloned()
    }

    /// Applies `f` to the stored ticket; `None` when there is no such ticket.
    pub(crate) fn update_engagelab<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut EngageLabTicket) -> R,
    ) -> Option<R> {
        self.lock().engagelab.get_mut(id).map(f)
    }

    /// Applies `f` to the stored ticket; `None` when there is no such ticket.
    pub(crate) fn update_feishu<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut FeishuTicket) -> R,
    ) -> Option<R> {
        self.lock().feishu.get_mut(id).map(f)
    }

    // ---- tokens --------------------------------------------------------------------------

    pub(crate) fn check_access_token(&self, token: &str) -> TokenCheck {
        match self.lock().tokens.access.get(token) {
            None => TokenCheck::Unknown,
            Some(expiry) if Instant::now() >= *expiry => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }

    pub(crate) fn expire_access_tokens(&self) {
        let now = Instant::now();
        for expiry in self.lock().tokens.access.values_mut() {
            if *expiry > now {
                *expiry = now;
            }
        }
    }

    pub(crate) fn current_access_token(&self) -> String {
        self.lock().tokens.current_access.clone()
    }

    pub(crate) fn current_refresh_token(&self) -> String {
        self.lock().tokens.current_refresh.clone()
    }

    pub(crate) fn refresh(&self, refresh_token: &str) -> RefreshOutcome {
        let ttl = self.config.token_ttl;
        let mut inner = self.lock();
        let tokens = &mut inner.tokens;
        match tokens.refresh.get_mut(refresh_token) {
            Some(used) if !*used => *used = true,
            _ => return RefreshOutcome::InvalidGrant,
        }
        tokens.issued += 1;
        let n = tokens.issued;
        let access_token = format!("u-sandbox-access-{n}-{:x}", self.logid_prefix);
        let new_refresh = format!("ur-sandbox-refresh-{n}-{:x}", self.logid_prefix);
        tokens
            .access
            .insert(access_token.clone(), Instant::now() + ttl);
        tokens.refresh.insert(new_refresh.clone(), false);
        tokens.current_access = access_token.clone();
        tokens.current_refresh = new_refresh.clone();
        let expires_in = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        RefreshOutcome::Issued {
            access_token,
            refresh_token: new_refresh,
            expires_in,
        }
    }

    // ---- faults --------------------------------------------------------------------------

    pub(crate) fn inject(&self, fault: Fault, scope: Scope, times: u32) {
        if times == 0 {
            return;
        }
        let mut inner = self.lock();
        if !inner.fault_order.contains(&scope) {
            inner.fault_order.push(scope.clone());
        }
        inner
            .faults
            .entry(scope)
            .or_default()
            .push_back((fault, times));
    }

    pub(crate) fn clear_faults(&self) {
        let mut inner = self.lock();
        inner.faults.clear();
        inner.fault_order.clear();
    }

    pub(crate) fn pending_faults(&self) -> Vec<PendingFault> {
        let inner = self.lock();
        let mut out = Vec::new();
        for scope in &inner.fault_order {
            if let Some(queue) = inner.faults.get(scope) {
                for (fault, remaining) in queue {
                    out.push(PendingFault {
                        fault: fault.clone(),
                        scope: scope.clone(),
                        remaining: *remaining,
                    });
                }
            }
        }
        out
    }

    /// Takes the next fault for a request: the ticket scope first, then the provider scope.
    pub(crate) fn take_fault(&self, provider: Scope, ticket_id: Option<&str>) -> Option<Fault> {
        let mut inner = self.lock();
        let ticket_scope = ticket_id.map(|id| Scope::Ticket(id.to_owned()));
        let fault = ticket_scope
            .into_iter()
            .chain(std::iter::once(provider))
            .find_map(|scope| pop_fault(&mut inner.faults, &scope));
        if fault.is_some() {
            inner.stats.faults_applied += 1;
        }
        fault
    }

    // ---- stats and log -------------------------------------------------------------------

    pub(crate) fn count_connection(&self) {
        self.lock().stats.connections += 1;
    }

    pub(crate) fn record(&self, kind: RouteKind, request: Option<RecordedRequest>) {
        let cap = self.config.request_log_capacity;
        let mut inner = self.lock();
        let stats = &mut inner.stats;
        match kind {
            RouteKind::EngageLab => stats.engagelab_requests += 1,
            RouteKind::Feishu => stats.feishu_requests += 1,
            RouteKind::FeishuToken => stats.token_refresh_requests += 1,
            RouteKind::Admin => stats.admin_requests += 1,
            RouteKind::Other => stats.other_requests += 1,
        }
        if let Some(mut request) = request {
            let max_bytes = self.config.request_log_max_bytes;
            if cap == 0 || max_bytes == 0 {
                return;
            }
            let size = request.size();
            if size > max_bytes {
                // Keep the request, not all of its body.
                let cut = request.body.len().saturating_sub(size - max_bytes);
                request.body.truncate(cut);
                request.body_truncated = true;
            }
            let size = request.size();
            while inner.log.len() >= cap
                || (inner.log_bytes + size > max_bytes && !inner.log.is_empty())
            {
                if let Some(old) = inner.log.pop_front() {
                    inner.log_bytes -= old.size();
                }
            }
            inner.log_bytes += size;
            inner.log.push_back(request);
        }
    }

    /// The request log's current size in bytes (as counted against its limit).
    pub(crate) fn request_log_bytes(&self) -> usize {
        self.lock().log_bytes
    }

    // ---- rate limit, comments, flags ------------------------------------------------------

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

    pub(crate) fn count_noncanonical_helpdesk_auth(&self) {
        self.lock().stats.noncanonical_helpdesk_auth += 1;
    }

    pub(crate) fn count_comment(&self) {
        self.lock().stats.comments_applied += 1;
    }

    /// Comments stored per Feishu ticket, for every ticket with at least one.
    pub(crate) fn comment_counts(&self) -> BTreeMap<String, usize> {
        self.lock()
            .feishu
            .iter()
            .filter(|(_, t)| !t.comments.is_empty())
            .map(|(id, t)| (id.clone(), t.comments.len()))
            .collect()
    }

    pub(crate) fn stats(&self) -> Stats {
        self.lock().stats
    }

    pub(crate) fn reset_stats(&self) {
        self.lock().stats = Stats::default();
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.log_bytes = 0;
    }
}

fn pop_fault(faults: &mut HashMap<Scope, VecDeque<(Fault, u32)>>, scope: &Scope) -> Option<Fault> {
    let queue = faults.get_mut(scope)?;
    let (fault, remaining) = queue.front_mut()?;
    let fault = fault.clone();
    *remaining -= 1;
    if *remaining == 0 {
        queue.pop_front();
    }
    Some(fault)
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

fn prepare_engagelab(id: String, mut ticket: EngageLabTicket) -> EngageLabTicket {
    ticket.ticket_id = id;
    if ticket.updated_at.is_empty() {
        ticket.updated_at = rfc3339_now();
    }
    ticket
}

fn prepare_feishu(id: String, mut ticket: FeishuTicket) -> FeishuTicket {
    ticket.ticket_id = id;
    if ticket.updated_at == 0 {
        ticket.updated_at = unix_millis_now();
    }
    ticket
}
