//! The check action's findings: one check's result, as the report, the `CheckFailed` error and
//! the command line show it, and the verdict over all of them: any `failed` check fails the
//! invocation with `CheckFailed`; warnings do not.

use serde::Serialize;
use serde_json::{Map, Value};

/// The checks, by the names the report, alarms and docs use.
pub const CREDENTIALS: &str = "credentials";
pub const PERMISSIONS: &str = "permissions";
pub const CLIENT_SECRET_EXPIRY: &str = "clientSecretExpiry";
pub const SERVICE_PRINCIPAL: &str = "servicePrincipal";
pub const JOBS: &str = "jobs";
pub const SCIM_CONNECTION: &str = "scimConnection";
pub const PROVISIONING_ERRORS: &str = "provisioningErrors";

/// The checks in the order they run and are reported.
pub const CHECK_NAMES: &[&str] = &[
    CREDENTIALS,
    PERMISSIONS,
    CLIENT_SECRET_EXPIRY,
    SERVICE_PRINCIPAL,
    JOBS,
    SCIM_CONNECTION,
    PROVISIONING_ERRORS,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    /// Works today, but needs attention (soon-expiring secret, paused job, failed entries).
    Warning,
    /// Broken: the invocation fails with `CheckFailed`.
    Failed,
    /// The check could not be made; `detail` says why, `fix` what would make it possible.
    Unavailable,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Failed => "failed",
            Self::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub name: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    /// What to do; `None` when nothing is wrong.
    pub fix: Option<String>,
    /// The job a per-job check is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Machine-readable facts behind the detail (days left, missing permissions, log entries).
    #[serde(flatten)]
    pub facts: Map<String, Value>,
}

impl CheckResult {
    pub fn new(
        name: &'static str,
        status: CheckStatus,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            fix,
            job_id: None,
            facts: Map::new(),
        }
    }

    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, CheckStatus::Ok, detail, None)
    }

    pub fn warning(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, CheckStatus::Warning, detail, Some(fix.into()))
    }

    pub fn failed(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, CheckStatus::Failed, detail, Some(fix.into()))
    }

    pub fn unavailable(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, CheckStatus::Unavailable, detail, Some(fix.into()))
    }

    /// A check that could not run because an earlier one failed.
    pub fn blocked(name: &'static str, by: &str) -> Self {
        Self::new(
            name,
            CheckStatus::Unavailable,
            format!("not checked: it needs the {by} check to pass first"),
            Some(format!("fix the {by} check")),
        )
    }

    pub fn for_job(mut self, job_id: &str) -> Self {
        self.job_id = Some(job_id.to_string());
        self
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            self.facts.insert(key.to_string(), value);
        }
        self
    }

    /// `name` or `name (job …)`, for messages and the table.
    pub fn label(&self) -> String {
        match &self.job_id {
            Some(job) => format!("{} ({job})", self.name),
            None => self.name.to_string(),
        }
    }
}

/// "7 checks: 5 ok, 1 warning, 1 failed".
pub fn summarize(checks: &[CheckResult]) -> String {
    let mut text = format!(
        "{} {}",
        checks.len(),
        if checks.len() == 1 { "check" } else { "checks" }
    );
    let mut first = true;
    for status in [
        CheckStatus::Ok,
        CheckStatus::Warning,
        CheckStatus::Failed,
        CheckStatus::Unavailable,
    ] {
        let count = checks.iter().filter(|c| c.status == status).count();
        if count > 0 {
            text.push_str(if first { ": " } else { ", " });
            text.push_str(&format!("{count} {}", status.as_str()));
            first = false;
        }
    }
    text
}

/// Each failed check with its fix, for the `CheckFailed` message; `None` when none failed.
pub fn failures(checks: &[CheckResult]) -> Option<String> {
    let failed: Vec<String> = checks
        .iter()
        .filter(|check| check.status == CheckStatus::Failed)
        .map(|check| {
            let fix = check.fix.as_deref().unwrap_or("see the detail");
            format!(
                "{}: {} Fix: {fix}",
                check.label(),
                end_sentence(&check.detail)
            )
        })
        .collect();
    (!failed.is_empty()).then(|| failed.join(" | "))
}

fn end_sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_name_status_detail_fix_and_facts_flat() {
        let check = CheckResult::warning(CLIENT_SECRET_EXPIRY, "expires soon", "rotate it")
            .with("daysLeft", 10);
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name":"clientSecretExpiry","status":"warning",
                "detail":"expires soon","fix":"rotate it","daysLeft":10})
        );
        let ok = serde_json::to_value(CheckResult::ok(JOBS, "fine").for_job("j")).unwrap();
        assert_eq!(ok["fix"], Value::Null);
        assert_eq!(ok["jobId"], "j");
    }

    #[test]
    fn only_failed_checks_make_a_failure_message_each_with_its_fix() {
        let checks = vec![
            CheckResult::ok(CREDENTIALS, "token"),
            CheckResult::warning(PERMISSIONS, "extra role", "remove it"),
            CheckResult::failed(SCIM_CONNECTION, "refused", "new token").for_job("j1"),
            CheckResult::failed(JOBS, "quarantined.", "restart").for_job("j1"),
        ];
        let text = failures(&checks).unwrap();
        assert_eq!(
            text,
            "scimConnection (j1): refused. Fix: new token | jobs (j1): quarantined. Fix: restart"
        );
        assert!(failures(&checks[..2]).is_none());
        assert_eq!(summarize(&checks), "4 checks: 1 ok, 1 warning, 2 failed");
    }
}
