//! A token store in Redis, shared by replicas on several hosts (feature `redis`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;
use tokio::sync::OnceCell;

use super::set::checked_set;
use super::{
    DEFAULT_LOCK_TIMEOUT, LockWait, RefreshLock, TokenSet, TokenStore, lock_timed_out,
    not_a_token_set, unavailable, unix_millis_now,
};

/// Saves the set (a hash) only if its stored refresh token is ARGV[1] or nothing is stored.
const CAS: &str = r"
local current = redis.call('HGET', KEYS[1], 'refresh_token')
if current and current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'refresh_token', ARGV[2])
local names = {'access_token', 'expires_at_ms', 'refresh_after_ms', 'refresh_expires_at_ms'}
for i, name in ipairs(names) do
  if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[1], name, ARGV[i + 2]) end
end
return 1
";

/// Deletes the lock only if it still holds our token.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// A token set in Redis, for replicas on several hosts.
///
/// The set is a hash at `key` (fields `refresh_token`, `access_token`, `expires_at_ms`,
/// `refresh_after_ms`, `refresh_expires_at_ms`); compare-and-swap is a Lua script, so it is
/// atomic on the server. The refresh lock is `SET <key>:lock <token> NX PX <lease>`, released by
/// a script that deletes it only if it still holds this holder's token; a holder that dies
/// releases it when the lease runs out (default 30 s: keep it above the refresh request's
/// timeout). A waiter gives up after [`lock_timeout`](Self::lock_timeout).
///
/// **Reconnects by itself.** The connection is the `redis` crate's `ConnectionManager`: after
/// Redis restarts (or the network drops) the next command reconnects. Every wait is bounded:
/// connecting by [`connection_timeout`](Self::connection_timeout) (default 2 s), each command by
/// [`response_timeout`](Self::response_timeout) (default 2 s). While Redis cannot be reached,
/// every operation fails at once with a retryable [`TicketError::Transport`] (`sent:
/// Sent::No`) naming the key; a key that holds something other than a token set (another type,
/// a token with whitespace, a field that is not a number) is a `Configuration` error naming the
/// key. No message carries the URL (it may hold a password) or a token.
pub struct RedisTokenStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    key: String,
    lock_key: String,
    lease: Duration,
    poll: Duration,
    lock_timeout: Duration,
    connection_timeout: Duration,
    response_timeout: Duration,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: print only the key.
        f.debug_struct("RedisTokenStore")
            .field("key", &self.key)
            .field("lease", &self.lease)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

static HOLDER: AtomicU64 = AtomicU64::new(0);

impl RedisTokenStore {
    /// A store at `key` on the server at `url` (`redis://[:password@]host[:port][/db]`). The URL
    /// is checked now; the connection is made on first use.
    pub fn new(url: &str, key: impl Into<String>) -> Result<Self, TicketError> {
        let client = redis::Client::open(url).map_err(|e| {
            // The parse error never repeats the URL (which may hold a password).
            TicketError::config(format!("bad Redis URL for the Feishu token store: {e}"))
        })?;
        let key = key.into();
        if key.is_empty() {
            return Err(TicketError::config(
                "the Redis key of the token store is empty",
            ));
        }
        Ok(Self {
            client,
            connection: OnceCell::new(),
            lock_key: format!("{key}:lock"),
            key,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(20),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        })
    }

    /// How long a refresh lock lasts if its holder never releases it (default 30 s).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// How long [`lock`](TokenStore::lock) waits for another holder's lock before failing with a
    /// retryable [`TicketError::Transport`] (default [`DEFAULT_LOCK_TIMEOUT`]).
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How long one attempt to connect (or reconnect) may take (default 2 s).
    #[must_use]
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long one command may wait for its answer (default 2 s).
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The hash key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The connection: made lazily on first use (it needs the runtime), then kept and
    /// re-established by the manager whenever it breaks.
    async fn connection(&self) -> Result<ConnectionManager, TicketError> {
        self.connection
            .get_or_try_init(|| async {
                // One quick reconnection attempt per failing command, not a long retry series:
                // a caller gets its answer within about one connection timeout, and the next
                // command tries again.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.connection_timeout))
                    .set_response_timeout(Some(self.response_timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .map_err(|e| self.failed("cannot set up the connection", e))
            })
            .await
            .cloned()
    }

    /// A failed command: a key of another type is the operator's to fix; anything else
    /// (connection refused, reset, timed out) is transient.
    fn failed(&self, what: &str, e: redis::RedisError) -> TicketError {
        if e.code() == Some("WRONGTYPE") {
            return self.not_a_token_set("it is not a hash");
        }
        unavailable(
            format!(
                "the Feishu token store (Redis key {}) failed: {what}",
                self.key
            ),
            Some(Arc::new(e)),
        )
    }

    fn not_a_token_set(&self, why: &str) -> TicketError {
        not_a_token_set(
            format_args!("the Redis key {} of the Feishu token store", self.key),
            why,
        )
    }

    /// The stored hash, checked into a set (fields it does not know are left alone, for a
    /// later version's sake).
    fn parse(&self, fields: HashMap<String, String>) -> Result<Option<TokenSet>, TicketError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let number = |name: &str| -> Result<Option<u64>, TicketError> {
            fields
                .get(name)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| {
                        self.not_a_token_set(&format!("its {name} is not a whole number"))
                    })
                })
                .transpose()
        };
        let Some(refresh) = fields.get("refresh_token") else {
            return Err(self.not_a_token_set("it has no refresh_token"));
        };
        checked_set(
            refresh.clone(),
            fields.get("access_token").cloned(),
            number("expires_at_ms")?,
            number("refresh_after_ms")?,
            number("refresh_expires_at_ms")?,
        )
        .map_err(|why| self.not_a_token_set(&why))
    }
}

fn number(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        let mut conn = self.connection().await?;
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&self.key)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed("cannot read the token set", e))?;
        self.parse(fields)
    }

    async fn compare_and_swap(
        &self,
        expected: &SecretString,
        new: &TokenSet,
    ) -> Result<bool, TicketError> {
        let mut conn = self.connection().await?;
        let saved: i64 = redis::Script::new(CAS)
            .key(&self.key)
            .arg(expected.expose_secret())
            .arg(new.refresh_token.expose_secret())
            .arg(
                new.access_token
                    .as_ref()
                    .map(|t| t.expose_secret())
                    .unwrap_or(""),
            )
            .arg(number(new.expires_at_ms))
            .arg(number(new.refresh_after_ms))
            .arg(number(new.refresh_expires_at_ms))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed("cannot save the token set", e))?;
        Ok(saved == 1)
    }

    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        let wait = LockWait::new(self.lock_timeout, self.poll);
        let mut conn = self.connection().await?;
        let token = format!(
            "{}-{}-{}",
            std::process::id(),
            HOLDER.fetch_add(1, Ordering::Relaxed),
            unix_millis_now()
        );
        let lease_ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&self.lock_key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(lease_ms)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.failed("cannot take the refresh lock", e))?;
            if taken.is_some() {
                break;
            }
            if !wait.next_try().await {
                return Err(lock_timed_out(
                    format!("Redis key {}", self.lock_key),
                    self.lock_timeout,
                ));
            }
        }
        Ok(RefreshLock::new(Unlock {
            conn: Some(conn),
            key: self.lock_key.clone(),
            token,
        }))
    }

    fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }
}

/// Releases the Redis lock on drop (on the current runtime; else the lease runs out).
struct Unlock {
    conn: Option<ConnectionManager>,
    key: String,
    token: String,
}

impl Drop for Unlock {
    fn drop(&mut self) {
        let (Some(mut conn), Ok(runtime)) =
            (self.conn.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let key = std::mem::take(&mut self.key);
        let token = std::mem::take(&mut self.token);
        runtime.spawn(async move {
            let released: Result<i64, _> = redis::Script::new(UNLOCK)
                .key(&key)
                .arg(&token)
                .invoke_async(&mut conn)
                .await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release the Feishu token lock in Redis; it expires with its lease");
            }
        });
    }
}
