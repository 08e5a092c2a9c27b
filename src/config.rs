//! The function's configuration: environment variables -> one validated [`Settings`] value.
//!
//! Names are a contract shared with the SAM template, operators and the acceptance suite.
//! An empty variable counts as unset, so a template parameter left blank means "default".

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use thiserror::Error;

use crate::domain::{Action, MAX_WAIT_LIMIT, ResetScope, Target, TenantId, parse_guid};

/// Variables the deployed function reads; template.yaml sets exactly these.
pub const FUNCTION_ENVIRONMENT: &[&str] = &[
    "CREDENTIAL_SOURCE",
    "SECRET_ID",
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "APP_DISPLAY_NAME",
    "SERVICE_PRINCIPAL_ID",
    "SYNC_ACTION",
    "RESET_SCOPE",
    "AZURE_CLOUD",
    "WAIT_FOR_COMPLETION",
    "WAIT_LIMIT_SECONDS",
    "MIN_TRIGGER_INTERVAL",
    "STATE_TABLE",
    "PROVISION_LIMIT",
    "SECRET_EXPIRY_WARN_DAYS",
];

/// Overrides for simulators and tuning; deliberately not in the template.
pub const DEVELOPMENT_ENVIRONMENT: &[&str] = &[
    "AZURE_AUTHORITY_HOST",
    "GRAPH_ENDPOINT",
    "HTTP_TIMEOUT_SECONDS",
];

const DEFAULT_WAIT_LIMIT: Duration = Duration::from_secs(240);
const DEFAULT_MIN_TRIGGER_INTERVAL: Duration = Duration::from_secs(600);
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// More provision-on-demand calls than this become one restart (issue 10's default).
const DEFAULT_PROVISION_LIMIT: usize = 15;
/// At Microsoft's 5 calls per 10 s, more would not fit in Lambda's longest timeout.
const MAX_PROVISION_LIMIT: usize = 450;
/// The check warns below this many days left on the client secret.
const DEFAULT_SECRET_EXPIRY_WARN_DAYS: u32 = 30;
/// Entra client secrets last at most two years.
const MAX_SECRET_EXPIRY_WARN_DAYS: u32 = 730;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "SECRET_ID is not set: set it to the name or ARN of the Secrets Manager secret that holds \
         the Entra app's tenant_id, client_id and client_secret"
    )]
    MissingSecretId,
    #[error(
        "{variable} is not set: CREDENTIAL_SOURCE=aws-federation reads the Entra app from the \
         function's configuration, not from a secret; set {variable} to {what}"
    )]
    MissingFederationSetting {
        variable: &'static str,
        what: &'static str,
    },
    #[error("{variable}={value:?} is not valid: {fix}")]
    Invalid {
        variable: &'static str,
        value: String,
        fix: String,
    },
    #[error(
        "no target application: set APP_DISPLAY_NAME (the IAM Identity Center enterprise app's \
         display name) or SERVICE_PRINCIPAL_ID (its object id) on the function, or \
         app_display_name / service_principal_id in the secret"
    )]
    MissingTarget,
    #[error(
        "the provision action without `users` or `groups` tracks changes between runs and needs \
         STATE_TABLE: set it to the DynamoDB table the template creates (or name users/groups in \
         the request)"
    )]
    StateTableRequired,
}

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

/// How long to wait for a triggered cycle (issue: wait and report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitSettings {
    pub enabled: bool,
    pub limit: Duration,
}

/// How the function proves its identity to Entra ID (`CREDENTIAL_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// A client secret or a certificate in the Secrets Manager secret `SECRET_ID`.
    Secret,
    /// AWS IAM outbound identity federation: an STS token, no stored credential.
    AwsFederation,
}

impl FromStr for CredentialSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "secret" => Ok(Self::Secret),
            "aws-federation" => Ok(Self::AwsFederation),
            _ => Err(r#"use "secret" (a Secrets Manager secret) or "aws-federation""#.to_string()),
        }
    }
}

/// Where the Entra app's identity and proof come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The Secrets Manager secret's name or ARN.
    Secret { secret_id: String },
    /// No secret: the app from the configuration, the proof from STS.
    AwsFederation {
        tenant_id: TenantId,
        client_id: String,
    },
}

/// The validated function configuration, read once per execution environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub credentials: Credentials,
    pub target: Option<Target>,
    pub action: Action,
    pub reset_scope: ResetScope,
    pub endpoints: Endpoints,
    pub wait: WaitSettings,
    pub min_trigger_interval: Duration,
    /// The DynamoDB state table (leases, last triggers, change tracking); `None`: no state.
    pub state_table: Option<String>,
    pub http_timeout: Duration,
    /// The provision action's most provision-on-demand calls per run.
    pub provision_limit: usize,
    /// The `check` action warns when the client secret has fewer days left.
    pub secret_expiry_warn_days: u32,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let credentials = env.credentials()?;
        check_aws_endpoints(&env)?;
        Ok(Self {
            credentials,
            target: env.target()?,
            action: env.parse("SYNC_ACTION")?.unwrap_or(Action::Restart),
            reset_scope: env.parse("RESET_SCOPE")?.unwrap_or_default(),
            endpoints: endpoints(&env)?,
            wait: WaitSettings {
                enabled: env.parse_bool("WAIT_FOR_COMPLETION")?.unwrap_or(false),
                limit: env.wait_limit()?,
            },
            min_trigger_interval: env
                .seconds("MIN_TRIGGER_INTERVAL")?
                .unwrap_or(DEFAULT_MIN_TRIGGER_INTERVAL),
            state_table: env.state_table()?,
            http_timeout: env
                .seconds("HTTP_TIMEOUT_SECONDS")?
                .filter(|timeout| !timeout.is_zero())
                .unwrap_or(DEFAULT_HTTP_TIMEOUT),
            provision_limit: env.provision_limit()?,
            secret_expiry_warn_days: env.warn_days()?,
        })
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    fn parse<T: FromStr<Err = String>>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name)
            .map(|value| value.parse().map_err(|fix| invalid(name, &value, fix)))
            .transpose()
    }

    /// `CREDENTIAL_SOURCE` and what it needs: `SECRET_ID`, or the tenant and client ids.
    fn credentials(&self) -> Result<Credentials, ConfigError> {
        let source = self
            .parse("CREDENTIAL_SOURCE")?
            .unwrap_or(CredentialSource::Secret);
        if source == CredentialSource::Secret {
            let secret_id = self.get("SECRET_ID").ok_or(ConfigError::MissingSecretId)?;
            return Ok(Credentials::Secret { secret_id });
        }
        let required = |variable: &'static str, what: &'static str| {
            self.get(variable)
                .ok_or(ConfigError::MissingFederationSetting { variable, what })
        };
        let tenant = required(
            "ENTRA_TENANT_ID",
            "the Directory (tenant) ID of the Entra tenant",
        )?;
        let client = required(
            "ENTRA_CLIENT_ID",
            "the Application (client) ID of the app registration that holds the federated \
             identity credential",
        )?;
        Ok(Credentials::AwsFederation {
            tenant_id: tenant
                .parse()
                .map_err(|fix| invalid("ENTRA_TENANT_ID", &tenant, fix))?,
            client_id: parse_guid(&client).map_err(|_| {
                let fix = "expected the Application (client) ID, a GUID, from the app \
                           registration's Overview page";
                invalid("ENTRA_CLIENT_ID", &client, fix.into())
            })?,
        })
    }

    /// `SERVICE_PRINCIPAL_ID` wins over `APP_DISPLAY_NAME`.
    fn target(&self) -> Result<Option<Target>, ConfigError> {
        let id = self.get("SERVICE_PRINCIPAL_ID");
        Target::from_parts(id.as_deref(), self.get("APP_DISPLAY_NAME").as_deref()).map_err(|fix| {
            invalid(
                "SERVICE_PRINCIPAL_ID",
                id.as_deref().unwrap_or_default(),
                fix,
            )
        })
    }

    /// A table name or ARN, as DynamoDB accepts in `TableName`.
    fn state_table(&self) -> Result<Option<String>, ConfigError> {
        let Some(table) = self.get("STATE_TABLE") else {
            return Ok(None);
        };
        let name = match table.split_once(":table/") {
            Some((arn, name)) if arn.starts_with("arn:") && arn.contains(":dynamodb:") => name,
            _ => table.as_str(),
        };
        let valid = (3..=255).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            let fix = "use the DynamoDB table's name (3-255 letters, digits, _ - .) or ARN: the \
                       stack's StateTable output";
            return Err(invalid("STATE_TABLE", &table, fix.into()));
        }
        Ok(Some(table))
    }

    fn parse_bool(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name)
            .map(|value| match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(true),
                "false" | "no" | "0" => Ok(false),
                _ => Err(invalid(name, &value, r#"use "true" or "false""#.into())),
            })
            .transpose()
    }

    fn warn_days(&self) -> Result<u32, ConfigError> {
        let name = "SECRET_EXPIRY_WARN_DAYS";
        let Some(value) = self.get(name) else {
            return Ok(DEFAULT_SECRET_EXPIRY_WARN_DAYS);
        };
        value
            .parse::<u32>()
            .ok()
            .filter(|days| (1..=MAX_SECRET_EXPIRY_WARN_DAYS).contains(days))
            .ok_or_else(|| {
                let fix = format!(
                    "use a whole number of days from 1 to {MAX_SECRET_EXPIRY_WARN_DAYS}, e.g. 30"
                );
                invalid(name, &value, fix)
            })
    }

    fn wait_limit(&self) -> Result<Duration, ConfigError> {
        let limit = self
            .seconds("WAIT_LIMIT_SECONDS")?
            .unwrap_or(DEFAULT_WAIT_LIMIT);
        if limit > MAX_WAIT_LIMIT {
            let fix = format!(
                "at most {} seconds (Lambda's longest timeout)",
                MAX_WAIT_LIMIT.as_secs()
            );
            return Err(invalid(
                "WAIT_LIMIT_SECONDS",
                &limit.as_secs().to_string(),
                fix,
            ));
        }
        Ok(limit)
    }

    fn provision_limit(&self) -> Result<usize, ConfigError> {
        let Some(value) = self.get("PROVISION_LIMIT") else {
            return Ok(DEFAULT_PROVISION_LIMIT);
        };
        value
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_PROVISION_LIMIT).contains(limit))
            .ok_or_else(|| {
                let fix = format!(
                    "a whole number of provision-on-demand calls from 1 to {MAX_PROVISION_LIMIT} \
                     (default {DEFAULT_PROVISION_LIMIT}); more changes than that become one restart"
                );
                invalid("PROVISION_LIMIT", &value, fix)
            })
    }

    /// Whole seconds, optionally with a unit: `600`, `600s`, `10m`, `1h`.
    fn seconds(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        self.get(name)
            .map(|value| {
                parse_duration(&value).ok_or_else(|| {
                    let fix = "use a whole number of seconds, e.g. 600 (or 10m, 1h)";
                    invalid(name, &value, fix.into())
                })
            })
            .transpose()
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim().to_ascii_lowercase();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text.as_str(), "s"),
    };
    let scale = match unit.trim() {
        "s" | "sec" | "seconds" => 1,
        "m" | "min" | "minutes" => 60,
        "h" | "hours" => 3600,
        _ => return None,
    };
    number
        .parse::<u64>()
        .ok()?
        .checked_mul(scale)
        .map(Duration::from_secs)
}

fn invalid(variable: &'static str, value: &str, fix: String) -> ConfigError {
    ConfigError::Invalid {
        variable,
        value: value.to_string(),
        fix,
    }
}

fn endpoints(env: &Env) -> Result<Endpoints, ConfigError> {
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
fn check_aws_endpoints(env: &Env) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_are_a_plain_restart_against_the_global_cloud() {
        let s = settings(&[
            ("SECRET_ID", "entra/creds"),
            ("APP_DISPLAY_NAME", "AWS SSO"),
        ])
        .unwrap();
        assert_eq!(s.action, Action::Restart);
        assert!(s.reset_scope.is_plain());
        assert_eq!(s.endpoints.graph.as_str(), "https://graph.microsoft.com/");
        assert_eq!(
            s.endpoints.authority.as_str(),
            "https://login.microsoftonline.com/"
        );
        assert_eq!(s.endpoints.scope, "https://graph.microsoft.com/.default");
        assert_eq!(s.target, Some(Target::DisplayName("AWS SSO".into())));
        assert!(!s.wait.enabled);
        assert_eq!(s.state_table, None);
    }

    #[test]
    fn state_table_takes_a_name_or_an_arn_and_names_a_bad_one() {
        let with = |table| settings(&[("SECRET_ID", "s"), ("STATE_TABLE", table)]);
        for good in [
            "entra-idc-sync-StateTable-1ABC2DEF3GH4",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/my_state.v1",
        ] {
            assert_eq!(with(good).unwrap().state_table.as_deref(), Some(good));
        }
        assert_eq!(with("  ").unwrap().state_table, None, "blank means unset");
        for bad in ["ab", "my table", "arn:aws:dynamodb:eu-west-1:1:table/x y"] {
            let text = with(bad).unwrap_err().to_string();
            assert!(
                text.contains("STATE_TABLE") && text.contains("StateTable"),
                "{text}"
            );
        }
    }

    #[test]
    fn missing_or_blank_secret_id_says_what_to_set() {
        for pairs in [vec![], vec![("SECRET_ID", "  ")]] {
            let error = settings(&pairs).unwrap_err();
            assert_eq!(error, ConfigError::MissingSecretId);
            assert!(error.to_string().contains("SECRET_ID"));
        }
    }

    #[test]
    fn federation_needs_no_secret_but_the_tenant_and_the_client() {
        let tenant = ("ENTRA_TENANT_ID", "Contoso.onmicrosoft.com");
        let client = ("ENTRA_CLIENT_ID", "66666666-7777-8888-9999-000000000000");
        let source = ("CREDENTIAL_SOURCE", "aws-federation");
        let s = settings(&[source, tenant, client]).unwrap();
        let Credentials::AwsFederation {
            tenant_id,
            client_id,
        } = s.credentials
        else {
            panic!("{:?}", s.credentials)
        };
        assert_eq!(tenant_id.as_str(), "contoso.onmicrosoft.com");
        assert_eq!(client_id, "66666666-7777-8888-9999-000000000000");
        for (pairs, missing) in [
            (vec![source, client], "ENTRA_TENANT_ID"),
            (
                vec![source, tenant, ("SECRET_ID", "ignored")],
                "ENTRA_CLIENT_ID",
            ),
        ] {
            let error = settings(&pairs).unwrap_err();
            assert!(matches!(
                error,
                ConfigError::MissingFederationSetting { .. }
            ));
            assert!(error.to_string().contains(missing), "{error}");
        }
        let bad = settings(&[source, tenant, ("ENTRA_CLIENT_ID", "app")]).unwrap_err();
        assert!(bad.to_string().contains("ENTRA_CLIENT_ID"), "{bad}");
        let unknown = settings(&[("CREDENTIAL_SOURCE", "password")]).unwrap_err();
        assert!(unknown.to_string().contains("aws-federation"), "{unknown}");
        let default = settings(&[("SECRET_ID", "entra/creds")]).unwrap();
        assert_eq!(
            default.credentials,
            Credentials::Secret {
                secret_id: "entra/creds".into()
            }
        );
    }

    #[test]
    fn service_principal_id_wins_over_display_name() {
        let s = settings(&[
            ("SECRET_ID", "x"),
            ("APP_DISPLAY_NAME", "AWS SSO"),
            (
                "SERVICE_PRINCIPAL_ID",
                " 0D1C2B3A-4F5E-6789-ABCD-EF0123456789 ",
            ),
        ])
        .unwrap();
        assert_eq!(
            s.target,
            Some(Target::ServicePrincipalId(
                "0d1c2b3a-4f5e-6789-abcd-ef0123456789".into()
            ))
        );
    }

    #[test]
    fn clouds_keep_their_real_scope_when_graph_is_overridden() {
        let s = settings(&[
            ("SECRET_ID", "x"),
            ("AZURE_CLOUD", "usgov-dod"),
            ("GRAPH_ENDPOINT", "http://127.0.0.1:8080"),
        ])
        .unwrap();
        assert_eq!(s.endpoints.scope, "https://dod-graph.microsoft.us/.default");
        assert_eq!(s.endpoints.graph.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(
            s.endpoints.authority.as_str(),
            "https://login.microsoftonline.us/"
        );
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        for (variable, value) in [
            ("GRAPH_ENDPOINT", "http://graph.example.com"),
            ("AZURE_AUTHORITY_HOST", "http://10.0.0.1:8080"),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                "http://secrets.example.com",
            ),
            ("GRAPH_ENDPOINT", "ftp://127.0.0.1"),
            ("GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0"),
        ] {
            let error = settings(&[("SECRET_ID", "x"), (variable, value)]).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(variable) && text.contains(value), "{text}");
        }
        for value in ["http://localhost:9", "http://127.0.0.2:9", "http://[::1]:9"] {
            assert!(settings(&[("SECRET_ID", "x"), ("GRAPH_ENDPOINT", value)]).is_ok());
        }
    }

    #[test]
    fn bad_values_quote_the_value_and_the_fix() {
        for (variable, value, hint) in [
            ("SYNC_ACTION", "reboot", "restart"),
            ("RESET_SCOPE", "Watermark,None", "start"),
            ("RESET_SCOPE", "ConnectorDataStore", "not to use"),
            ("RESET_SCOPE", "Everything", "Escrows"),
            ("AZURE_CLOUD", "mars", "usgov"),
            ("SERVICE_PRINCIPAL_ID", "not-a-guid", "GUID"),
            ("WAIT_LIMIT_SECONDS", "ten", "seconds"),
            ("SECRET_EXPIRY_WARN_DAYS", "0", "1 to 730"),
            ("SECRET_EXPIRY_WARN_DAYS", "soon", "whole number of days"),
            ("WAIT_FOR_COMPLETION", "maybe", "true"),
        ] {
            let text = settings(&[("SECRET_ID", "x"), (variable, value)])
                .unwrap_err()
                .to_string();
            assert!(text.contains(variable), "{text}");
            assert!(text.contains(hint), "{text}");
        }
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(parse_duration("600"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("-5"), None);
        assert_eq!(parse_duration("5 days"), None);
    }
}
