//! One refresh, as a source's refresh task runs it: under the store's lock, re-read the store,
//! reuse a fresh access token found there or refresh, keep the new set in memory, save it.

use std::sync::atomic::Ordering;

use secrecy::SecretString;
use ticket_core::TicketError;
use ticket_http::telemetry::TokenOutcome;
use tokio::time::Instant;

use super::oauth::{Fresh, refresh_delay, refused_refresh_token};
use super::refreshing::{Inner, deadline};
use super::store::{TokenSet, add_millis, same_secret, unix_millis_now};

/// Whether `set`'s access token can serve instead of a refresh: fresh, and not the one Feishu
/// just refused.
fn usable(set: &TokenSet, rejected: Option<&SecretString>, now_ms: u64) -> bool {
    let refused = match (rejected, &set.access_token) {
        (Some(r), Some(a)) => same_secret(r, a),
        _ => false,
    };
    set.access_is_fresh(now_ms) && !refused
}

impl Inner {
    /// The refresh task: lock, re-read (writing this source's newer set back if the store is
    /// behind), refresh if still needed, save. Whether a new token was fetched, or one found
    /// in the store (another process had refreshed) is used.
    pub(super) async fn refresh(
        &self,
        rejected: Option<SecretString>,
    ) -> Result<TokenOutcome, TicketError> {
        let rejected = rejected.as_ref();
        let _lock = self
            .store
            .lock()
            .await
            .inspect_err(|_| self.store_failed())?;
        let _serial = self.serial.lock().await;
        let current = self.sync_with_store().await?;
        if let Some(set) = &current
            && self.take_if_usable(set, rejected)
        {
            tracing::debug!(
                provider = crate::PROVIDER,
                "reused the access token in the token store"
            );
            return Ok(TokenOutcome::Reused);
        }
        let (from, access) = self.refresh_from(current.as_ref())?;
        let issued_at = Instant::now();
        let issued_ms = unix_millis_now();
        let fresh = match self.oauth.refresh(&from, access.as_ref()).await {
            Ok(fresh) => fresh,
            Err(err) => return self.after_failed_refresh(err, &from, rejected).await,
        };
        let set = self.keep(fresh, &from, issued_at, issued_ms);
        self.save(&from, &set).await;
        Ok(TokenOutcome::Refreshed)
    }

    /// Takes `set` if its access token can serve; whether it did.
    fn take_if_usable(&self, set: &TokenSet, rejected: Option<&SecretString>) -> bool {
        let usable = usable(set, rejected, unix_millis_now());
        if usable {
            self.take(set);
        }
        usable
    }

    /// The refresh token to refresh with (the store's, else the configured seed) and the access
    /// token in use.
    fn refresh_from(
        &self,
        current: Option<&TokenSet>,
    ) -> Result<(SecretString, Option<SecretString>), TicketError> {
        let cache = self.cache();
        let from = match current {
            Some(set) => set.refresh_token.clone(),
            None => cache.seed.clone().ok_or_else(|| {
                TicketError::config(
                    "no Feishu refresh token: the token store is empty and none was configured",
                )
            })?,
        };
        Ok((from, cache.access.clone()))
    }

    /// The refresh from `from` failed with `err`: forget a set Feishu refused, and use another
    /// process's set if one arrived meanwhile; else `err`.
    async fn after_failed_refresh(
        &self,
        err: TicketError,
        from: &SecretString,
        rejected: Option<&SecretString>,
    ) -> Result<TokenOutcome, TicketError> {
        if refused_refresh_token(&err) {
            self.forget_refused(from);
        }
        // Another process may have refreshed meanwhile (a lease that ran out): use its set if it
        // is fresh and not one this source already spent.
        if let Ok(Some(set)) = self.store.load().await
            && !same_secret(&set.refresh_token, from)
            && !self.spent(&set.refresh_token)
            && self.take_if_usable(&set, rejected)
        {
            return Ok(TokenOutcome::Reused);
        }
        if err.may_have_applied() {
            tracing::warn!(
                provider = crate::PROVIDER,
                error = %err,
                "the token refresh may have reached Feishu without its answer: if it did, \
                 the refresh token is consumed and the next refresh reports a broken chain"
            );
        }
        Err(err)
    }

    /// Keeps a refresh's new set in memory before anything else, so that whatever happens to the
    /// store this process has it and knows `from` is spent; then tells the rotate hook.
    fn keep(
        &self,
        fresh: Fresh,
        from: &SecretString,
        issued_at: Instant,
        issued_ms: u64,
    ) -> TokenSet {
        let delay = refresh_delay(fresh.lifetime, self.margin);
        let set = TokenSet {
            refresh_token: fresh.refresh_token,
            access_token: Some(fresh.access_token),
            expires_at_ms: Some(add_millis(issued_ms, fresh.lifetime)),
            refresh_after_ms: Some(add_millis(issued_ms, delay)),
            refresh_expires_at_ms: fresh.refresh_lifetime.map(|l| add_millis(issued_ms, l)),
        };
        {
            let mut cache = self.cache();
            cache.install(&set, deadline(issued_at, delay), true);
            cache.spent.remember(from.clone());
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = &self.on_rotate {
            hook(&set.refresh_token);
        }
        tracing::debug!(
            provider = crate::PROVIDER,
            lifetime_s = fresh.lifetime.as_secs(),
            "user access token refreshed"
        );
        set
    }

    /// Saves the new `set` in place of `from`. A failure costs no update: the set stays in
    /// memory, authoritative, and is written back at the next chance.
    async fn save(&self, from: &SecretString, set: &TokenSet) {
        match self.store.compare_and_swap(from, set).await {
            Ok(saved) => {
                self.cache().unsaved = false;
                if !saved {
                    // Someone replaced the set we refreshed from (an operator's new refresh
                    // token, or a lease that ran out): leave theirs, keep ours in memory.
                    tracing::warn!(
                        provider = crate::PROVIDER,
                        store = ?self.store,
                        "the token store changed during the refresh; kept its set and this process's new one in memory"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(
                    provider = crate::PROVIDER,
                    store = ?self.store,
                    error = %e,
                    "Feishu rotated the refresh token but the new token set could not be saved; \
                     this process keeps it and writes it back when the store works again (other \
                     processes sharing the store cannot refresh until then)"
                );
                self.store_failed();
            }
        }
    }
}
