//! The domain's words: what to do ([`Action`], [`ResetScope`]), to which enterprise
//! application ([`Target`]), in which tenant ([`TenantId`]), and the GUIDs that name things in
//! Entra.
//!
//! Every other module may use these; this one uses none of them. Parsing errors are the fix,
//! in words (`Err(String)`), so each caller can say where the bad value came from (a variable,
//! a request field, a secret key).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Lambda's longest timeout: no wait can outlast it.
pub const MAX_WAIT_LIMIT: Duration = Duration::from_secs(900);

/// What to do with the synchronization jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Restart,
    Start,
    Status,
    /// Provision on demand: named users/groups, or what changed since the last run.
    Provision,
    /// Diagnose credentials, permissions, secret expiry, jobs and the SCIM connection; change
    /// nothing.
    Check,
}

impl FromStr for Action {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "restart" => Ok(Self::Restart),
            "start" => Ok(Self::Start),
            "status" => Ok(Self::Status),
            "provision" => Ok(Self::Provision),
            "check" => Ok(Self::Check),
            _ => Err(format!(
                "unknown action {text:?}: use \"restart\", \"start\", \"status\", \"provision\" or \"check\""
            )),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Restart => "restart",
            Self::Start => "start",
            Self::Status => "status",
            Self::Provision => "provision",
            Self::Check => "check",
        })
    }
}

/// Restart criteria: a set of Graph `resetScope` values. Empty means a plain restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetScope(Vec<&'static str>);

/// The values Microsoft documents as safe to use; `None` and `ConnectorDataStore` are refused.
const RESET_SCOPE_VALUES: &[&str] = &[
    "Escrows",
    "Watermark",
    "QuarantineState",
    "Full",
    "ForceDeletes",
];

impl ResetScope {
    pub fn is_plain(&self) -> bool {
        self.0.is_empty()
    }

    /// The Graph wire form, e.g. `Watermark,Escrows`; `None` for a plain restart.
    pub fn criteria(&self) -> Option<String> {
        (!self.is_plain()).then(|| self.0.join(","))
    }

    /// Whether a restart with this scope clears quarantine: Microsoft documents that an empty
    /// reset scope does, as do `QuarantineState` and `Full`.
    pub fn lifts_quarantine(&self) -> bool {
        self.is_plain()
            || self
                .0
                .iter()
                .any(|value| matches!(*value, "QuarantineState" | "Full"))
    }
}

impl FromStr for ResetScope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut values = Vec::new();
        for item in text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let value = canonical_reset_scope(item)?;
            if !values.contains(&value) {
                values.push(value);
            }
        }
        Ok(Self(values))
    }
}

fn canonical_reset_scope(item: &str) -> Result<&'static str, String> {
    if item.eq_ignore_ascii_case("None") {
        return Err(format!(
            "reset scope {item:?} is not allowed: Microsoft says not to use it; use the \
             \"start\" action instead, or leave the scope empty for a plain restart"
        ));
    }
    if item.eq_ignore_ascii_case("ConnectorDataStore") {
        return Err(format!(
            "reset scope {item:?} is not allowed: Microsoft says not to use it"
        ));
    }
    RESET_SCOPE_VALUES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(item))
        .copied()
        .ok_or_else(|| {
            format!(
                "unknown reset scope {item:?}: use a comma-separated subset of {}",
                RESET_SCOPE_VALUES.join(", ")
            )
        })
}

/// Which enterprise application to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Object id or appId; Graph's synchronization endpoints accept either.
    ServicePrincipalId(String),
    DisplayName(String),
}

impl Target {
    /// A target from an id and a name as one source gives them; the id wins. The error is
    /// the fix, in words; the caller says which field or variable held the id.
    pub fn from_parts(id: Option<&str>, name: Option<&str>) -> Result<Option<Self>, String> {
        if let Some(id) = id {
            return parse_guid(id).map(|id| Some(Self::ServicePrincipalId(id)));
        }
        Ok(name.map(|name| Self::DisplayName(name.to_string())))
    }
}

/// Normalises a GUID to its lowercase hyphenated form.
pub fn parse_guid(text: &str) -> Result<String, String> {
    uuid::Uuid::try_parse(text.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| {
            "expected a GUID like 0d1c2b3a-4f5e-6789-abcd-ef0123456789 (the object id shown on \
             the enterprise application's Overview page)"
                .to_string()
        })
}

/// The directory (tenant) id or one of its domain names, e.g. `contoso.onmicrosoft.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantId(String);

impl TenantId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantId {
    type Err = String;

    /// A GUID (normalised) or a DNS name (lowercased).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(guid) = parse_guid(text) {
            return Ok(Self(guid));
        }
        let text = text.trim();
        let is_domain = text.contains('.')
            && text.len() <= 253
            && text.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if is_domain {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(
                "expected the Directory (tenant) ID, a GUID, or a verified domain such as \
                 contoso.onmicrosoft.com"
                    .into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_scope_is_canonical_and_deduplicated() {
        let scope: ResetScope = " watermark, Escrows ,WATERMARK,".parse().unwrap();
        assert_eq!(scope.criteria().as_deref(), Some("Watermark,Escrows"));
        assert_eq!("".parse::<ResetScope>().unwrap().criteria(), None);
    }
}
