//! `connect` without a TLS backend refuses an `https://` base URL (the providers' defaults
//! included) with a configuration error naming the features to enable, and still accepts
//! `http://` to loopback. The refusals run in a build without TLS (`.ci/run`: `cargo test -p
//! helpdesk --no-default-features --features engagelab,feishu --test no_tls`);
//! built with TLS, every one of these connects.
#![allow(clippy::unwrap_used)]

use helpdesk::{Config, ErrorKind};

const TLS: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

/// Connects `pairs` plus `base_url` (the provider's default when `None`); checks the verdict.
fn check(provider: &str, pairs: &[(&str, &str)], base_url: Option<&str>) {
    let mut map: Vec<(String, String)> = vec![("provider".into(), provider.into())];
    map.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    if let Some(url) = base_url {
        map.push((format!("{provider}.base_url"), url.to_owned()));
    }
    let https = base_url.is_none_or(|url| url.starts_with("https://"));
    let accepted = TLS || !https;
    match helpdesk::connect(&Config::from_map(map)) {
        Ok(_) => assert!(accepted, "{provider}: https:// accepted without TLS"),
        Err(err) => {
            assert!(!accepted, "{provider} ({base_url:?}): {err}");
            assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
            let text = err.to_string();
            assert!(
                text.contains("`rustls`") && text.contains("`native-tls`"),
                "{text}"
            );
        }
    }
}

#[cfg(feature = "engagelab")]
#[test]
fn engagelab_needs_tls_for_https() {
    let keys = [("engagelab.api_key", "k"), ("engagelab.api_secret", "s")];
    check("engagelab", &keys, None);
    check("engagelab", &keys, Some("https://livedesk.example.com"));
    check("engagelab", &keys, Some("http://127.0.0.1:9"));
}

#[cfg(feature = "feishu")]
#[test]
fn feishu_needs_tls_for_https() {
    let keys = [
        ("feishu.user_access_token", "u"),
        ("feishu.helpdesk_id", "1"),
        ("feishu.helpdesk_token", "t"),
    ];
    check("feishu", &keys, None);
    check("feishu", &keys, Some("https://open.larksuite.com"));
    check("feishu", &keys, Some("http://127.0.0.1:9"));
}
