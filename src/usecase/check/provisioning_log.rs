//! The `provisioningErrors` check: the job's failed provisioning events of the last 24 hours.

use serde::Serialize;

use crate::graph::health::{PROVISIONING_LOG_TOP, ProvisioningEntry};
use crate::graph::{GraphError, GraphErrorKind};

use crate::checks::{CheckResult, PROVISIONING_ERRORS};

/// Graph's answer when the tenant has no Entra ID P1/P2 licence for the reports.
const NO_PREMIUM_LICENCE: &str = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";
/// How far back the check looks.
pub const WINDOW_HOURS: i64 = 24;

/// One failed event, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub when: String,
    pub identity: String,
    pub identity_type: String,
    pub action: String,
    pub error_code: String,
    pub reason: String,
    pub recommended_action: String,
}

impl Failure {
    fn from_entry(entry: &ProvisioningEntry) -> Self {
        let text = |value: Option<&String>| value.cloned().unwrap_or_default();
        let identity = entry
            .source_identity
            .as_ref()
            .or(entry.target_identity.as_ref());
        let error = entry
            .provisioning_status_info
            .as_ref()
            .and_then(|info| info.error_information.as_ref());
        Self {
            when: text(entry.activity_date_time.as_ref()),
            identity: identity
                .and_then(|i| i.display_name.clone().or_else(|| i.id.clone()))
                .unwrap_or_else(|| "an unnamed object".into()),
            identity_type: text(identity.and_then(|i| i.identity_type.as_ref())),
            action: text(entry.provisioning_action.as_ref()),
            error_code: text(error.and_then(|e| e.error_code.as_ref())),
            reason: text(error.and_then(|e| e.reason.as_ref())),
            recommended_action: text(error.and_then(|e| e.recommended_action.as_ref())),
        }
    }

    /// "2026-11-28T09:10:00Z user Jane Doe, create: EntryConflict: reason (recommended: …)".
    fn line(&self) -> String {
        let kind = if self.identity_type.is_empty() {
            String::new()
        } else {
            format!("{} ", self.identity_type.to_lowercase())
        };
        let mut text = format!(
            "{} {kind}{}, {}: {}",
            self.when,
            self.identity,
            or_unknown(&self.action),
            or_unknown(&self.error_code)
        );
        if !self.reason.is_empty() {
            text.push_str(&format!(": {}", self.reason.trim_end_matches('.')));
        }
        if !self.recommended_action.is_empty() {
            text.push_str(&format!(
                " (recommended: {})",
                self.recommended_action.trim_end_matches('.')
            ));
        }
        text
    }
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() { "unknown" } else { text }
}

pub fn judge(outcome: &Result<Vec<ProvisioningEntry>, GraphError>) -> CheckResult {
    let entries = match outcome {
        Ok(entries) => entries,
        Err(error) => return unavailable(error),
    };
    if entries.is_empty() {
        return CheckResult::ok(
            PROVISIONING_ERRORS,
            format!("no failed provisioning events in the last {WINDOW_HOURS} hours"),
        )
        .with("failures", Vec::<Failure>::new());
    }
    let failures: Vec<Failure> = entries.iter().map(Failure::from_entry).collect();
    let more = if failures.len() >= PROVISIONING_LOG_TOP {
        format!(" (the first {PROVISIONING_LOG_TOP} shown)")
    } else {
        String::new()
    };
    let lines = failures
        .iter()
        .map(Failure::line)
        .collect::<Vec<_>>()
        .join("; ");
    CheckResult::warning(
        PROVISIONING_ERRORS,
        format!(
            "{} failed provisioning event(s) in the last {WINDOW_HOURS} hours{more}: {lines}",
            failures.len()
        ),
        "fix each object as its recommended action says (duplicate e-mail, userName or \
         displayName in IAM Identity Center and missing attributes are the usual causes); \
         Entra retries it in the next cycle. Details: Entra admin center > the enterprise app > \
         Provisioning logs",
    )
    .with("failures", &failures)
}

fn unavailable(error: &GraphError) -> CheckResult {
    let code = match error {
        GraphError::Failed { code, .. } => code.as_deref(),
        GraphError::Auth(_) => None,
    };
    if code == Some(NO_PREMIUM_LICENCE) {
        return CheckResult::unavailable(
            PROVISIONING_ERRORS,
            format!(
                "the provisioning log needs a Microsoft Entra ID P1 or P2 licence in the tenant \
                 ({NO_PREMIUM_LICENCE})"
            ),
            "license the tenant with Entra ID P1 or P2 to read the provisioning log; the other \
             checks do not need it",
        )
        .with("reason", "licence");
    }
    if error.kind() == Some(GraphErrorKind::PermissionDenied) {
        return CheckResult::unavailable(
            PROVISIONING_ERRORS,
            format!(
                "the function's app may not read the provisioning log (it needs AuditLog.Read.All): {error}"
            ),
            "grant the application permission AuditLog.Read.All with admin consent (optional: \
             only this check uses it)",
        )
        .with("reason", "permission");
    }
    CheckResult::unavailable(
        PROVISIONING_ERRORS,
        format!("the provisioning log could not be read: {error}"),
        "run the check again later",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckStatus;
    use crate::graph::Operation;

    fn refused(status: u16, kind: GraphErrorKind, code: &str) -> GraphError {
        GraphError::Failed {
            kind,
            operation: Operation::ReadProvisioningLog,
            status: Some(status),
            code: Some(code.into()),
            request_id: None,
            message: format!("Microsoft Graph answered {status} ({code})"),
        }
    }

    #[test]
    fn each_failure_is_listed_and_makes_a_warning() {
        let entry: ProvisioningEntry = serde_json::from_str(
            r#"{"activityDateTime":"2026-11-28T09:10:00Z","provisioningAction":"create",
              "sourceIdentity":{"id":"u1","displayName":"Jane Doe","identityType":"User"},
              "provisioningStatusInfo":{"status":"failure","errorInformation":{
                "errorCode":"EntryConflict","reason":"Duplicate email.","recommendedAction":"Make it unique."}}}"#,
        )
        .unwrap();
        let check = judge(&Ok(vec![entry.clone(), entry]));
        assert_eq!(check.status, CheckStatus::Warning);
        assert!(
            check.detail.contains(
                "2026-11-28T09:10:00Z user Jane Doe, create: EntryConflict: Duplicate email \
                 (recommended: Make it unique)"
            ),
            "{}",
            check.detail
        );
        assert_eq!(check.facts["failures"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn an_empty_log_is_ok() {
        assert_eq!(judge(&Ok(vec![])).status, CheckStatus::Ok);
    }

    #[test]
    fn forbidden_and_unlicensed_are_unavailable_saying_which() {
        let check = judge(&Err(refused(
            403,
            GraphErrorKind::PermissionDenied,
            "Authorization_RequestDenied",
        )));
        assert_eq!(check.status, CheckStatus::Unavailable);
        assert!(check.detail.contains("AuditLog.Read.All"));
        let check = judge(&Err(refused(
            403,
            GraphErrorKind::PermissionDenied,
            NO_PREMIUM_LICENCE,
        )));
        assert_eq!(check.status, CheckStatus::Unavailable);
        assert!(check.detail.contains("P1"), "{}", check.detail);
    }
}
