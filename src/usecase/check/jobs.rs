//! The `jobs` check: each job's health as the `status` action judges it ([`crate::health`]),
//! graded: what stops provisioning fails, what slows it warns.

use crate::error::SyncError;
use crate::graph::{GraphError, GraphErrorKind, Operation};
use crate::health::{Health, Problem};

use crate::checks::{CheckResult, CheckStatus, JOBS, SERVICE_PRINCIPAL};

/// A problem's grade and what to do about it, by the health judgement's stable codes.
fn grade(problem: &Problem) -> (CheckStatus, &'static str) {
    match problem.code {
        "Quarantined" => (
            CheckStatus::Failed,
            "fix the cause named in the detail (an expired or invalid AWS SCIM token is the \
             usual one: see scimConnection), then run the restart action, which lifts quarantine",
        ),
        "NotConfigured" => (
            CheckStatus::Failed,
            "finish the setup on the enterprise app's Provisioning page: Provisioning Mode \
             Automatic, the SCIM endpoint and access token from IAM Identity Center, Save, then \
             Start provisioning",
        ),
        "LastCycleFailed" | "SuccessiveFailures" => (
            CheckStatus::Failed,
            "read the error in the detail and the enterprise app's Provisioning logs, fix it, \
             then run the restart action",
        ),
        "Paused" => (
            CheckStatus::Warning,
            "if the pause was not intended, run the start action (or Start provisioning on the \
             enterprise app's Provisioning page)",
        ),
        _ => (
            CheckStatus::Warning,
            "see the provisioningErrors check and the enterprise app's Provisioning logs",
        ),
    }
}

pub fn judge(job_id: &str, status_code: Option<&str>, health: &Health) -> CheckResult {
    if health.problems.is_empty() {
        return CheckResult::ok(
            JOBS,
            format!("healthy (status {})", status_code.unwrap_or("unknown")),
        )
        .for_job(job_id);
    }
    let graded: Vec<(CheckStatus, &str)> = health.problems.iter().map(grade).collect();
    let status = if graded.iter().any(|(s, _)| *s == CheckStatus::Failed) {
        CheckStatus::Failed
    } else {
        CheckStatus::Warning
    };
    let detail = health
        .problems
        .iter()
        .map(|problem| problem.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut fixes: Vec<&str> = Vec::new();
    for (_, fix) in graded.iter().filter(|(s, _)| *s == status) {
        if !fixes.contains(fix) {
            fixes.push(fix);
        }
    }
    let codes: Vec<&str> = health.problems.iter().map(|p| p.code).collect();
    CheckResult::new(JOBS, status, detail, Some(fixes.join("; ")))
        .for_job(job_id)
        .with("problems", codes)
}

/// The servicePrincipal and jobs checks when the app or its jobs could not be listed.
pub fn listing_failed(error: &SyncError, app: &str) -> Vec<CheckResult> {
    let text = error.to_string();
    let found = || {
        CheckResult::ok(
            SERVICE_PRINCIPAL,
            format!("found the enterprise app {app} exactly once"),
        )
    };
    match error {
        SyncError::ProvisioningNotConfigured { .. } | SyncError::JobNotFound { .. } => {
            vec![found(), CheckResult::failed(JOBS, &text, &text)]
        }
        SyncError::Graph(graph) if graph_failed_on_jobs(graph) => {
            let check = if is_transient(graph) {
                CheckResult::unavailable(
                    JOBS,
                    format!("the jobs could not be read: {text}"),
                    "run the check again later",
                )
            } else {
                CheckResult::failed(JOBS, format!("the jobs could not be read: {text}"), &text)
            };
            vec![found(), check]
        }
        SyncError::Graph(graph) if is_transient(graph) => vec![
            CheckResult::unavailable(
                SERVICE_PRINCIPAL,
                format!("the enterprise app could not be looked up: {text}"),
                "run the check again later",
            ),
            CheckResult::blocked(JOBS, SERVICE_PRINCIPAL),
        ],
        SyncError::Secret(_) | SyncError::Entra(_) => vec![
            CheckResult::unavailable(
                SERVICE_PRINCIPAL,
                format!("the token could not be renewed: {text}"),
                "see the credentials check",
            ),
            CheckResult::blocked(JOBS, SERVICE_PRINCIPAL),
        ],
        _ => vec![
            CheckResult::failed(SERVICE_PRINCIPAL, &text, &text),
            CheckResult::blocked(JOBS, SERVICE_PRINCIPAL),
        ],
    }
}

fn graph_failed_on_jobs(error: &GraphError) -> bool {
    matches!(
        error,
        GraphError::Failed { operation: Operation::ListJobs | Operation::ReadJob, kind, .. }
            if *kind != GraphErrorKind::NotFound
    )
}

fn is_transient(error: &GraphError) -> bool {
    matches!(
        error.kind(),
        Some(GraphErrorKind::Throttled | GraphErrorKind::Unavailable | GraphErrorKind::Timeout)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::SynchronizationJob;
    use crate::graph::model::parse_time;
    use crate::health::judge as health_of;

    fn check(json: &str) -> CheckResult {
        let job: SynchronizationJob = serde_json::from_str(json).unwrap();
        let now = parse_time("2026-11-28T10:00:00Z").unwrap();
        judge(&job.id, job.status_code(), &health_of(&job, now))
    }

    #[test]
    fn quarantine_fails_paused_warns_healthy_is_ok() {
        let quarantined = check(
            r#"{"id":"j","status":{"code":"Quarantine","quarantine":{"reason":"EncounteredQuarantineException"}}}"#,
        );
        assert_eq!(quarantined.status, CheckStatus::Failed);
        assert!(quarantined.fix.unwrap().contains("restart"));
        let paused =
            check(r#"{"id":"j","schedule":{"state":"Paused"},"status":{"code":"Paused"}}"#);
        assert_eq!(paused.status, CheckStatus::Warning);
        assert!(paused.fix.unwrap().contains("start action"));
        let not_configured = check(r#"{"id":"j","status":{"code":"NotConfigured"}}"#);
        assert_eq!(not_configured.status, CheckStatus::Failed);
        let healthy = check(r#"{"id":"j","status":{"code":"Active"}}"#);
        assert_eq!(healthy.status, CheckStatus::Ok);
        assert_eq!(healthy.job_id.as_deref(), Some("j"));
    }
}
