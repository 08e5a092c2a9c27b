//! The fallback when provision on demand cannot carry the changes (too many, too little time,
//! or an expired delta token): one restart, guarded against restart storms and sent like any
//! other (a 504 is re-read, not blindly re-sent).

use time::OffsetDateTime;
use tracing::info;

use super::Run;
use super::report::RestartReport;
use crate::domain::{Action, ResetScope};
use crate::error::SyncError;
use crate::usecase::trigger::trigger;

/// Sends one plain restart unless the guard refuses; `last_trigger` is when any execution
/// environment last triggered the job (from the state table).
pub async fn guarded(
    run: &Run<'_>,
    because: String,
    last_trigger: Option<OffsetDateTime>,
) -> Result<RestartReport, SyncError> {
    let mut report = RestartReport {
        result: "skipped",
        because,
        reason: None,
        request_ids: Vec::new(),
    };
    if run.request.dry_run {
        report.result = "wouldTrigger";
        return Ok(report);
    }
    let sp = &run.service_principal.id;
    let job = run.graph.get_job(sp, run.job_id, run.deadline).await?;
    report.request_ids.extend(job.request_ids);
    let refusal = run.guard.check_with_last_trigger(
        Action::Restart,
        &job.value,
        OffsetDateTime::now_utc(),
        last_trigger,
    );
    if let Some(reason) = refusal.filter(|_| !run.request.force) {
        info!(job_id = %run.job_id, reason = %reason, "left the job alone instead of restarting");
        report.reason = Some(format!(
            "{reason}; the changes stay pending for the next run"
        ));
        return Ok(report);
    }
    let sent = trigger(
        run.graph,
        Action::Restart,
        &ResetScope::default(),
        sp,
        run.job_id,
        run.deadline,
    )
    .await?;
    run.guard.record(run.job_id);
    report.request_ids.extend(sent.request_ids);
    report.result = "triggered";
    Ok(report)
}
