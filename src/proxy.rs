//! Which traffic may use a proxy, one rule for both HTTP stacks (reqwest for Entra and Graph,
//! the AWS SDK for AWS services).
//!
//! The rule: only `https` requests may go through a proxy, the one named by `HTTPS_PROXY`
//! (else `ALL_PROXY`; lower-case spellings too), minus the hosts in `NO_PROXY`. Such a proxy
//! only sees a CONNECT tunnel to the host name: TLS runs end to end, so it never sees a client
//! secret, token or AWS signature. Plain `http` (allowed only to loopback test endpoints)
//! never goes through a proxy, and `HTTP_PROXY` is ignored: through a proxy, plain http would
//! hand the client secret, the bearer token and the AWS session token over in clear.
//! Left alone, both stacks would send plain http to `HTTP_PROXY`/`ALL_PROXY`.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use thiserror::Error;

/// Variables read for the https proxy, in order of precedence (curl's and reqwest's).
const PROXY_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "{variable} is not a usable proxy URL: set it to http://host:port (or https://host:port), \
     or remove it from the function's environment variables"
)]
pub struct ProxyError {
    /// The variable's name only: a proxy URL may carry a password.
    pub variable: &'static str,
}

/// The https proxy this process may use, read once from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyRule {
    /// The proxy URL and the variable it came from.
    https: Option<(&'static str, String)>,
    no_proxy: Option<String>,
}

impl ProxyRule {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any variable source (tests pass a map; the process environment is global).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|name| {
                lookup(name)
                    .map(|value| value.trim().to_string())
                    .filter(|value| !value.is_empty())
                    .map(|value| (*name, value))
            })
        };
        Self {
            https: first(&PROXY_VARIABLES),
            no_proxy: first(&NO_PROXY_VARIABLES).map(|(_, value)| value),
        }
    }

    /// The proxy for reqwest: https requests only, never plain http.
    pub fn reqwest(&self) -> Result<Option<reqwest::Proxy>, ProxyError> {
        let Some((variable, url)) = &self.https else {
            return Ok(None);
        };
        let usable = reqwest::Url::parse(url)
            .ok()
            .filter(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.has_host());
        let proxy = usable
            .and_then(|_| reqwest::Proxy::https(url.as_str()).ok())
            .ok_or(ProxyError { variable })?;
        let no_proxy = self
            .no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string);
        Ok(Some(proxy.no_proxy(no_proxy)))
    }

    /// The same rule for the AWS SDK.
    pub fn aws(&self) -> Result<ProxyConfig, ProxyError> {
        let Some((variable, url)) = &self.https else {
            return Ok(ProxyConfig::disabled());
        };
        let config = ProxyConfig::https(url.as_str()).map_err(|_| ProxyError { variable })?;
        Ok(match &self.no_proxy {
            Some(rules) => config.no_proxy(rules),
            None => config,
        })
    }
}

/// The AWS SDK configuration every AWS client of this function is built from: the SDK's
/// defaults with an HTTP client that follows [`ProxyRule`]. An unusable proxy variable
/// already stopped the function when the Graph client was built (same rule, same variables);
/// here it falls back to no proxy rather than to the SDK's own environment reading.
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    let proxy = ProxyRule::from_env()
        .aws()
        .unwrap_or_else(|_| ProxyConfig::disabled());
    // Built as aws-smithy-runtime builds its default client (rustls with aws-lc, connectors
    // cached per settings), with our proxy rule instead of `ProxyConfig::from_env()`.
    let http_client = Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(proxy.clone()));
        connector.build()
    });
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client)
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rule(pairs: &[(&str, &str)]) -> ProxyRule {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyRule::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn https_proxy_wins_and_http_proxy_is_never_read() {
        assert_eq!(
            rule(&[("HTTP_PROXY", "http://127.0.0.1:1")]),
            ProxyRule::default()
        );
        let both = rule(&[
            ("ALL_PROXY", "http://all:1"),
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", " "),
        ]);
        assert_eq!(both.https, Some(("https_proxy", "http://lower:1".into())));
        assert_eq!(
            rule(&[("all_proxy", "http://all:1")]).https,
            Some(("all_proxy", "http://all:1".into()))
        );
    }

    #[test]
    fn an_unusable_proxy_names_the_variable_not_the_value() {
        for value in ["not a url", "socks5://user:hunter2@h:1", "http://"] {
            let rule = rule(&[("HTTPS_PROXY", value)]);
            let error = rule.reqwest().unwrap_err();
            let text = error.to_string();
            assert!(
                text.starts_with("HTTPS_PROXY is not a usable proxy URL"),
                "{text}"
            );
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(rule(&[("HTTPS_PROXY", "ftp://h:1")]).aws().is_err());
        assert!(rule(&[("HTTPS_PROXY", "http://proxy:3128")]).aws().is_ok());
        assert!(rule(&[]).aws().unwrap().is_disabled());
    }
}
