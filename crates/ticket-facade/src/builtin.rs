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
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use provider_feishu::{FeishuClient, FeishuConfig, RefreshingToken, Region, UserTokenSource};
    use ticket_core::{TicketError, TicketUpdater};

    use crate::Settings;

    /// Keys: `helpdesk_id`, `helpdesk_token` (required); either `user_access_token` (a static
    /// token) or `app_id`, `app_secret`, `refresh_token_file` and, until that file exists,
    /// `refresh_token` (a refreshing token, whose rotated refresh tokens are written to the
    /// file); `region` (`feishu` or `lark`) or `base_url` (not both); the HTTP keys.
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
        let file = PathBuf::from(s.required("refresh_token_file").map_err(|_| {
            TicketError::config(format!(
                "a refreshing Feishu token needs {} (rotated refresh tokens must be kept; the old one stops working)",
                s.describe("refresh_token_file")
            ))
        })?);
        // The file wins once it exists: after the first rotation the configured token is dead.
        let configured = s.optional("refresh_token").filter(|t| !t.is_empty());
        let refresh_token = match (read_token(&file)?, configured) {
            (Some(stored), _) => stored,
            (None, Some(configured)) => configured,
            (None, None) => {
                return Err(TicketError::config(format!(
                    "missing refresh_token for provider `feishu`: set {} ({} does not exist yet)",
                    s.describe("refresh_token"),
                    file.display()
                )));
            }
        };
        let mut builder = RefreshingToken::builder(app_id, app_secret, refresh_token)
            .base_url(base)
            .http_options(http);
        if let Some(token) = s.optional("user_access_token") {
            builder = builder.access_token(token, None);
        }
        builder
            .on_rotate(move |token| {
                use secrecy::ExposeSecret;
                if let Err(e) = write_token(&file, token.expose_secret()) {
                    tracing::error!(path = %file.display(), error = %e, "could not persist the rotated Feishu refresh token");
                }
            })
            .build()
    }

    fn read_token(path: &Path) -> Result<Option<String>, TicketError> {
        match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_owned())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TicketError::config(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// Replaces the file atomically (write a sibling, then rename), owner-only on Unix.
    fn write_token(path: &Path, token: &str) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(token.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}
