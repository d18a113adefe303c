//! A token store in this process's memory: the default, for one process.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use ticket_core::TicketError;

use super::{DEFAULT_LOCK_TIMEOUT, RefreshLock, TokenSet, TokenStore, lock_timed_out, same_secret};

/// A token store in this process's memory: the default of
/// [`RefreshingToken`](crate::RefreshingToken). Clones share the same set, so several sources
/// in one process can share one chain.
#[derive(Clone)]
pub struct MemoryTokenStore {
    set: Arc<Mutex<Option<TokenSet>>>,
    lock: Arc<tokio::sync::Mutex<()>>,
    lock_timeout: Duration,
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self {
            set: Arc::default(),
            lock: Arc::default(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long [`lock`](TokenStore::lock) waits for another holder (default
    /// [`DEFAULT_LOCK_TIMEOUT`]).
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryTokenStore")
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        Ok(self.set.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    async fn compare_and_swap(
        &self,
        expected: &SecretString,
        new: &TokenSet,
    ) -> Result<bool, TicketError> {
        let mut set = self.set.lock().unwrap_or_else(|e| e.into_inner());
        if set
            .as_ref()
            .is_some_and(|s| !same_secret(&s.refresh_token, expected))
        {
            return Ok(false);
        }
        *set = Some(new.clone());
        Ok(true)
    }

    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        tokio::time::timeout(self.lock_timeout, Arc::clone(&self.lock).lock_owned())
            .await
            .map(RefreshLock::new)
            .map_err(|_| lock_timed_out("in memory", self.lock_timeout))
    }

    fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }
}
