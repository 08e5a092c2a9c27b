//! The invocation's result: what was found and done per job, as JSON for the caller and as
//! one summary log line per job.

use serde::{Serialize, Serializer};
use tracing::info;

use time::OffsetDateTime;

use crate::checks::CheckResult;
use crate::domain::Action;
use crate::error::SyncError;
use crate::graph::model::{Quarantine, ServicePrincipal, SynchronizationJob, TaskExecution};
use crate::health::{self, Health};
use crate::usecase::provision::report::ProvisionReport;

/// What the wait saw of the cycle a trigger started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CycleState {
    /// The new cycle ended; see `execution.state` for how.
    Finished,
    /// The new cycle began and was still running when the wait ended.
    Running,
    /// No new cycle was seen before the wait ended.
    NotStarted,
    /// Reading the job failed while waiting; see `note`.
    Unknown,
}

impl CycleState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Running => "running",
            Self::NotStarted => "notStarted",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    pub state: CycleState,
    pub execution: Option<TaskExecution>,
    pub duration_seconds: Option<f64>,
    pub waited_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CycleReport {
    pub fn failed(&self) -> bool {
        self.state == CycleState::Finished
            && self.execution.as_ref().and_then(|e| e.state.as_deref()) == Some("Failed")
    }
}

/// What happened to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum JobResult {
    /// The restart/start call was accepted by Graph.
    Triggered,
    /// Dry run: the call that would have been made.
    WouldTrigger,
    /// The status action: read only.
    StatusRead,
    /// The restart-storm guard left the job alone; see `skipReason`.
    Skipped,
    /// The trigger call failed; see `error`.
    Failed,
}

impl JobResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "triggered",
            Self::WouldTrigger => "wouldTrigger",
            Self::StatusRead => "statusRead",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// A job's state as read from Graph, and the health judged from it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobState {
    pub schedule_state: Option<String>,
    pub status_code: Option<String>,
    pub last_execution: Option<TaskExecution>,
    pub quarantine: Option<Quarantine>,
    pub count_successive_complete_failures: Option<i64>,
    pub troubleshooting_url: Option<String>,
    pub health: Health,
}

impl JobState {
    pub fn read(job: &SynchronizationJob, now: OffsetDateTime) -> Self {
        let status = job.status.clone().unwrap_or_default();
        Self {
            schedule_state: job
                .schedule
                .as_ref()
                .and_then(|schedule| schedule.state.clone()),
            status_code: status.code,
            last_execution: status.last_execution,
            quarantine: status.quarantine,
            count_successive_complete_failures: status.count_successive_complete_failures,
            troubleshooting_url: status.troubleshooting_url,
            health: health::judge(job, now),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    pub service_principal_id: String,
    pub job_id: String,
    pub template_id: Option<String>,
    pub action: Action,
    pub result: JobResult,
    /// As read before acting, or after the wait when the invocation waited.
    #[serde(flatten)]
    pub state: JobState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The cycle the trigger started, when the invocation waited for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<CycleReport>,
    pub graph_request_ids: Vec<String>,
    /// Why the action failed; reported as its message and `errorType`.
    #[serde(
        rename = "error",
        skip_serializing_if = "Option::is_none",
        serialize_with = "failure_fields"
    )]
    pub failure: Option<SyncError>,
}

fn failure_fields<S: Serializer>(
    failure: &Option<SyncError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let fields = failure.as_ref().map(|error| {
        serde_json::json!({"errorType": error.error_type(), "errorMessage": error.to_string()})
    });
    fields.serialize(serializer)
}

impl JobReport {
    /// The job as read from Graph, before anything was done to it.
    pub fn new(
        service_principal_id: &str,
        job: &SynchronizationJob,
        action: Action,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            service_principal_id: service_principal_id.to_string(),
            job_id: job.id.clone(),
            template_id: job.template_id.clone(),
            action,
            result: JobResult::StatusRead,
            state: JobState::read(job, now),
            skip_reason: None,
            cycle: None,
            graph_request_ids: Vec::new(),
            failure: None,
        }
    }

    pub fn log_summary(&self) {
        let last = self.state.last_execution.clone().unwrap_or_default();
        info!(
            service_principal_id = %self.service_principal_id,
            job_id = %self.job_id,
            template_id = self.template_id.as_deref().unwrap_or(""),
            action = %self.action,
            result = self.result.as_str(),
            status_code = self.state.status_code.as_deref().unwrap_or(""),
            last_state = last.state.as_deref().unwrap_or(""),
            last_began = last.time_began.as_deref().unwrap_or(""),
            last_exported = last.count_exported.unwrap_or(0),
            healthy = self.state.health.healthy,
            quarantined = self.state.health.quarantined,
            skip_reason = self.skip_reason.as_deref().unwrap_or(""),
            cycle = self.cycle.as_ref().map_or("", |cycle| cycle.state.as_str()),
            error = self.failure.as_ref().map(ToString::to_string).unwrap_or_default(),
            "job summary"
        );
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub summary: String,
    pub action: Action,
    pub dry_run: bool,
    pub reset_scope: Option<String>,
    pub service_principal: ServicePrincipal,
    pub jobs: Vec<JobReport>,
    /// Jobs Graph listed that were not acted on: no usable id, or listed twice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_jobs: Vec<IgnoredJob>,
    /// Jobs left out of `jobs` to keep the report under Lambda's response limit.
    #[serde(skip_serializing_if = "is_zero")]
    pub jobs_omitted: usize,
    /// The `check` action's findings, in the order they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    pub started_at: String,
    pub duration_ms: u64,
    pub function_version: &'static str,
    /// The provision action's result, objects and fallback restart, at the top level.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub provision: Option<ProvisionReport>,
}

/// A job Graph listed that was left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoredJob {
    pub job_id: String,
    pub reason: String,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// Lambda refuses a response over 6 MB (6,291,456 bytes); the report stays well below.
pub const MAX_REPORT_BYTES: usize = 5 * 1024 * 1024;

impl Report {
    /// Drops jobs from the end of the list until the report fits [`MAX_REPORT_BYTES`], and
    /// says how many were left out (each one's summary line is in the logs).
    pub fn fit_response_limit(&mut self) {
        if json_len(self) <= MAX_REPORT_BYTES {
            return;
        }
        let total = self.jobs.len();
        let jobs = std::mem::take(&mut self.jobs);
        self.ignored_jobs.truncate(100);
        // Room for the rest of the report and the sentence added to the summary.
        let mut budget = MAX_REPORT_BYTES.saturating_sub(json_len(self) + 512);
        for job in jobs {
            let cost = json_len(&job) + 1;
            if cost > budget {
                break;
            }
            budget -= cost;
            self.jobs.push(job);
        }
        self.jobs_omitted = total - self.jobs.len();
        self.summary.push_str(&format!(
            "; {} of {total} jobs left out of this report to stay under Lambda's 6 MB response \
             limit (every job has a \"job summary\" line in the logs)",
            self.jobs_omitted
        ));
    }

    /// One sentence for humans: "restart: 1 job of AWS IAM Identity Center triggered".
    pub fn summarize(action: Action, dry_run: bool, app: &str, jobs: &[JobReport]) -> String {
        let count = |result| jobs.iter().filter(|job| job.result == result).count();
        let plural = |n: usize| if n == 1 { "job" } else { "jobs" };
        let (done, verb) = match (action, dry_run) {
            (Action::Status, _) => (count(JobResult::StatusRead), "read"),
            (_, true) => (
                count(JobResult::WouldTrigger),
                "would be triggered (dry run)",
            ),
            _ => (count(JobResult::Triggered), "triggered"),
        };
        let mut text = format!("{action}: {done} {} of {app} {verb}", plural(done));
        for (result, label) in [
            (JobResult::Skipped, "skipped"),
            (JobResult::Failed, "failed"),
        ] {
            let n = count(result);
            if n > 0 {
                text.push_str(&format!(", {n} {label}"));
            }
        }
        let unhealthy = jobs.iter().filter(|job| !job.state.health.healthy).count();
        if unhealthy > 0 {
            text.push_str(&format!(", {unhealthy} unhealthy"));
        }
        text
    }
}

/// Serialized size of a part of the report.
fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_over_the_response_limit_drops_jobs_and_says_so() {
        let job: SynchronizationJob = serde_json::from_str(&format!(
            r#"{{"id":"AWSSCIM.x","status":{{"code":"Active","troubleshootingUrl":"https://example.com/{}"}}}}"#,
            "x".repeat(2000)
        ))
        .unwrap();
        let now = OffsetDateTime::now_utc();
        let jobs: Vec<JobReport> = (0..4000)
            .map(|_| JobReport::new("sp", &job, Action::Status, now))
            .collect();
        let mut report = Report {
            summary: "status: 4000 jobs read".into(),
            action: Action::Status,
            dry_run: false,
            reset_scope: None,
            service_principal: ServicePrincipal::default(),
            jobs,
            ignored_jobs: Vec::new(),
            jobs_omitted: 0,
            checks: Vec::new(),
            started_at: String::new(),
            duration_ms: 0,
            function_version: "test",
            provision: None,
        };
        assert!(json_len(&report) > 6 * 1024 * 1024);
        report.fit_response_limit();
        assert!(json_len(&report) <= MAX_REPORT_BYTES);
        assert_eq!(report.jobs.len() + report.jobs_omitted, 4000);
        assert!(report.jobs_omitted > 0);
        assert!(report.summary.contains("left out"), "{}", report.summary);
        let text = serde_json::to_string(&report).unwrap();
        assert!(text.contains("\"jobsOmitted\""));
    }
}
