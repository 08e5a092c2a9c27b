//! Where the function sends its calls: the Microsoft cloud, its authority and Graph URLs, and
//! the rule every configured URL obeys (https, or plain http only to a loopback host).

use std::net::IpAddr;
use std::str::FromStr;

use reqwest::Url;

use super::{ConfigError, Env, invalid};

/// The Microsoft cloud the tenant lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGov,
    UsGovDod,
    China,
}

impl Cloud {
    fn authority(self) -> &'static str {
        match self {
            Self::Global => "https://login.microsoftonline.com",
            Self::UsGov | Self::UsGovDod => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    fn graph(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGov => "https://graph.microsoft.us",
            Self::UsGovDod => "https://dod-graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

impl FromStr for Cloud {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "global" | "public" | "azurepubliccloud" => Ok(Self::Global),
            "usgov" | "azureusgovernment" => Ok(Self::UsGov),
            "usgov-dod" | "usgovdod" => Ok(Self::UsGovDod),
            "china" | "azurechinacloud" => Ok(Self::China),
            _ => Err(r#"use "global", "usgov", "usgov-dod" or "china""#.to_string()),
        }
    }
}

/// Where tokens and Graph calls go, and the scope the token is requested for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authority: Url,
    pub graph: Url,
    /// Always the cloud's real Graph resource, even when `graph` points at a simulator.
    pub scope: String,
}

pub(super) fn endpoints(env: &Env) -> Result<Endpoints, ConfigError> {
    let cloud: Cloud = env.parse("AZURE_CLOUD")?.unwrap_or(Cloud::Global);
    let authority = env
        .get("AZURE_AUTHORITY_HOST")
        .unwrap_or_else(|| cloud.authority().to_string());
    let graph = env
        .get("GRAPH_ENDPOINT")
        .unwrap_or_else(|| cloud.graph().to_string());
    Ok(Endpoints {
        authority: base_url("AZURE_AUTHORITY_HOST", &authority)?,
        graph: graph_base_url(&graph)?,
        scope: format!("{}/.default", cloud.graph()),
    })
}

/// The Graph base URL; the API version is ours to add, so one given here is a mistake.
fn graph_base_url(text: &str) -> Result<Url, ConfigError> {
    let url = base_url("GRAPH_ENDPOINT", text)?;
    let last = url
        .path_segments()
        .and_then(|mut segments| segments.nth_back(1));
    match last {
        Some(version) if version.eq_ignore_ascii_case("v1.0") || version.eq_ignore_ascii_case("beta") => Err(invalid(
            "GRAPH_ENDPOINT",
            text,
            "leave out the API version (the function uses v1.0): e.g. https://graph.microsoft.com".into(),
        )),
        _ => Ok(url),
    }
}

/// Parses a base URL and makes sure it can take path segments (ends with `/`).
fn base_url(variable: &'static str, text: &str) -> Result<Url, ConfigError> {
    let mut url = checked_url(variable, text)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A URL that is https, or http to a loopback host (simulators, tests).
pub fn checked_url(variable: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|error| {
        invalid(
            variable,
            text,
            format!("not a URL ({error}); use https://host"),
        )
    })?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(
            variable,
            text,
            "use a plain base URL without query, fragment or user info".into(),
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid(
            variable,
            text,
            "plain http is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); use \
             https"
                .into(),
        )),
        _ => Err(invalid(variable, text, "use an https:// URL".into())),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The AWS SDK reads these itself; refuse a plain-http one off loopback before it is used.
pub(super) fn check_aws_endpoints(env: &Env) -> Result<(), ConfigError> {
    for variable in [
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL",
    ] {
        if let Some(value) = env.get(variable) {
            checked_url(variable, &value)?;
        }
    }
    Ok(())
}
