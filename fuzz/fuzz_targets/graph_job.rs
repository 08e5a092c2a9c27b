//! Graph's answers: bytes -> `SynchronizationJob` (and a page of them), then the health
//! judgement and the restart-storm guard on whatever parsed. Never panics, whatever the
//! nulls, unknown fields, odd counts or odd timestamps.
#![no_main]

use std::time::Duration;

use entra_idc_sync::{Action, Page, SynchronizationJob, TriggerGuard, judge, parse_time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Page<SynchronizationJob>>(data);
    let Ok(job) = serde_json::from_slice::<SynchronizationJob>(data) else {
        return;
    };
    let Some(now) = parse_time("2026-11-28T10:00:00Z") else {
        return;
    };
    let _ = judge(&job, now);
    let guard = TriggerGuard::new(Duration::from_secs(600));
    for action in [Action::Restart, Action::Start, Action::Status] {
        let _ = guard.check(action, &job, now);
    }
    guard.record(&job.id);
    let _ = guard.check(Action::Restart, &job, now);
});
