//! Factories of the built-in providers, each behind its feature.

use crate::Registry;

/// Registers into a fresh registry: the built-in names are valid and distinct, so neither
/// registration can fail (`Registry::with_builtins` is tested to list both).
pub(crate) fn register_all(registry: &mut Registry) {
    let _ = &registry;
    #[cfg(feature = "engagelab")]
    let _ = registry.register(provider_engagelab::PROVIDER, engagelab::build);
    #[cfg(feature = "feishu")]
    let _ = registry.register(provider_feishu::PROVIDER, feishu::build);
}

#[cfg(feature = "engagelab")]
mod engagelab {
    use std::sync::Arc;

    use provider_engagelab::{EngageLabClient, EngageLabConfig};
    use ticket_core::{TicketError, TicketUpdater};

    use crate::Settings;

    /// Keys: `api_key`, `api_secret` (required), `base_url`, and the HTTP keys.
    pub(super) fn build(s: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
        let mut config = EngageLabConfig::new(s.required("api_key")?, s.required("api_secret")?)?;
        if let Some(url) = s.optional("base_url") {
            config = config.with_base_url(&url)?;
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

    use crate::Settings;

    /// Keys: `helpdesk_id`, `helpdesk_token` (required); either `user_access_token` (a static
    /// token) or `app_id`, `app_secret` and a token store (a refreshing token): `token_store`
    /// `file` (default, with `refresh_token_file`) or `redis` (with `redis_url` and optionally
    /// `redis_key`), plus `refresh_token` while the store holds none; `region` (`feishu` or
    /// `lark`) or `base_url` (not both); the HTTP keys.
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
        let source: Arc<dyn UserTokenSource> = match s.optional("app_id") {
            Some(app_id) => Arc::new(refreshing(s, app_id, &base, http.clone())?),
            None => Arc::new(provider_feishu::StaticToken::new(
                s.required("user_access_token")?,
                "the Feishu user access token",
            )?),
        };
        let config = FeishuConfig::new(source, helpdesk_id, helpdesk_token)?
            .with_base_url(&base)?
            .with_http_options(http);
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
        let kind = s.optional("token_store");
        let store: Arc<dyn TokenStore> = match kind.as_deref().map(str::trim) {
            None | Some("file") => {
                let file = PathBuf::from(s.required("refresh_token_file").map_err(|_| {
                    TicketError::config(format!(
                        "a refreshing Feishu token needs {} (rotated refresh tokens must be kept; the old one stops working), or {} = redis",
                        s.describe("refresh_token_file"),
                        s.describe("token_store")
                    ))
                })?);
                let store = FileTokenStore::new(&file)?;
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
            Some("redis") => redis_store(s, &app_id)?,
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
    fn redis_store(s: &mut Settings, app_id: &str) -> Result<Arc<dyn TokenStore>, TicketError> {
        let url = s.required("redis_url")?;
        let key = s
            .optional("redis_key")
            .unwrap_or_else(|| format!("ticket:feishu:{app_id}:token"));
        Ok(Arc::new(provider_feishu::RedisTokenStore::new(&url, key)?))
    }

    #[cfg(not(feature = "redis"))]
    fn redis_store(s: &mut Settings, _app_id: &str) -> Result<Arc<dyn TokenStore>, TicketError> {
        Err(TicketError::config(format!(
            "{} = redis needs the `redis` feature of ticket-facade",
            s.describe("token_store")
        )))
    }
}
