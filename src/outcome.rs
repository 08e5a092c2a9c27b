//! Whether an invocation that acted on its jobs succeeded: a failed trigger, a failed waited
//! cycle, or an unhealthy job found by the `status` action fail it.

use crate::domain::Action;
use crate::error::SyncError;
use crate::report::{JobReport, JobResult};

pub fn check(action: Action, reports: &[JobReport]) -> Result<(), SyncError> {
    check_triggers(reports)?;
    check_cycles(reports)?;
    if action == Action::Status {
        check_health(reports)?;
    }
    Ok(())
}

/// Fails when any job's action failed, naming each one and what was triggered anyway.
fn check_triggers(reports: &[JobReport]) -> Result<(), SyncError> {
    let failures: Vec<&JobReport> = reports
        .iter()
        .filter(|job| job.result == JobResult::Failed)
        .collect();
    let Some(first) = failures.first() else {
        return Ok(());
    };
    // A single job's failure is reported as itself, keeping its errorType and advice.
    if let ([only], 1) = (failures.as_slice(), reports.len())
        && let Some(error) = &only.failure
    {
        return Err(error.clone());
    }
    let triggered: Vec<&str> = reports
        .iter()
        .filter(|job| job.result == JobResult::Triggered)
        .map(|job| job.job_id.as_str())
        .collect();
    let details = failures
        .iter()
        .map(|job| {
            let error = job.failure.as_ref().map(ToString::to_string);
            format!("{}: {}", job.job_id, error.unwrap_or_default())
        })
        .collect::<Vec<_>>();
    let details = join_capped(details, "; ");
    let triggered = if triggered.is_empty() {
        "none".to_string()
    } else {
        join_capped(triggered.into_iter().map(str::to_string).collect(), ", ")
    };
    Err(SyncError::JobsFailed {
        failed: failures.len(),
        total: reports.len(),
        details: format!("{details} (triggered: {triggered})"),
        error_type: first
            .failure
            .as_ref()
            .map_or("GraphError", SyncError::error_type),
    })
}

/// Fails when a cycle the invocation waited for ended `Failed`, with Graph's error text.
fn check_cycles(reports: &[JobReport]) -> Result<(), SyncError> {
    let failed: Vec<String> = reports
        .iter()
        .filter(|job| job.cycle.as_ref().is_some_and(|cycle| cycle.failed()))
        .map(|job| {
            let error = job
                .cycle
                .as_ref()
                .and_then(|cycle| cycle.execution.as_ref())
                .and_then(|execution| execution.error.clone())
                .unwrap_or_default();
            let troubleshooting = job
                .state
                .troubleshooting_url
                .as_ref()
                .map(|url| format!("; troubleshooting: {url}"))
                .unwrap_or_default();
            format!(
                "job {}: {} ({}){troubleshooting}",
                job.job_id,
                error
                    .message
                    .as_deref()
                    .unwrap_or("no error text from Graph"),
                error.code.as_deref().unwrap_or("no code"),
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(SyncError::CycleFailed {
        details: join_capped(failed, "; "),
    })
}

/// Fails when any job is unhealthy, so a scheduled health check raises the alarm.
fn check_health(reports: &[JobReport]) -> Result<(), SyncError> {
    let unhealthy: Vec<&JobReport> = reports
        .iter()
        .filter(|job| !job.state.health.healthy)
        .collect();
    if unhealthy.is_empty() {
        return Ok(());
    }
    let details = unhealthy
        .iter()
        .map(|job| {
            let problems: Vec<&str> = job
                .state
                .health
                .problems
                .iter()
                .map(|problem| problem.message.as_str())
                .collect();
            format!("job {}: {}", job.job_id, problems.join("; "))
        })
        .collect::<Vec<_>>();
    let details = join_capped(details, " | ");
    Err(SyncError::Unhealthy {
        details,
        quarantined: unhealthy.iter().any(|job| job.state.health.quarantined),
    })
}

/// Jobs named in one error message at most; the report has all of them.
const MAX_JOBS_IN_MESSAGE: usize = 10;

/// The first [`MAX_JOBS_IN_MESSAGE`] items, and how many more there are: an error message
/// about thousands of jobs must stay readable (and far under Lambda's 6 MB).
fn join_capped(items: Vec<String>, separator: &str) -> String {
    let more = items.len().saturating_sub(MAX_JOBS_IN_MESSAGE);
    let mut text = items
        .into_iter()
        .take(MAX_JOBS_IN_MESSAGE)
        .collect::<Vec<_>>()
        .join(separator);
    if more > 0 {
        text.push_str(&format!("{separator}and {more} more (see the logs)"));
    }
    text
}
