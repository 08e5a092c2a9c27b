//! The restart-storm guard: Microsoft warns that starting or restarting a job while a cycle
//! runs can harm the service, so a frequent schedule must not turn into a storm of restarts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::domain::Action;
use crate::graph::model::SynchronizationJob;

pub struct TriggerGuard {
    min_interval: Duration,
    /// Triggers this execution environment made, so a retried invocation does not repeat
    /// one before Graph shows the new cycle.
    recent: Mutex<HashMap<String, Instant>>,
}

impl TriggerGuard {
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Why `action` must not be sent to `job` now, or `None` when it may.
    pub fn check(
        &self,
        action: Action,
        job: &SynchronizationJob,
        now: OffsetDateTime,
    ) -> Option<String> {
        self.check_with_last_trigger(action, job, now, None)
    }

    /// [`Self::check`], also counting `last_trigger`: the job's last trigger recorded in the
    /// state table by any execution environment, so the guard holds across cold starts.
    pub fn check_with_last_trigger(
        &self,
        action: Action,
        job: &SynchronizationJob,
        now: OffsetDateTime,
        last_trigger: Option<OffsetDateTime>,
    ) -> Option<String> {
        let ours = self
            .recent
            .lock()
            .ok()
            .and_then(|recent| recent.get(&job.id).map(Instant::elapsed));
        // A time ahead of ours (clock skew between environments) counts as just now.
        let recorded = last_trigger.map(|at| Duration::try_from(now - at).unwrap_or_default());
        let latest = match (ours, recorded) {
            (Some(ours), Some(recorded)) => Some(ours.min(recorded)),
            (ours, recorded) => ours.or(recorded),
        };
        refusal(action, job, now, self.min_interval, latest)
    }

    pub fn record(&self, job_id: &str) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.insert(job_id.to_string(), Instant::now());
        }
    }
}

fn refusal(
    action: Action,
    job: &SynchronizationJob,
    now: OffsetDateTime,
    min_interval: Duration,
    since_our_trigger: Option<Duration>,
) -> Option<String> {
    let status = job.status.clone().unwrap_or_default();
    let code = status.code.as_deref().unwrap_or("unknown");
    if action == Action::Start && !job.is_paused() && !job.is_quarantined() {
        return Some(format!(
            "start is only for a paused or quarantined job (Microsoft: do not call start while the job runs on its schedule) and this job is {code}; use restart, or send \"force\": true"
        ));
    }
    if let Some(step) = job.running_progress(now) {
        let (done, total) = (
            step.completed_units.unwrap_or_default(),
            step.total_units.unwrap_or_default(),
        );
        return Some(format!(
            "a provisioning cycle is in progress ({done} of {total} units done); triggering now could harm it. It was left alone; send \"force\": true to override"
        ));
    }
    let last = status.last_execution.unwrap_or_default();
    let interval = format!("{}s (MIN_TRIGGER_INTERVAL)", min_interval.as_secs());
    if let Some(began) = last.began() {
        // Not `timeEnded == null` alone: Microsoft's schema makes it non-nullable, so a
        // running cycle may show the placeholder or the previous cycle's end instead.
        if last.is_running() {
            return Some(format!(
                "a provisioning cycle is in progress (began {began}); triggering now could harm it. It was left alone; send \"force\": true to override"
            ));
        }
        let age = now - began;
        if age < min_interval {
            return Some(format!(
                "the last cycle began {}s ago ({began}), less than {interval}; it was left alone to avoid a restart storm",
                age.whole_seconds().max(0)
            ));
        }
    }
    match since_our_trigger {
        Some(elapsed) if elapsed < min_interval => Some(format!(
            "this function triggered the job {}s ago, less than {interval}; it was left alone to avoid a restart storm",
            elapsed.as_secs()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::parse_time;

    const MINUTE: Duration = Duration::from_secs(60);

    fn job(code: &str, began: &str, ended: Option<&str>) -> SynchronizationJob {
        let ended = ended.map_or("null".into(), |t| format!("\"{t}\""));
        serde_json::from_str(&format!(
            r#"{{"id":"j","status":{{"code":"{code}","lastExecution":{{"timeBegan":"{began}","timeEnded":{ended}}}}}}}"#
        ))
        .unwrap()
    }

    fn now() -> OffsetDateTime {
        parse_time("2026-11-28T10:00:00Z").unwrap()
    }

    #[test]
    fn an_old_finished_cycle_may_be_restarted() {
        let job = job(
            "Active",
            "2026-11-28T09:00:00Z",
            Some("2026-11-28T09:05:00Z"),
        );
        assert_eq!(
            refusal(Action::Restart, &job, now(), 10 * MINUTE, None),
            None
        );
    }

    #[test]
    fn a_running_or_recent_cycle_is_left_alone() {
        let running = job("Active", "2026-11-28T09:00:00Z", None);
        let reason = refusal(Action::Restart, &running, now(), 10 * MINUTE, None).unwrap();
        assert!(reason.contains("in progress"), "{reason}");
        let recent = job(
            "Active",
            "2026-11-28T09:55:00Z",
            Some("2026-11-28T09:56:00Z"),
        );
        let reason = refusal(Action::Restart, &recent, now(), 10 * MINUTE, None).unwrap();
        assert!(
            reason.contains("300s ago") && reason.contains("MIN_TRIGGER_INTERVAL"),
            "{reason}"
        );
    }

    #[test]
    fn a_running_cycle_is_seen_without_a_null_end() {
        for ended in ["0001-01-01T00:00:00Z", "", "2026-11-28T08:00:00Z"] {
            let running = job("Active", "2026-11-28T09:30:00Z", Some(ended));
            let reason = refusal(Action::Restart, &running, now(), MINUTE, None)
                .unwrap_or_else(|| panic!("{ended:?} was not seen running"));
            assert!(reason.contains("in progress"), "{reason}");
        }
    }

    #[test]
    fn placeholder_times_are_no_cycle() {
        let never = job(
            "NotRun",
            "0001-01-01T00:00:00Z",
            Some("0001-01-01T00:00:00Z"),
        );
        assert_eq!(
            refusal(Action::Restart, &never, now(), 10 * MINUTE, None),
            None
        );
    }

    #[test]
    fn progress_of_a_running_cycle_counts_as_in_progress() {
        let mut job = job(
            "Active",
            "2026-11-28T09:00:00Z",
            Some("2026-11-28T09:05:00Z"),
        );
        status_of(&mut job).progress = serde_json::from_str(
            r#"[{"completedUnits":40,"totalUnits":100,"units":"Objects","progressObservationDateTime":"2026-11-28T09:58:00Z"}]"#,
        )
        .unwrap();
        let reason = refusal(Action::Restart, &job, now(), 10 * MINUTE, None).unwrap();
        assert!(reason.contains("40 of 100"), "{reason}");
        status_of(&mut job).progress[0].progress_observation_date_time =
            Some("2026-11-27T09:00:00Z".into());
        assert_eq!(
            refusal(Action::Restart, &job, now(), 10 * MINUTE, None),
            None,
            "stale progress"
        );
    }

    fn status_of(job: &mut SynchronizationJob) -> &mut crate::graph::model::SynchronizationStatus {
        job.status.as_mut().unwrap()
    }

    #[test]
    fn our_own_recent_trigger_counts_even_before_graph_shows_it() {
        let job = job(
            "Active",
            "2026-11-28T09:00:00Z",
            Some("2026-11-28T09:05:00Z"),
        );
        assert!(refusal(Action::Restart, &job, now(), 10 * MINUTE, Some(MINUTE)).is_some());
        assert!(refusal(Action::Restart, &job, now(), 10 * MINUTE, Some(11 * MINUTE)).is_none());
    }

    #[test]
    fn a_trigger_recorded_by_another_environment_counts() {
        let guard = TriggerGuard::new(10 * MINUTE);
        let job = job(
            "Active",
            "2026-11-28T09:00:00Z",
            Some("2026-11-28T09:05:00Z"),
        );
        let recorded = |minutes_ago: i64| Some(now() - time::Duration::minutes(minutes_ago));
        let reason = guard
            .check_with_last_trigger(Action::Restart, &job, now(), recorded(3))
            .unwrap();
        assert!(reason.contains("180s ago"), "{reason}");
        assert!(
            guard
                .check_with_last_trigger(Action::Restart, &job, now(), recorded(-1))
                .is_some(),
            "a recorded time ahead of our clock counts as just now"
        );
        assert_eq!(
            guard.check_with_last_trigger(Action::Restart, &job, now(), recorded(11)),
            None
        );
        guard.record("j");
        assert!(
            guard
                .check_with_last_trigger(Action::Restart, &job, now(), recorded(11))
                .is_some(),
            "this environment's own, newer trigger still counts"
        );
    }

    #[test]
    fn start_is_only_for_paused_or_quarantined_jobs() {
        let active = job(
            "Active",
            "2026-11-28T09:00:00Z",
            Some("2026-11-28T09:05:00Z"),
        );
        assert!(
            refusal(Action::Start, &active, now(), MINUTE, None)
                .unwrap()
                .contains("paused or quarantined")
        );
        let paused = job(
            "Paused",
            "2026-11-28T09:00:00Z",
            Some("2026-11-28T09:05:00Z"),
        );
        assert_eq!(refusal(Action::Start, &paused, now(), MINUTE, None), None);
    }
}
