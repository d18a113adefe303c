//! Factories of the built-in providers, each behind its feature.

use crate::Registry;

/// Registers into a fresh registry: the built-in names are valid and distinct, so neither
/// registration can fail (`Registry::with_builtins` is tested to list both).
pub(crate) fn register_all(registry: &mut Registry) {
    let _ = &registry;
    #[cfg(feature = "engagelab")]
    let _ = registry.register(
        provider_engagelab::PROVIDER,
        engagelab::KEYS,
        engagelab::build,
    );
    #[cfg(feature = "feishu")]
    let _ = registry.register(provider_feishu::PROVIDER, feishu::KEYS, feishu::build);
}

#[cfg(feature = "engagelab")]
mod engagelab {
    use std::sync::Arc;

    use provider_engagelab::{EngageLabClient, EngageLabConfig};
    use ticket_core::{TicketError, TicketUpdater};

    use crate::{ConfigKey, Settings, ValueKind};

    /// The keys `build` reads, beside the HTTP keys.
    pub(super) const KEYS: &[ConfigKey] = &[
        ConfigKey::new(
            "api_key",
            ValueKind::Text,
            "required: the API key (the user name of Basic auth)",
        )
        .secret()
        .names_app(),
        ConfigKey::new("api_secret", ValueKind::Text, "required: the API secret").secret(),
        ConfigKey::new(
            "base_url",
            ValueKind::Url,
            "default `https://livedesk-api.engagelab.com` (`http://` to loopback only)",
        ),
        ConfigKey::new(
            "read_path",
            ValueKind::OneOf(&["api", "bare"]),
            "the read's path: `api` (default, `/api/v2/accounts/tickets/:id`, the update's prefix) or `bare` (`/v2/…`, as some Get Ticket pages write it)",
        ),
    ];

    pub(super) fn build(s: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
        let mut config = EngageLabConfig::new(s.required("api_key")?, s.required("api_secret")?)?;
        if let Some(url) = s.optional("base_url") {
            config = config.with_base_url(&url)?;
        }
        if let Some(path) = s.parse::<provider_engagelab::ReadPath>("read_path")? {
            config = config.with_read_path(path);
        }
        let config = config.with_http_options(s.http_options()?);
        Ok(Arc::new(EngageLabClient::new(config)?))
    }
}

#[cfg(feature = "feishu")]
mod feishu {
    use std::path::PathBuf;
    use std::sync::Arc;

    use provider_feishu::{
        FeishuClient, FeishuConfig, FileTokenStore, RefreshingToken, Region, TokenStore,
        UserTokenSource,
    };
    use ticket_core::{TicketError, TicketUpdater};

    use crate::{ConfigKey, Settings, ValueKind};

    /// The keys `build` reads, beside the HTTP keys: the helpdesk; either a static user
    /// token or a refreshing one (`app_id`, `app_secret`, a token store); the app's
    /// credentials again for reads (a tenant token); where Feishu is.
    pub(super) const KEYS: &[ConfigKey] = &[
        ConfigKey::new("helpdesk_id", ValueKind::Text, "required: the helpdesk id").names_app(),
        ConfigKey::new("helpdesk_token", ValueKind::Text, "required: the helpdesk token").secret(),
        ConfigKey::new(
            "user_access_token",
            ValueKind::Text,
            "a static user access token (required without `app_id`); with `app_id`, it only seeds the first access token",
        )
        .secret(),
        ConfigKey::new(
            "app_id",
            ValueKind::Text,
            "the app id: reads take a tenant token made from it and `app_secret` (without them, reading fails and updating works); and, unless `user_token = static`, a refreshing user token (with a token store)",
        ),
        ConfigKey::new(
            "app_secret",
            ValueKind::Text,
            "the app secret (required with `app_id`)",
        )
        .secret(),
        ConfigKey::new(
            "user_token",
            ValueKind::OneOf(&["static", "refreshing"]),
            "`refreshing` (default with `app_id`) or `static` (default without: `user_access_token` as given, `app_id` only for reads)",
        ),
        ConfigKey::new(
            "refresh_token",
            ValueKind::Text,
            "the seed refresh token, used while the token store holds none",
        )
        .secret(),
        ConfigKey::new(
            "token_store",
            ValueKind::OneOf(&["file", "redis"]),
            "where rotated tokens are kept: `file` (default) or `redis` (feature `redis`; at `redis_url`)",
        ),
        ConfigKey::new(
            "refresh_token_file",
            ValueKind::Path,
            "the file store's path (required with `file`; its directory must exist and be writable)",
        ),
        ConfigKey::new(
            "redis_key",
            ValueKind::Text,
            "the Redis key, default `ticket:feishu:<app_id>:token` (the lock is `<key>:lock`)",
        ),
        ConfigKey::new(
            "region",
            ValueKind::OneOf(&["feishu", "lark"]),
            "`feishu` (default, `open.feishu.cn`) or `lark` (`open.larksuite.com`)",
        ),
        ConfigKey::new(
            "base_url",
            ValueKind::Url,
            "instead of `region` (`http://` to loopback only)",
        ),
    ];

    pub(super) fn build(s: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
        let helpdesk_id = s.required("helpdesk_id")?;
        let helpdesk_token = s.required("helpdesk_token")?;
        let region = s.parse::<Region>("region")?;
        let base_url = s.optional("base_url");
        let base = match (region, &base_url) {
            (Some(_), Some(_)) => {
                return Err(TicketError::config(format!(
                    "set either {} or {}, not both",
                    s.describe("region"),
                    s.describe("base_url")
                )));
            }
            (Some(region), None) => region.base_url().to_owned(),
            (None, Some(url)) => url.clone(),
            (None, None) => Region::Feishu.base_url().to_owned(),
        };
        let http = s.http_options()?;
        let app_id = s.optional("app_id");
        let refreshing_user_token = match s
            .optional("user_token")
            .map(|m| m.trim().to_ascii_lowercase())
            .as_deref()
        {
            None => app_id.is_some(),
            Some("refreshing") => true,
            Some(_) => false,
        };
        let source: Arc<dyn UserTokenSource> = if refreshing_user_token {
            let app_id = s.required("app_id")?;
            Arc::new(refreshing(s, app_id, &base, http.clone())?)
        } else {
            Arc::new(provider_feishu::StaticToken::new(
                s.required("user_access_token")?,
                "the Feishu user access token",
            )?)
        };
        let mut config = FeishuConfig::new(source, helpdesk_id, helpdesk_token)?
            .with_base_url(&base)?
            .with_http_options(http);
        // The same app makes the tenant token of reads.
        if let Some(app_id) = app_id {
            config = config.with_app_credentials(app_id, s.required("app_secret")?)?;
        }
        Ok(Arc::new(FeishuClient::new(config)?))
    }

    fn refreshing(
        s: &mut Settings,
        app_id: String,
        base: &str,
        http: ticket_http::HttpOptions,
    ) -> Result<RefreshingToken, TicketError> {
        let app_secret = s.required("app_secret")?;
        let configured = s.optional("refresh_token").filter(|t| !t.is_empty());
        // A waiter gives up on the store's lock after about one refresh request.
        let lock_timeout = http.connect_timeout.saturating_add(http.request_timeout);
        let kind = s
            .optional("token_store")
            .map(|k| k.trim().to_ascii_lowercase());
        let store: Arc<dyn TokenStore> = match kind.as_deref() {
            None | Some("file") => {
                let file = PathBuf::from(s.required("refresh_token_file").map_err(|_| {
                    TicketError::config(format!(
                        "a refreshing Feishu token needs {} (rotated refresh tokens must be kept; the old one stops working), or {} = redis",
                        s.describe("refresh_token_file"),
                        s.describe("token_store")
                    ))
                })?);
                let store = FileTokenStore::new(&file)?.lock_timeout(lock_timeout);
                // The file wins once it holds a token: after the first rotation the configured
                // one is dead.
                if store.load_blocking()?.is_none() && configured.is_none() {
                    return Err(TicketError::config(format!(
                        "missing refresh_token for provider `feishu`: set {} ({} holds no token yet)",
                        s.describe("refresh_token"),
                        file.display()
                    )));
                }
                Arc::new(store)
            }
            Some("redis") => redis_store(s, &app_id, lock_timeout)?,
            Some(other) => {
                return Err(TicketError::config(format!(
                    "unknown {} {other:?}; expected file or redis",
                    s.describe("token_store")
                )));
            }
        };
        let mut builder =
            RefreshingToken::builder(app_id, app_secret, configured.unwrap_or_default())
                .base_url(base)
                .http_options(http)
                .store(store);
        if let Some(token) = s.optional("user_access_token") {
            builder = builder.access_token(token, None);
        }
        builder.build()
    }

    #[cfg(feature = "redis")]
    fn redis_store(
        s: &mut Settings,
        app_id: &str,
        lock_timeout: std::time::Duration,
    ) -> Result<Arc<dyn TokenStore>, TicketError> {
        let url = s.required("redis_url")?;
        let key = s
            .optional("redis_key")
            .unwrap_or_else(|| format!("ticket:feishu:{app_id}:token"));
        Ok(Arc::new(
            provider_feishu::RedisTokenStore::new(&url, key)?.lock_timeout(lock_timeout),
        ))
    }

    #[cfg(not(feature = "redis"))]
    fn redis_store(
        s: &mut Settings,
        _app_id: &str,
        _lock_timeout: std::time::Duration,
    ) -> Result<Arc<dyn TokenStore>, TicketError> {
        Err(TicketError::config(format!(
            "{} = redis needs the `redis` feature of helpdesk",
            s.describe("token_store")
        )))
    }
}
