//! Proxies: which requests go through which proxy (loopback never), and a proxy's password
//! kept out of sight.

use reqwest::{NoProxy, Proxy, Url};
use ticket_core::TicketError;

use crate::HttpOptions;

/// Hosts that are never proxied, whatever the configuration says: a plain `http://` request to
/// a loopback sandbox must not carry its credentials to a proxy.
pub(crate) const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";

/// The proxies for `options`: its `proxy` (for every scheme), else the environment's
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, either case), each exempting loopback and the
/// `no_proxy` hosts (else `NO_PROXY`). A proxy that is not `http://` or `https://` (such as
/// `socks5://`) is a configuration error naming where it was set, never the URL.
pub(crate) fn proxies(
    options: &HttpOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Proxy>, TicketError> {
    let var = |names: &[&'static str]| {
        names.iter().find_map(|name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*name, v))
        })
    };
    let exempt = match &options.no_proxy {
        Some(list) => format!("{LOOPBACK},{list}"),
        None => match var(&["NO_PROXY", "no_proxy"]) {
            Some((_, list)) => format!("{LOOPBACK},{list}"),
            None => LOOPBACK.to_owned(),
        },
    };
    let make = |source: &str, url: &str, all: bool, https: bool| -> Result<Proxy, TicketError> {
        let parsed = Url::parse(url.trim()).map_err(|e| {
            TicketError::config(format!("the proxy of `{source}` is not a valid URL ({e})"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TicketError::config(format!(
                "the proxy of `{source}` uses the unsupported scheme `{}`: only http:// and https:// proxies are supported",
                parsed.scheme()
            )));
        }
        let proxy = if all {
            Proxy::all(parsed)
        } else if https {
            Proxy::https(parsed)
        } else {
            Proxy::http(parsed)
        }
        .map_err(|e| TicketError::config(format!("the proxy of `{source}` is unusable ({e})")))?;
        Ok(proxy.no_proxy(NoProxy::from_string(&exempt)))
    };
    if let Some(url) = &options.proxy {
        return Ok(vec![make("proxy", url, true, true)?]);
    }
    let mut out = Vec::new();
    if let Some((name, url)) = var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]) {
        out.push(make(name, &url, false, true)?);
    }
    if let Some((name, url)) = var(&["http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"]) {
        out.push(make(name, &url, false, false)?);
    }
    Ok(out)
}

/// Registers the password of the configured proxy (never printed by `Debug`, but a server or
/// proxy could echo it) with `secrets`.
pub(crate) fn register_proxy_password(options: &HttpOptions, secrets: &crate::Secrets) {
    if let Some(Ok(url)) = options.proxy.as_deref().map(Url::parse)
        && let Some(password) = url.password()
    {
        secrets.add(password);
        if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
            secrets.add(&decoded);
        }
    }
}

/// `url` without its user and password, for display.
pub(crate) fn without_credentials(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn socks_is_refused_naming_the_variable_not_the_url() {
        let err = proxies(
            &HttpOptions::default(),
            &env(&[("ALL_PROXY", "socks5://user:pw-secret@proxy:1080")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`ALL_PROXY`") && err.contains("socks5"),
            "{err}"
        );
        assert!(!err.contains("pw-secret"), "{err}");
        let err = proxies(&HttpOptions::default().proxy("socks5h://p:1"), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`proxy`"), "{err}");
    }

    #[test]
    fn environment_proxies_are_read_and_explicit_ones_win() {
        let vars = [
            ("HTTPS_PROXY", "http://p:3128"),
            ("http_proxy", "http://q:3128"),
        ];
        assert_eq!(
            proxies(&HttpOptions::default(), &env(&vars)).unwrap().len(),
            2
        );
        assert_eq!(
            proxies(&HttpOptions::default().proxy("http://r:1"), &env(&vars))
                .unwrap()
                .len(),
            1
        );
        assert!(
            proxies(&HttpOptions::default(), &env(&[]))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_proxy_password_is_scrubbed() {
        let options = HttpOptions::default().proxy("http://u:pw%2Dsecret@p:3128");
        let transport = crate::Transport::new("x", options, &[]).unwrap();
        assert_eq!(transport.secrets().scrub("a pw-secret b"), "a <redacted> b");
        let transport = transport.with_secrets(crate::Secrets::new());
        assert!(transport.secrets().found_in("pw%2Dsecret"));
    }

    #[test]
    fn credentials_are_not_displayed() {
        assert_eq!(without_credentials("http://u:pw@p:3128"), "http://p:3128/");
        let debug = format!(
            "{:?}",
            HttpOptions::default().proxy("http://u:pw-secret@p:3128")
        );
        assert!(!debug.contains("pw-secret"), "{debug}");
    }
}
