//! Feishu access and refresh tokens: issuing, checking, expiring, rotating.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Shared;
use crate::model::Credentials;

/// How long a refresh token lives, as reported by the token endpoint (not enforced).
pub(crate) const REFRESH_TOKEN_TTL_SECS: u64 = 604_800;

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
pub(super) struct Tokens {
    /// Access token → expiry.
    access: HashMap<String, Instant>,
    /// Refresh token → already used?
    refresh: HashMap<String, bool>,
    current_access: String,
    current_refresh: String,
    issued: u64,
}

impl Tokens {
    pub(super) fn new(creds: &Credentials, ttl: Duration) -> Self {
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

impl Shared {
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
        let inner = &mut *inner;
        let tokens = &mut inner.tokens;
        match tokens.refresh.get_mut(refresh_token) {
            Some(used) if !*used => *used = true,
            _ => {
                inner.stats.token_refresh_refused += 1;
                return RefreshOutcome::InvalidGrant;
            }
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
}
