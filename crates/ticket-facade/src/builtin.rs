//! Factories of the built-in providers, each behind its feature.

use crate::Registry;

pub(crate) fn register_all(registry: &mut Registry) {
    let _ = &registry;
    #[cfg(feature = "engagelab")]
    registry
        .register(provider_engagelab::PROVIDER, engagelab::build)
        .expect("built-in names are valid and distinct");
    #[cfg(feature = "feishu")]
    registry
        .register(provider_feishu::PROVIDER, feishu::build)
        .expect("built-in names are valid and distinct");
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
    use std::sync::Arc;

    use provider_feishu::{FeishuClient, FeishuConfig, Region};
    use ticket_core::{TicketError, TicketUpdater};

    use crate::Settings;

    /// Keys: `user_access_token`, `helpdesk_id`, `helpdesk_token` (required), `region`
    /// (`feishu` or `lark`) or `base_url` (not both), and the HTTP keys.
    pub(super) fn build(s: &mut Settings) -> Result<Arc<dyn TicketUpdater>, TicketError> {
        let mut config = FeishuConfig::with_static_token(
            s.required("user_access_token")?,
            s.required("helpdesk_id")?,
            s.required("helpdesk_token")?,
        )?;
        let region = s.parse::<Region>("region")?;
        let base_url = s.optional("base_url");
        match (region, base_url) {
            (Some(_), Some(_)) => {
                return Err(TicketError::config(format!(
                    "set either {} or {}, not both",
                    s.describe("region"),
                    s.describe("base_url")
                )));
            }
            (Some(region), None) => config = config.with_region(region),
            (None, Some(url)) => config = config.with_base_url(&url)?,
            (None, None) => {}
        }
        let config = config.with_http_options(s.http_options()?);
        Ok(Arc::new(FeishuClient::new(config)?))
    }
}
