//! Keeping the store and a source on the same newest token set: what to do about what the store
//! holds, writing a newer set back, the memory of spent refresh tokens, and the background
//! repair of a store that lost the set.

use std::collections::VecDeque;
use std::sync::Weak;
use std::time::Duration;

use secrecy::SecretString;
use ticket_core::TicketError;

use super::refreshing::Inner;
use super::store::{TokenSet, same_secret, unavailable};

/// The first pause before a background write-back attempt; it doubles after each failure.
const WRITE_BACK_FIRST: Duration = Duration::from_millis(250);
/// The longest pause between background write-back attempts.
const WRITE_BACK_MAX: Duration = Duration::from_secs(5);
/// How many refresh tokens a source remembers having rotated away from.
const SPENT_MEMORY: usize = 32;

/// Refresh tokens a source rotated away from, oldest first: a store holding one is stale.
#[derive(Default)]
pub(super) struct SpentTokens(VecDeque<SecretString>);

impl SpentTokens {
    /// Remembers `token` as spent, forgetting the oldest one past [`SPENT_MEMORY`].
    pub(super) fn remember(&mut self, token: SecretString) {
        if self.0.len() == SPENT_MEMORY {
            self.0.pop_front();
        }
        self.0.push_back(token);
    }

    /// Whether this source rotated away from `token`.
    pub(super) fn contains(&self, token: &SecretString) -> bool {
        self.0.iter().any(|t| same_secret(t, token))
    }
}

/// What to do about the store, from what it holds and what this source knows.
#[derive(Debug)]
enum Plan {
    /// Neither holds a set: refresh with the configured seed.
    Seed,
    /// The store holds this source's newest set.
    InSync(TokenSet),
    /// The store holds another writer's set (an operator's, another process's): use it.
    Adopt(TokenSet),
    /// The store is empty or holds a set this source already spent: write the newest back,
    /// replacing what is stored only if it is still `expected`.
    WriteBack {
        expected: SecretString,
        set: TokenSet,
    },
}

/// Decides between the store's set and this source's newest one. Only a set this source knows
/// to be spent (or an empty store) is replaced: anything else may be newer.
fn plan(stored: Option<&TokenSet>, newest: Option<&TokenSet>, spent: &SpentTokens) -> Plan {
    match (stored, newest) {
        (None, None) => Plan::Seed,
        (None, Some(n)) => Plan::WriteBack {
            expected: n.refresh_token.clone(),
            set: n.clone(),
        },
        (Some(s), Some(n)) if same_secret(&s.refresh_token, &n.refresh_token) => {
            Plan::InSync(n.clone())
        }
        (Some(s), Some(n)) if spent.contains(&s.refresh_token) => Plan::WriteBack {
            expected: s.refresh_token.clone(),
            set: n.clone(),
        },
        (Some(s), _) => Plan::Adopt(s.clone()),
    }
}

impl Inner {
    /// A store operation failed: the store may have lost this source's newest set (Redis
    /// restarted empty, a save that did not land). Remember to write it back, and start trying
    /// in the background.
    pub(super) fn store_failed(&self) {
        let mut cache = self.cache();
        if cache.newest.is_none() {
            return;
        }
        cache.unsaved = true;
        if cache.writing_back {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        cache.writing_back = true;
        let me = self.me.clone();
        runtime.spawn(write_back_loop(me));
    }

    /// Under the store's lock: reads the store and brings it and this source to the same,
    /// newest set, which it returns (`None`: neither holds one, the seed is next).
    pub(super) async fn sync_with_store(&self) -> Result<Option<TokenSet>, TicketError> {
        let stored = self
            .store
            .load()
            .await
            .inspect_err(|_| self.store_failed())?;
        let plan = {
            let cache = self.cache();
            plan(stored.as_ref(), cache.newest.as_ref(), &cache.spent)
        };
        match plan {
            Plan::Seed => Ok(None),
            Plan::InSync(set) => {
                self.cache().unsaved = false;
                Ok(Some(set))
            }
            Plan::Adopt(set) => {
                self.take(&set);
                Ok(Some(set))
            }
            Plan::WriteBack { expected, set } => {
                self.write_newer_back(&expected, &set).await?;
                Ok(Some(set))
            }
        }
    }

    /// Replaces the store's `expected` set (or nothing) with this source's newer `set`.
    async fn write_newer_back(
        &self,
        expected: &SecretString,
        set: &TokenSet,
    ) -> Result<(), TicketError> {
        match self.store.compare_and_swap(expected, set).await {
            Ok(true) => {
                self.cache().unsaved = false;
                tracing::warn!(
                    provider = crate::PROVIDER,
                    store = ?self.store,
                    "the token store was empty or held a refresh token this process had \
                     already used; wrote this process's newer token set back"
                );
                Ok(())
            }
            Ok(false) => {
                self.store_failed();
                Err(unavailable(
                    format!(
                        "the Feishu token store {:?} changed while this process wrote its \
                         newer token set back; no token refresh was attempted",
                        self.store
                    ),
                    None,
                ))
            }
            Err(e) => {
                self.store_failed();
                Err(e)
            }
        }
    }

    /// One background write-back attempt: lock, read, write back if the store is behind.
    async fn write_back(&self) -> Result<(), TicketError> {
        let _lock = self.store.lock().await?;
        let _serial = self.serial.lock().await;
        if !self.cache().unsaved {
            return Ok(());
        }
        self.sync_with_store().await.map(|_| ())
    }

    /// Feishu refused `from`: if it is this source's newest set, that set is dead and is never
    /// written back anywhere.
    pub(super) fn forget_refused(&self, from: &SecretString) {
        let mut cache = self.cache();
        if cache
            .newest
            .as_ref()
            .is_some_and(|n| same_secret(&n.refresh_token, from))
        {
            cache.newest = None;
            cache.unsaved = false;
        }
    }

    /// Whether this source rotated away from `token`.
    pub(super) fn spent(&self, token: &SecretString) -> bool {
        self.cache().spent.contains(token)
    }
}

/// Retries writing a source's newest set back while the store may lack it, pausing from
/// [`WRITE_BACK_FIRST`] up to [`WRITE_BACK_MAX`]; ends when the store holds it, when there is
/// nothing to write any more, or when the source is dropped.
async fn write_back_loop(me: Weak<Inner>) {
    let mut pause = WRITE_BACK_FIRST;
    loop {
        tokio::time::sleep(pause).await;
        let Some(inner) = me.upgrade() else { return };
        if let Err(e) = inner.write_back().await {
            tracing::debug!(
                provider = crate::PROVIDER,
                store = ?inner.store,
                error = %e,
                "background write-back of the token set failed; trying again"
            );
        }
        let mut cache = inner.cache();
        if !cache.unsaved || cache.newest.is_none() {
            cache.writing_back = false;
            return;
        }
        pause = (pause * 2).min(WRITE_BACK_MAX);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use secrecy::ExposeSecret;

    fn set(refresh: &str) -> TokenSet {
        TokenSet::new(refresh).with_access_token(format!("u-{refresh}"), Some(10), Some(5))
    }

    fn spent(tokens: &[&str]) -> SpentTokens {
        let mut spent = SpentTokens::default();
        tokens
            .iter()
            .for_each(|t| spent.remember(SecretString::from(*t)));
        spent
    }

    /// What [`plan`] decides, in short: the set it keeps and, for a write-back, what it expects.
    fn decide(stored: Option<&str>, newest: Option<&str>, spent_tokens: &[&str]) -> String {
        let (stored, newest) = (stored.map(set), newest.map(set));
        match plan(stored.as_ref(), newest.as_ref(), &spent(spent_tokens)) {
            Plan::Seed => "seed".to_owned(),
            Plan::InSync(s) => format!("in sync {}", s.refresh_token.expose_secret()),
            Plan::Adopt(s) => format!("adopt {}", s.refresh_token.expose_secret()),
            Plan::WriteBack { expected, set } => format!(
                "write back {} over {}",
                set.refresh_token.expose_secret(),
                expected.expose_secret()
            ),
        }
    }

    #[test]
    fn the_spent_memory_forgets_only_its_oldest_tokens() {
        let tokens: Vec<String> = (0..=SPENT_MEMORY).map(|i| format!("r{i}")).collect();
        let names: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let memory = spent(&names);
        // One past the bound: the first is forgotten, every later one is still known.
        assert!(!memory.contains(&SecretString::from("r0")));
        for name in &names[1..] {
            assert!(memory.contains(&SecretString::from(*name)), "{name}");
        }
        assert!(!memory.contains(&SecretString::from("never")));
    }

    #[test]
    fn the_store_is_repaired_only_when_it_is_provably_behind() {
        // Nothing anywhere: the configured seed.
        assert_eq!(decide(None, None, &[]), "seed");
        // A cold start takes the store's set, whatever it is.
        assert_eq!(decide(Some("r1"), None, &["r0"]), "adopt r1");
        // The store came back empty: this source's set goes back (into an empty store).
        assert_eq!(decide(None, Some("r2"), &["r1"]), "write back r2 over r2");
        // The store holds what this source holds.
        assert_eq!(decide(Some("r2"), Some("r2"), &["r1"]), "in sync r2");
        // The store holds a token this source rotated away from (a failed save, a restored
        // snapshot): stale, so this source's newer set replaces exactly that one.
        assert_eq!(
            decide(Some("r1"), Some("r2"), &["r1"]),
            "write back r2 over r1"
        );
        assert_eq!(
            decide(Some("r0"), Some("r2"), &["r0", "r1"]),
            "write back r2 over r0"
        );
        // Anything else is another writer's (another process's refresh, an operator's new
        // token): it may be newer, so it is adopted, never overwritten.
        assert_eq!(decide(Some("r3"), Some("r2"), &["r1"]), "adopt r3");
        assert_eq!(decide(Some("op"), Some("r2"), &["r1"]), "adopt op");
    }
}
