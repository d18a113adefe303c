//! A token store in Redis, shared by replicas on several hosts (feature `redis`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use secrecy::{ExposeSecret, SecretString};
use ticket_core::TicketError;
use tokio::sync::OnceCell;

use super::{RefreshLock, TokenSet, TokenStore};

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
/// timeout).
pub struct RedisTokenStore {
    client: redis::Client,
    connection: OnceCell<MultiplexedConnection>,
    key: String,
    lock_key: String,
    lease: Duration,
    poll: Duration,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: print only the key.
        f.debug_struct("RedisTokenStore")
            .field("key", &self.key)
            .field("lease", &self.lease)
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
        })
    }

    /// How long a refresh lock lasts if its holder never releases it (default 30 s).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// The hash key.
    pub fn key(&self) -> &str {
        &self.key
    }

    async fn connection(&self) -> Result<MultiplexedConnection, TicketError> {
        self.connection
            .get_or_try_init(|| async {
                self.client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(error)
            })
            .await
            .cloned()
    }
}

fn error(e: redis::RedisError) -> TicketError {
    TicketError::config(format!("the Redis token store failed: {e}"))
}

fn number(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        let mut conn = self.connection().await?;
        let fields: std::collections::HashMap<String, String> =
            conn.hgetall(&self.key).await.map_err(error)?;
        let Some(refresh) = fields.get("refresh_token").filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let num = |name: &str| fields.get(name).and_then(|v| v.parse::<u64>().ok());
        Ok(Some(TokenSet {
            refresh_token: SecretString::from(refresh.clone()),
            access_token: fields
                .get("access_token")
                .filter(|t| !t.is_empty())
                .map(|t| SecretString::from(t.clone())),
            expires_at_ms: num("expires_at_ms"),
            refresh_after_ms: num("refresh_after_ms"),
            refresh_expires_at_ms: num("refresh_expires_at_ms"),
        }))
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
            .map_err(error)?;
        Ok(saved == 1)
    }

    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        let mut conn = self.connection().await?;
        let token = format!(
            "{}-{}-{}",
            std::process::id(),
            HOLDER.fetch_add(1, Ordering::Relaxed),
            super::unix_millis_now()
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
                .map_err(error)?;
            if taken.is_some() {
                break;
            }
            tokio::time::sleep(self.poll).await;
        }
        Ok(RefreshLock::new(Unlock {
            conn: Some(conn),
            key: self.lock_key.clone(),
            token,
        }))
    }
}

/// Releases the Redis lock on drop (on the current runtime; else the lease runs out).
struct Unlock {
    conn: Option<MultiplexedConnection>,
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
