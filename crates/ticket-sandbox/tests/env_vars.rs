//! `Sandbox::env_vars` and `Sandbox::feishu_refreshing_env_vars`: the `helpdesk` facade's
//! variables, valued from the sandbox's own address and credentials. (That the facade reads
//! them is tested where the facade is: the workspace's tests/e2e.rs.)
#![allow(clippy::unwrap_used)]

use helpdesk_ticket_sandbox::{Credentials, Provider, Sandbox};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_variables_carry_the_configured_credentials_and_this_address() {
    let mut creds = Credentials::default();
    creds.engagelab_api_key = "key-1".to_owned();
    creds.engagelab_api_secret = "secret-1".to_owned();
    creds.feishu_user_access_token = "u-1".to_owned();
    creds.feishu_helpdesk_id = "hd-1".to_owned();
    creds.feishu_helpdesk_token = "ht-1".to_owned();
    creds.feishu_app_id = "cli_1".to_owned();
    creds.feishu_app_secret = "as-1".to_owned();
    creds.feishu_refresh_token = "ur-1".to_owned();
    let sb = Sandbox::builder().credentials(creds).start().await.unwrap();
    let base = sb.base_url();
    assert_eq!(
        sb.env_vars(Provider::EngageLab),
        pairs(&[
            ("TICKET_PROVIDER", "engagelab"),
            ("TICKET_ENGAGELAB_BASE_URL", &base),
            ("TICKET_ENGAGELAB_API_KEY", "key-1"),
            ("TICKET_ENGAGELAB_API_SECRET", "secret-1"),
        ])
    );
    assert_eq!(
        sb.env_vars(Provider::Feishu),
        pairs(&[
            ("TICKET_PROVIDER", "feishu"),
            ("TICKET_FEISHU_BASE_URL", &base),
            ("TICKET_FEISHU_HELPDESK_ID", "hd-1"),
            ("TICKET_FEISHU_HELPDESK_TOKEN", "ht-1"),
            ("TICKET_FEISHU_USER_ACCESS_TOKEN", "u-1"),
        ])
    );
    assert_eq!(
        sb.feishu_refreshing_env_vars(),
        pairs(&[
            ("TICKET_PROVIDER", "feishu"),
            ("TICKET_FEISHU_BASE_URL", &base),
            ("TICKET_FEISHU_HELPDESK_ID", "hd-1"),
            ("TICKET_FEISHU_HELPDESK_TOKEN", "ht-1"),
            ("TICKET_FEISHU_APP_ID", "cli_1"),
            ("TICKET_FEISHU_APP_SECRET", "as-1"),
            ("TICKET_FEISHU_REFRESH_TOKEN", "ur-1"),
        ])
    );
}
