//! Feishu tokens: user access and refresh tokens (refresh rotates them) and tenant access
//! tokens (issued from the app id and secret).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Config, Shared};

/// How long a refresh token lives, as reported by the token endpoint (not enforced).
pub(crate) const REFRESH_TOKEN_TTL_SECS: u64 = 604_800;

/// The result of checking a Feishu access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Expired,
}

/// What kind of token a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// A user access token the sandbox issued.
    User(TokenCheck),
    /// A tenant access token the sandbox issued.
    Tenant(TokenCheck),
    /// No token, or one the sandbox never issued.
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

/// A tenant token handed out, with the whole seconds it has left.
#[derive(Debug)]
pub(crate) struct TenantGrant {
    pub(crate) token: String,
    pub(crate) expire: u64,
}

#[derive(Debug)]
pub(super) struct Tokens {
    /// User access token → expiry.
    access: HashMap<String, Instant>,
    /// Refresh token → already used?
    refresh: HashMap<String, bool>,
    current_access: String,
    current_refresh: String,
    issued: u64,
    /// Tenant access token → expiry.
    tenant: HashMap<String, Instant>,
    current_tenant: String,
    tenant_issued: u64,
}

impl Tokens {
    pub(super) fn new(config: &Config) -> Self {
        let creds = &config.credentials;
        let now = Instant::now();
        let access = HashMap::from([(
            creds.feishu_user_access_token.clone(),
            now + config.token_ttl,
        )]);
        let tenant = HashMap::from([(
            creds.feishu_tenant_access_token.clone(),
            now + config.tenant_token_ttl,
        )]);
        Self {
            access,
            refresh: HashMap::from([(creds.feishu_refresh_token.clone(), false)]),
            current_access: creds.feishu_user_access_token.clone(),
            current_refresh: creds.feishu_refresh_token.clone(),
            issued: 0,
            tenant,
            current_tenant: creds.feishu_tenant_access_token.clone(),
            tenant_issued: 0,
        }
    }
}

fn check(expiry: Instant, now: Instant) -> TokenCheck {
    if now >= expiry {
        TokenCheck::Expired
    } else {
        TokenCheck::Valid
    }
}

/// Whole seconds, rounded up: a lifetime is never reported shorter than it is configured.
fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Shared {
    /// What kind of token `token` is, and whether it is still live.
    pub(crate) fn presented(&self, token: &str) -> Presented {
        let now = Instant::now();
        let inner = self.lock();
        if let Some(expiry) = inner.tokens.access.get(token) {
            return Presented::User(check(*expiry, now));
        }
        match inner.tokens.tenant.get(token) {
            Some(expiry) => Presented::Tenant(check(*expiry, now)),
            None => Presented::Unknown,
        }
    }

    /// Every access token issued so far, user and tenant, expires now.
    pub(crate) fn expire_access_tokens(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        let tokens = &mut inner.tokens;
        for expiry in tokens.access.values_mut().chain(tokens.tenant.values_mut()) {
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

    pub(crate) fn current_tenant_token(&self) -> String {
        self.lock().tokens.current_tenant.clone()
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
        RefreshOutcome::Issued {
            access_token,
            refresh_token: new_refresh,
            expires_in: secs_up(ttl),
        }
    }

    /// The tenant token endpoint's rule: the current token while it has at least the renew
    /// window left (with the seconds it has left), else a new one for the full lifetime. The
    /// old one stays valid until its own expiry, so two can be live at once.
    pub(crate) fn tenant_token(&self) -> TenantGrant {
        let now = Instant::now();
        let ttl = self.config.tenant_token_ttl;
        let window = self.config.tenant_token_renew_window;
        let mut inner = self.lock();
        let inner = &mut *inner;
        let tokens = &mut inner.tokens;
        let left = tokens
            .tenant
            .get(&tokens.current_tenant)
            .map_or(Duration::ZERO, |expiry| {
                expiry.saturating_duration_since(now)
            });
        // Rounded down: a client told the time left must never outlive the token.
        if left.as_secs() > 0 && left >= window {
            return TenantGrant {
                token: tokens.current_tenant.clone(),
                expire: left.as_secs(),
            };
        }
        tokens.tenant_issued += 1;
        let token = format!(
            "t-sandbox-tenant-{}-{:x}",
            tokens.tenant_issued, self.logid_prefix
        );
        tokens.tenant.insert(token.clone(), now + ttl);
        tokens.current_tenant = token.clone();
        inner.stats.tenant_tokens_issued += 1;
        TenantGrant {
            token,
            expire: secs_up(ttl),
        }
    }
}
