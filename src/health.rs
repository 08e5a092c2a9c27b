//! Judging a synchronization job's health from its status, the way an admin reading the
//! Entra portal's provisioning page would.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::graph::model::{SynchronizationJob, parse_time};

/// Longer than this without reaching steady state is worth an alarm (cycles run every 40 min).
pub const STEADY_STATE_THRESHOLD: Duration = Duration::from_secs(24 * 3600);

/// One finding, with a stable code for log queries and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub healthy: bool,
    pub quarantined: bool,
    pub problems: Vec<Problem>,
}

impl Health {
    /// The judgement once a trigger that clears quarantine (start, a plain restart, or a
    /// restart with QuarantineState or Full) was accepted: the status read before it no
    /// longer holds, so quarantine is no problem any more.
    pub fn quarantine_lifted(mut self) -> Self {
        self.quarantined = false;
        self.problems
            .retain(|problem| problem.code != "Quarantined");
        self.healthy = self.problems.is_empty();
        self
    }
}

pub fn judge(job: &SynchronizationJob, now: OffsetDateTime) -> Health {
    let status = job.status.clone().unwrap_or_default();
    let mut problems = Vec::new();
    let mut add = |code, message: String| problems.push(Problem { code, message });
    let quarantined = job.is_quarantined();
    if quarantined {
        let q = status.quarantine.clone().unwrap_or_default();
        let reason = q
            .error
            .as_ref()
            .and_then(|e| e.message.clone())
            .unwrap_or_default();
        add(
            "Quarantined",
            format!(
                "the job is in quarantine (reason {}, since {}, attempt {}, next attempt {}){}{}: fix the cause, then run the restart action (it clears quarantine)",
                q.reason.as_deref().unwrap_or("unknown"),
                q.current_began.as_deref().unwrap_or("unknown"),
                q.series_count.map_or("unknown".into(), |n| n.to_string()),
                q.next_attempt.as_deref().unwrap_or("unknown"),
                if reason.is_empty() { "" } else { ": " },
                reason,
            ),
        );
    }
    if job.is_paused() {
        add(
            "Paused",
            "the job is paused: provisioning to AWS is stopped; run the start action to resume"
                .into(),
        );
    } else if job.status_code() == Some("NotConfigured") {
        add(
            "NotConfigured",
            "provisioning has never been configured or run: finish the setup on the enterprise app's Provisioning page".into(),
        );
    }
    if let Some(failures) = status.count_successive_complete_failures.filter(|n| *n > 0) {
        add(
            "SuccessiveFailures",
            format!("the last {failures} cycles failed completely"),
        );
    }
    if let Some(last) = &status.last_execution {
        if last.state.as_deref() == Some("Failed") {
            let error = last
                .error
                .as_ref()
                .and_then(|e| e.message.clone())
                .unwrap_or_else(|| "no error text".into());
            add("LastCycleFailed", format!("the last cycle failed: {error}"));
        }
        if let Some(escrowed) = last.count_escrowed.filter(|n| *n > 0) {
            add(
                "Escrows",
                format!(
                    "{escrowed} objects could not be provisioned in the last cycle and will be retried (escrowed); see the provisioning logs"
                ),
            );
        }
    }
    let steady = status
        .steady_state_last_achieved_time
        .as_deref()
        .and_then(parse_time);
    if let Some(steady) = steady.filter(|at| now - *at > STEADY_STATE_THRESHOLD) {
        add(
            "SteadyStateNotReached",
            format!(
                "the job has not reached steady state since {steady}: it has been catching up for more than {} hours",
                STEADY_STATE_THRESHOLD.as_secs() / 3600
            ),
        );
    }
    Health {
        healthy: problems.is_empty(),
        quarantined,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(json: &str) -> SynchronizationJob {
        serde_json::from_str(json).unwrap()
    }

    fn now() -> OffsetDateTime {
        parse_time("2026-11-28T10:00:00Z").unwrap()
    }

    #[test]
    fn an_active_job_that_succeeded_recently_is_healthy() {
        let health = judge(
            &job(
                r#"{"id":"j","schedule":{"state":"Active"},"status":{"code":"Active","countSuccessiveCompleteFailures":0,
                 "steadyStateLastAchievedTime":"2026-11-28T09:40:00.1234567Z",
                 "lastExecution":{"state":"Succeeded","countEscrowed":0}}}"#,
            ),
            now(),
        );
        assert!(health.healthy, "{health:?}");
    }

    #[test]
    fn quarantine_reports_reason_and_times() {
        let health = judge(
            &job(
                r#"{"id":"j","status":{"code":"Quarantine","quarantine":{"reason":"EncounteredQuarantineException",
                 "currentBegan":"2026-11-28T08:00:00Z","nextAttempt":"2026-11-28T20:00:00Z","seriesCount":3,
                 "error":{"code":"SystemForCrossDomainIdentityManagementCredentialValidationFailure","message":"The SCIM token is invalid"}}}}"#,
            ),
            now(),
        );
        assert!(!health.healthy && health.quarantined);
        let text = &health.problems[0].message;
        for expected in [
            "EncounteredQuarantineException",
            "2026-11-28T08:00:00Z",
            "attempt 3",
            "SCIM token",
        ] {
            assert!(text.contains(expected), "{text}");
        }
    }

    #[test]
    fn placeholder_times_and_executions_are_never() {
        let health = judge(
            &job(
                r#"{"id":"j","status":{"code":"NotRun","steadyStateLastAchievedTime":"0001-01-01T00:00:00Z",
                 "lastExecution":{"state":"Failed","timeBegan":"0001-01-01T00:00:00Z","timeEnded":"0001-01-01T00:00:00Z",
                   "error":{"code":"None","message":"","tenantActionable":false}}}}"#,
            ),
            now(),
        );
        assert!(health.healthy, "{health:?}");
        let health = judge(
            &job(r#"{"id":"j","status":{"steadyStateLastAchievedTime":""}}"#),
            now(),
        );
        assert!(health.healthy, "{health:?}");
    }

    #[test]
    fn a_lifted_quarantine_is_no_longer_a_problem() {
        let health = judge(
            &job(
                r#"{"id":"j","status":{"code":"Quarantine","countSuccessiveCompleteFailures":1,"quarantine":{"reason":"Unknown"}}}"#,
            ),
            now(),
        );
        assert!(health.quarantined);
        let lifted = health.quarantine_lifted();
        assert!(!lifted.quarantined && !lifted.healthy);
        assert_eq!(lifted.problems.len(), 1, "{lifted:?}");
    }

    #[test]
    fn each_symptom_has_its_code() {
        let health = judge(
            &job(
                r#"{"id":"j","schedule":{"state":"Paused"},"status":{"code":"Paused","countSuccessiveCompleteFailures":2,
                 "steadyStateLastAchievedTime":"2026-11-20T09:40:00Z",
                 "lastExecution":{"state":"Failed","countEscrowed":4,"error":{"message":"boom"}}}}"#,
            ),
            now(),
        );
        let codes: Vec<_> = health.problems.iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "Paused",
                "SuccessiveFailures",
                "LastCycleFailed",
                "Escrows",
                "SteadyStateNotReached"
            ]
        );
    }
}
