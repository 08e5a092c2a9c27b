//! The function's configuration: environment variables -> one validated [`Settings`] value.
//!
//! Names are a contract shared with the SAM template, operators and the acceptance suite.
//! An empty variable counts as unset, so a template parameter left blank means "default".

use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

use crate::domain::{Action, MAX_WAIT_LIMIT, ResetScope, Target, TenantId, parse_guid};

mod endpoints;

pub use endpoints::Endpoints;
use endpoints::{check_aws_endpoints, endpoints};

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

#[cfg(test)]
mod tests;
