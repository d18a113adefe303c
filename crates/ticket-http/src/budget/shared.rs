//! The shared budget (feature `redis`): one GCRA in Redis for every replica of an app, its
//! fallback to a local share while Redis cannot be reached, and the way back.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ticket_core::TicketError;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::local::{Lane, burst};

/// The one Lua script of the shared budget: GCRA with a reservation, the server's wait and
/// stated rate, and the count of replicas (its header says every key and argument).
pub const GCRA_SCRIPT: &str = include_str!("gcra.lua");

/// The longest wait reserved in Redis at once: a request that would wait longer comes back
/// after this (so a slot is not held for a request that may be gone by then).
const MAX_RESERVE: Duration = Duration::from_secs(1);
/// How often a fallen-back budget tries Redis again (one request does, the others keep to
/// the local share).
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How often this replica counts itself among the app's replicas.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How long the budget's keys outlive their last use.
const IDLE_MS: u64 = 60_000;

/// A budget shared through Redis by every replica of one app: keys
/// `<prefix>:{<provider>:<app>}:<operation>` (a hash: `tat`, `blocked`, `rate`) and
/// `<prefix>:{<provider>:<app>}:replicas` (a sorted set), one Lua script ([`GCRA_SCRIPT`]) on
/// Redis's own clock. The braces make the keys of one app one Redis Cluster slot. The app
/// name is never a secret: the facade passes an app id or a configured name, or a hash.
///
/// **When Redis cannot be reached** (refused, reset, or no answer within
/// [`timeout`](Self::timeout), default 500 ms, connecting included), the request that found
/// out draws from the **local share** at once, and so does every request after it: the rate
/// divided by the replicas the shared budget last saw active within 10 s (each replica counts
/// itself there once a second), at least [`replicas_hint`](Self::replicas_hint) (default 1).
/// That is the rate each replica had while Redis worked, so the replicas together stay near
/// the rate, and one process never exceeds it (the cap). It says so once in a
/// `tracing::warn!` and the counter `ticket.rate_budget.fallbacks` (feature `metrics`). Once a
/// second one request tries Redis again; when it answers, every request draws from it again,
/// and for one second more and the timeout (the longest the other replicas take to try
/// Redis again) also keeps to the local share: until they are back, the shared budget sees only
/// the replicas drawing from it and would hand one the whole rate while the others still
/// spend their shares. No request ever waits for Redis longer than the timeout.
pub struct RedisBudget {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    script: redis::Script,
    base: String,
    replicas_key: String,
    member: String,
    timeout: Duration,
    hint: u32,
    replicas: AtomicU32,
    epoch: Instant,
    next_heartbeat: AtomicU64,
    fallen_back: AtomicBool,
    next_probe: AtomicU64,
    /// After a recovery, until when (µs since `epoch`) requests keep to the local share too.
    share_until: AtomicU64,
    fallbacks: AtomicU64,
}

impl fmt::Debug for RedisBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: the keys only.
        f.debug_struct("RedisBudget")
            .field("keys", &self.base)
            .field("timeout", &self.timeout)
            .field("replicas_hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// What the script answered to `take`.
struct Took {
    taken: bool,
    wait: Duration,
    adopted: u32,
    replicas: u32,
}

impl RedisBudget {
    /// The budget of `app` of `provider` on the Redis server at `url`
    /// (`redis://[:password@]host[:port][/db]`), its keys under `prefix` (such as
    /// `ticket:rate`). The URL is checked now; the connection is made on first use. `app`
    /// and `prefix` must not hold braces, spaces or control characters.
    pub fn new(url: &str, prefix: &str, provider: &str, app: &str) -> Result<Self, TicketError> {
        let client = redis::Client::open(url).map_err(|e| {
            // The parse error never repeats the URL (which may hold a password).
            TicketError::config(format!("bad Redis URL for the rate budget: {e}"))
        })?;
        for (what, text) in [("prefix", prefix), ("app name", app)] {
            let bad = text.is_empty()
                || text
                    .chars()
                    .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control());
            if bad {
                return Err(TicketError::config(format!(
                    "the rate budget's {what} must be non-empty, without braces, spaces or control characters"
                )));
            }
        }
        let base = format!("{prefix}:{{{provider}:{app}}}");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Ok(Self {
            client,
            connection: OnceCell::new(),
            script: redis::Script::new(GCRA_SCRIPT),
            replicas_key: format!("{base}:replicas"),
            base,
            member: format!("{}-{nanos:09}", std::process::id()),
            timeout: Duration::from_millis(500),
            hint: 1,
            replicas: AtomicU32::new(0),
            epoch: Instant::now(),
            next_heartbeat: AtomicU64::new(0),
            fallen_back: AtomicBool::new(false),
            next_probe: AtomicU64::new(0),
            share_until: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        })
    }

    /// The longest a request waits for Redis (connecting and answering), after which it draws
    /// from the local share (default 500 ms).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The fewest replicas the fallback assumes (default 1): the share is the rate divided by
    /// the larger of this and the replicas last seen.
    #[must_use]
    pub fn replicas_hint(mut self, replicas: u32) -> Self {
        self.hint = replicas.max(1);
        self
    }

    /// The key of `operation`'s budget (a hash).
    pub fn key(&self, operation: &str) -> String {
        format!("{}:{operation}", self.base)
    }

    /// The key of the replicas seen (a sorted set).
    pub fn replicas_key(&self) -> &str {
        &self.replicas_key
    }

    pub(crate) fn fallen_back(&self) -> bool {
        self.fallen_back.load(Ordering::Acquire)
    }

    pub(crate) fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    pub(crate) fn replicas(&self) -> u32 {
        self.replicas.load(Ordering::Relaxed)
    }

    fn divisor(&self) -> u32 {
        self.replicas().max(self.hint)
    }

    fn micros_since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether this request is the one that tries Redis again now.
    fn probe_due(&self) -> bool {
        let now = self.micros_since_epoch();
        let due = self.next_probe.load(Ordering::Acquire);
        now >= due
            && self
                .next_probe
                .compare_exchange(
                    due,
                    now + micros(PROBE_EVERY),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// This replica's name when it is time to count itself again, else `""`.
    fn heartbeat(&self) -> &str {
        let now = self.micros_since_epoch();
        let due = self.next_heartbeat.load(Ordering::Relaxed);
        let mine = now >= due
            && self
                .next_heartbeat
                .compare_exchange(
                    due,
                    now + micros(HEARTBEAT_EVERY),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok();
        if mine { &self.member } else { "" }
    }

    /// The connection: made lazily (it needs the runtime), then kept and re-established by
    /// the manager whenever it breaks.
    async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    /// Runs the script, within the timeout.
    async fn run(&self, invocation: redis::ScriptInvocation<'_>) -> Result<Vec<i64>, String> {
        let call = async {
            let mut conn = self.connection().await.map_err(|e| e.to_string())?;
            invocation
                .invoke_async::<Vec<i64>>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    async fn call_take(&self, lane: &Lane) -> Result<Took, String> {
        let interval = lane.configured().map_or(0, |r| micros(r.interval()));
        let effective = lane.interval().unwrap_or(Duration::from_secs(1));
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.key(lane.operation))
            .key(&self.replicas_key)
            .arg("take")
            .arg("")
            .arg(interval)
            .arg(burst(effective).get())
            .arg(micros(MAX_RESERVE))
            .arg(self.heartbeat())
            .arg(IDLE_MS);
        let reply = self.run(invocation).await?;
        let [taken, wait, adopted, replicas] = reply[..] else {
            return Err(format!("the script answered {reply:?}"));
        };
        let whole = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(Took {
            taken: taken == 1,
            wait: Duration::from_micros(whole(wait)),
            adopted: u32::try_from(whole(adopted)).unwrap_or(u32::MAX),
            replicas: u32::try_from(whole(replicas)).unwrap_or(u32::MAX),
        })
    }

    /// Takes one slot of `lane`'s shared budget and waits for it; while Redis cannot be
    /// reached, waits for the local share instead. True if it waited.
    pub(crate) async fn take(&self, provider: &str, lane: &Lane) -> bool {
        if self.fallen_back() && !self.probe_due() {
            return lane.share(self.divisor()).await;
        }
        let mut waited = false;
        loop {
            let took = match self.call_take(lane).await {
                Ok(took) => took,
                Err(why) => {
                    self.fall_back(provider, &why);
                    return lane.share(self.divisor()).await | waited;
                }
            };
            if self.recovered(provider) {
                // Boxed: once after an outage, and a Redis call's state would otherwise
                // enlarge every update's wait for the budget.
                Box::pin(self.share_adopted(provider, lane, took.adopted)).await;
            }
            if took.adopted > 0 {
                lane.adopt(took.adopted);
            }
            let grace = self.micros_since_epoch() < self.share_until.load(Ordering::Acquire);
            if took.replicas > 0 {
                // A Redis that came back empty counts the replicas afresh, one heartbeat at a
                // time: during the grace the share stays the one of the replicas seen before.
                if grace {
                    self.replicas.fetch_max(took.replicas, Ordering::Relaxed);
                } else {
                    self.replicas.store(took.replicas, Ordering::Relaxed);
                }
            }
            if took.taken {
                if !took.wait.is_zero() {
                    tokio::time::sleep(took.wait).await;
                    waited = true;
                }
                if grace {
                    waited |= lane.share(self.divisor()).await;
                }
                return waited;
            }
            tokio::time::sleep(took.wait.min(MAX_RESERVE)).await;
            waited = true;
        }
    }

    /// Tells every replica of a refusal: no request of `lane` starts before `wait` from now,
    /// and the rate to `adopt`, if any. Skipped while fallen back.
    pub(crate) async fn refused(
        &self,
        provider: &str,
        lane: &Lane,
        wait: Duration,
        adopt: Option<u32>,
    ) {
        if self.fallen_back() {
            return;
        }
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.key(lane.operation))
            .key(&self.replicas_key)
            .arg("refused")
            .arg("")
            .arg(micros(wait))
            .arg(adopt.unwrap_or(0))
            .arg(0)
            .arg("")
            .arg(IDLE_MS);
        if let Err(why) = self.run(invocation).await {
            self.fall_back(provider, &why);
        }
    }

    fn fall_back(&self, provider: &str, why: &str) {
        self.next_probe.store(
            self.micros_since_epoch() + micros(PROBE_EVERY),
            Ordering::Release,
        );
        if !self.fallen_back.swap(true, Ordering::AcqRel) {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            crate::telemetry::budget_fell_back(provider);
            tracing::warn!(
                ticket.provider = provider,
                keys = %self.base,
                replicas = self.divisor(),
                error = %why,
                "rate budget: Redis cannot be reached; each process keeps to its share of the rate until it answers again"
            );
        }
    }

    /// After a fallback: writes the rate `lane` adopted locally (a limit a server stated while
    /// Redis could not be reached, or one Redis lost in a restart) to the shared budget, when
    /// Redis holds none or a higher one (`in_redis`), so that every replica adopts it.
    async fn share_adopted(&self, provider: &str, lane: &Lane, in_redis: u32) {
        if let Some(local) = lane.adopted()
            && (in_redis == 0 || local < in_redis)
        {
            self.refused(provider, lane, Duration::ZERO, Some(local))
                .await;
        }
    }

    /// Whether Redis answered after a fallback (then says so, once).
    fn recovered(&self, provider: &str) -> bool {
        let back = self.fallen_back.swap(false, Ordering::AcqRel);
        if back {
            // Every other replica that fell back tries Redis within `PROBE_EVERY` and has its
            // answer within the timeout; until then this one keeps to its share as well.
            let grace = micros(PROBE_EVERY + self.timeout);
            self.share_until
                .store(self.micros_since_epoch() + grace, Ordering::Release);
            tracing::info!(
                ticket.provider = provider,
                keys = %self.base,
                "rate budget: back on the shared budget in Redis"
            );
        }
        back
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The name of an app in the budget's keys, from the value that identifies it (an app id, a
/// helpdesk id, an API key): the value itself when it is not `secret` and short and plain
/// (`[A-Za-z0-9._-]`, at most 64 characters), else `h` and the first 16 hex digits of its
/// SHA-1, so that no secret is ever written into a key.
pub fn app_name(value: &str, secret: bool) -> String {
    let plain = value.len() <= 64
        && !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain && !secret {
        return value.to_owned();
    }
    let digest = sha1_smol::Sha1::from(value.as_bytes()).digest().to_string();
    format!("h{}", &digest[..16])
}
