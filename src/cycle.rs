//! Waiting for the provisioning cycle a trigger started, and what it did.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::graph::GraphClient;
use crate::graph::model::{SynchronizationJob, TaskExecution};
use crate::report::{CycleReport, CycleState};
use crate::transport::Deadline;

const FIRST_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(15);
/// Time kept for one read of the job at the end of the wait.
const POLL_ALLOWANCE: Duration = Duration::from_secs(1);
/// Graph's clock and ours may differ a little; a cycle that began this much before our
/// trigger still counts as the one we started.
const CLOCK_SKEW: time::Duration = time::Duration::seconds(2);

/// The last read of the job and the cycle seen in it.
pub struct Waited {
    pub cycle: CycleReport,
    pub job: Option<SynchronizationJob>,
    pub request_ids: Vec<String>,
}

/// Polls the job with growing pauses until a cycle that began at or after `triggered_at`
/// has ended, `limit` has passed, or the invocation's deadline is near.
pub async fn wait_for_cycle(
    graph: &GraphClient,
    service_principal_id: &str,
    job_id: &str,
    triggered_at: OffsetDateTime,
    limit: Duration,
    deadline: &Deadline,
) -> Waited {
    let started = Instant::now();
    let until = started
        .checked_add(limit)
        .map_or(deadline.instant(), |end| end.min(deadline.instant()));
    let mut pause = FIRST_POLL;
    let mut waited = Waited {
        cycle: observe(None, triggered_at, started),
        job: None,
        request_ids: Vec::new(),
    };
    loop {
        // The last pause is shortened so the final read still fits in the window.
        let left = until.saturating_duration_since(Instant::now());
        if left <= POLL_ALLOWANCE {
            return waited;
        }
        tokio::time::sleep(pause.min(left - POLL_ALLOWANCE)).await;
        pause = (pause.mul_f64(1.5)).min(MAX_POLL);
        match graph.get_job(service_principal_id, job_id, deadline).await {
            Ok(read) => {
                waited.request_ids.extend(read.request_ids);
                waited.cycle = observe(Some(&read.value), triggered_at, started);
                waited.job = Some(read.value);
            }
            Err(error) => {
                waited.cycle.state = CycleState::Unknown;
                waited.cycle.note = Some(format!("the wait stopped: {error}"));
                return waited;
            }
        }
        if waited.cycle.state == CycleState::Finished {
            return waited;
        }
    }
}

/// Whether the job shows a cycle begun since `since`: its last execution began then or
/// later, or its progress reports a running cycle observed since then. Also how a trigger
/// whose answer was lost is recognised as having been acted on.
pub fn shows_cycle_since(job: &SynchronizationJob, since: OffsetDateTime) -> bool {
    execution_since(job, since).is_some() || progress_since(job, since)
}

fn execution_since(job: &SynchronizationJob, since: OffsetDateTime) -> Option<&TaskExecution> {
    job.last_execution().filter(|execution| {
        execution
            .began()
            .is_some_and(|began| began >= since - CLOCK_SKEW)
    })
}

fn progress_since(job: &SynchronizationJob, since: OffsetDateTime) -> bool {
    job.running_progress(OffsetDateTime::now_utc())
        .is_some_and(|step| step.observed().is_none_or(|at| at >= since - CLOCK_SKEW))
}

fn observe(
    job: Option<&SynchronizationJob>,
    triggered_at: OffsetDateTime,
    started: Instant,
) -> CycleReport {
    let waited_ms = started.elapsed().as_millis() as u64;
    let report = |state, execution: Option<&TaskExecution>| CycleReport {
        state,
        duration_seconds: execution.and_then(TaskExecution::duration_seconds),
        execution: execution.cloned(),
        waited_ms,
        note: None,
    };
    let Some(job) = job else {
        return report(CycleState::NotStarted, None);
    };
    match execution_since(job, triggered_at) {
        // Not `timeEnded == null` alone (non-nullable in Microsoft's schema): an end before
        // the begin, or the placeholder, is a cycle still running.
        Some(execution) if execution.is_running() => report(CycleState::Running, Some(execution)),
        Some(execution) => report(CycleState::Finished, Some(execution)),
        // Graph may show the new cycle's progress before its lastExecution.
        None if progress_since(job, triggered_at) => report(CycleState::Running, None),
        None => report(CycleState::NotStarted, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::parse_time;

    fn job(began: &str, ended: &str, state: &str) -> SynchronizationJob {
        serde_json::from_str(&format!(
            r#"{{"id":"j","status":{{"lastExecution":{{"timeBegan":{began},"timeEnded":{ended},"state":{state},"countExported":3}}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn only_a_cycle_that_began_after_the_trigger_counts() {
        let trigger = parse_time("2026-11-28T10:00:00Z").unwrap();
        let now = Instant::now();
        let old = job(
            "\"2026-11-28T09:00:00Z\"",
            "\"2026-11-28T09:01:00Z\"",
            "\"Succeeded\"",
        );
        assert_eq!(
            observe(Some(&old), trigger, now).state,
            CycleState::NotStarted
        );
        let running = job("\"2026-11-28T10:00:01Z\"", "null", "null");
        assert_eq!(
            observe(Some(&running), trigger, now).state,
            CycleState::Running
        );
        let done = job(
            "\"2026-11-28T10:00:01Z\"",
            "\"2026-11-28T10:00:31.5Z\"",
            "\"Failed\"",
        );
        let cycle = observe(Some(&done), trigger, now);
        assert_eq!(cycle.state, CycleState::Finished);
        assert_eq!(cycle.duration_seconds, Some(30.5));
        assert!(cycle.failed());
    }

    #[test]
    fn a_running_cycle_has_no_null_end_and_never_a_negative_duration() {
        let trigger = parse_time("2026-11-28T10:00:00Z").unwrap();
        let now = Instant::now();
        for ended in [
            "\"0001-01-01T00:00:00Z\"",
            "\"\"",
            "\"2026-11-28T09:30:00Z\"",
        ] {
            let running = job("\"2026-11-28T10:00:01Z\"", ended, "\"Succeeded\"");
            let cycle = observe(Some(&running), trigger, now);
            assert_eq!(cycle.state, CycleState::Running, "{ended}");
            assert_eq!(cycle.duration_seconds, None, "{ended}");
        }
    }

    #[test]
    fn progress_since_the_trigger_is_a_running_cycle() {
        let trigger = OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let observed = (trigger + time::Duration::seconds(20))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let job: SynchronizationJob = serde_json::from_str(&format!(
            r#"{{"id":"j","status":{{"lastExecution":{{"timeBegan":"2026-01-01T00:00:00Z","timeEnded":"2026-01-01T00:01:00Z","state":"Succeeded"}},
                "progress":[{{"completedUnits":3,"totalUnits":10,"units":"Objects","progressObservationDateTime":"{observed}"}}]}}}}"#
        ))
        .unwrap();
        let cycle = observe(Some(&job), trigger, Instant::now());
        assert_eq!(cycle.state, CycleState::Running);
        assert!(shows_cycle_since(&job, trigger));
    }
}
