//! Graph's answers: `SynchronizationJob`, `ServicePrincipal` and their pages, then the health
//! judgement and the restart-storm guard on whatever parsed.

use std::time::Duration;

use entra_idc_sync::{
    Action, Page, ServicePrincipal, SynchronizationJob, TaskExecution, TriggerGuard,
    is_placeholder_time, judge,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::common::{arb_json, arb_text, config};

/// A count field's wire value and what it must read as.
fn arb_count() -> BoxedStrategy<(Value, Option<i64>)> {
    prop_oneof![
        any::<i64>().prop_map(|n| (json!(n), Some(n))),
        (any::<i64>(), "[ \t]{0,2}", "[ \t]{0,2}")
            .prop_map(|(n, before, after)| (json!(format!("{before}{n}{after}")), Some(n))),
        Just((Value::Null, None)),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(|n| (json!(n), None)),
        prop::sample::select(vec![
            json!(1.5),
            json!(-0.25),
            json!("3.0"),
            json!("many"),
            json!(""),
            json!(true),
            json!([1]),
            json!({"value": 1}),
        ])
        .prop_map(|value| (value, None)),
    ]
    .boxed()
}

/// Times as Graph sends them, at the edges of what RFC 3339 allows, or not times at all.
fn arb_time() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        prop::sample::select(vec![
            "2026-11-28T09:00:00Z",
            "2026-11-28T10:00:31.5Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "9999-12-31T23:59:59-23:59",
            "0000-01-01T00:00:00+23:59",
            "0001-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "yesterday",
            "",
        ])
        .prop_map(Value::from),
        arb_text().prop_map(Value::String),
    ]
    .boxed()
}

fn arb_opt_text(values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        prop::sample::select(values.to_vec()).prop_map(Value::from),
        arb_text().prop_map(Value::String),
    ]
}

/// Unknown fields Graph may add at any level.
fn arb_unknown_fields() -> BoxedStrategy<Map<String, Value>> {
    prop::collection::btree_map("(zz|@odata\\.)[a-zA-Z]{1,8}", arb_json(), 0..3)
        .prop_map(|map| map.into_iter().collect())
        .boxed()
}

fn with_unknowns(value: Value, unknown: Map<String, Value>) -> Value {
    let Value::Object(mut fields) = value else {
        return value;
    };
    for (key, extra) in unknown {
        fields.entry(key).or_insert(extra);
    }
    Value::Object(fields)
}

fn arb_execution_error() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        (
            arb_opt_text(&["SystemForCrossDomainIdentityManagementCredentialValidationFailure"]),
            arb_opt_text(&["The SCIM token expired"]),
            prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool)],
        )
            .prop_map(|(code, message, actionable)| json!({
                "code": code, "message": message, "tenantActionable": actionable
            })),
    ]
    .boxed()
}

/// A task execution and the counts it must read as (entitled, imported, exported, escrowed).
fn arb_execution() -> BoxedStrategy<(Value, Option<[Option<i64>; 4]>)> {
    prop_oneof![
        1 => Just((Value::Null, None)),
        4 => (
            arb_opt_text(&["Succeeded", "Failed", "EntryLevelErrors"]),
            arb_time(),
            arb_time(),
            [arb_count(), arb_count(), arb_count(), arb_count()],
            arb_execution_error(),
            arb_unknown_fields(),
        )
            .prop_map(|(state, began, ended, counts, error, unknown)| {
                let value = json!({
                    "state": state, "timeBegan": began, "timeEnded": ended,
                    "countEntitled": counts[0].0, "countImported": counts[1].0,
                    "countExported": counts[2].0, "countEscrowed": counts[3].0,
                    "error": error, "activityIdentifier": null,
                });
                let expected = [counts[0].1, counts[1].1, counts[2].1, counts[3].1];
                // Graph's placeholder for "no execution" (no begin time, no error, nothing
                // counted) reads as no execution at all.
                let began = began.as_str().is_some_and(|text| !is_placeholder_time(text));
                let errored = error.is_object() && {
                    let code = error["code"].as_str();
                    let message = error["message"].as_str().unwrap_or_default();
                    !(matches!(code, None | Some("None")) && message.is_empty())
                };
                let counted = expected.iter().any(|count| count.is_some_and(|n| n > 0));
                let expected = (began || errored || counted).then_some(expected);
                (with_unknowns(value, unknown), expected)
            }),
    ]
    .boxed()
}

#[derive(Debug)]
struct ExpectedJob {
    failures: Option<i64>,
    last: Option<[Option<i64>; 4]>,
    series: Option<Option<i64>>,
}

fn arb_job() -> BoxedStrategy<(Value, ExpectedJob)> {
    let quarantine = prop_oneof![
        1 => Just((Value::Null, None)),
        1 => (
            arb_opt_text(&["EncounteredBaseEscrowThreshold", "TooManyDeletes", "Unknown"]),
            arb_time(),
            arb_time(),
            arb_count(),
            arb_execution_error(),
        )
            .prop_map(|(reason, began, next, count, error)| (
                json!({
                    "reason": reason, "currentBegan": began, "nextAttempt": next,
                    "seriesBegan": began, "seriesCount": count.0, "error": error,
                }),
                Some(count.1),
            )),
    ];
    let schedule = prop_oneof![
        Just(Value::Null),
        (
            arb_opt_text(&["Active", "Disabled", "Paused"]),
            arb_opt_text(&["PT40M"])
        )
            .prop_map(|(state, interval)| json!({"state": state, "interval": interval})),
    ];
    let status = (
        arb_opt_text(&["NotConfigured", "NotRun", "Active", "Paused", "Quarantine"]),
        arb_count(),
        arb_execution(),
        arb_execution(),
        quarantine,
        arb_time(),
        arb_unknown_fields(),
    );
    (
        "[A-Za-z0-9.]{1,40}",
        arb_opt_text(&["AWSSCIM"]),
        schedule,
        status,
        arb_unknown_fields(),
    )
        .prop_map(|(id, template, schedule, status, unknown)| {
            let (code, failures, last, last_ok, quarantine, steady, status_unknown) = status;
            let status = with_unknowns(
                json!({
                    "code": code,
                    "countSuccessiveCompleteFailures": failures.0,
                    "lastExecution": last.0,
                    "lastSuccessfulExecution": last_ok.0,
                    "quarantine": quarantine.0,
                    "steadyStateLastAchievedTime": steady,
                    "troubleshootingUrl": null,
                    "progress": [],
                    "synchronizedEntryCountByType": [{"key": "user", "value": "12"}],
                }),
                status_unknown,
            );
            let job = with_unknowns(
                json!({
                    "id": id, "templateId": template, "schedule": schedule, "status": status,
                    "synchronizationJobSettings": null,
                }),
                unknown,
            );
            let expected = ExpectedJob {
                failures: failures.1,
                last: last.1,
                series: quarantine.1,
            };
            (job, expected)
        })
        .boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_json_from_graph_parses_or_fails_without_panicking(value in arb_json()) {
        let _ = serde_json::from_value::<SynchronizationJob>(value.clone());
        let _ = serde_json::from_value::<Page<SynchronizationJob>>(value.clone());
        let _ = serde_json::from_value::<ServicePrincipal>(value.clone());
        let _ = serde_json::from_value::<Page<ServicePrincipal>>(value.clone());
        let text = value.to_string();
        let _ = serde_json::from_str::<Page<SynchronizationJob>>(&text);
    }

    #[test]
    fn any_bytes_from_graph_parse_or_fail_without_panicking(
        bytes in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        let _ = serde_json::from_slice::<SynchronizationJob>(&bytes);
        let _ = serde_json::from_slice::<Page<SynchronizationJob>>(&bytes);
        let _ = serde_json::from_slice::<Page<ServicePrincipal>>(&bytes);
    }

    #[test]
    fn job_shaped_answers_parse_with_nulls_unknown_fields_and_odd_counts(
        (job, expected) in arb_job()
    ) {
        let parsed: SynchronizationJob = serde_json::from_value(job.clone())
            .map_err(|error| TestCaseError::fail(format!("{job} -> {error}")))?;
        let status = parsed.status.clone().unwrap_or_default();
        prop_assert_eq!(status.count_successive_complete_failures, expected.failures, "{}", job);
        let counts = |execution: Option<&TaskExecution>| {
            execution.map(|e| [e.count_entitled, e.count_imported, e.count_exported, e.count_escrowed])
        };
        prop_assert_eq!(counts(status.last_execution.as_ref()), expected.last, "{}", job);
        prop_assert_eq!(
            status.quarantine.as_ref().map(|q| q.series_count),
            expected.series,
            "{}",
            job
        );
        // The same job inside a page, next to another, after a round trip through text.
        let page = json!({"value": [job.clone(), {}], "@odata.nextLink": null});
        let page: Page<SynchronizationJob> = serde_json::from_str(&page.to_string())
            .map_err(|error| TestCaseError::fail(format!("page of {job} -> {error}")))?;
        prop_assert_eq!(page.value.len(), 2);
        prop_assert_eq!(&page.value[0], &parsed);
    }

    #[test]
    fn health_and_the_restart_guard_judge_any_parsed_job(
        (job, _) in arb_job(),
        now in -1_000_000_000i64..253_402_300_799,
        action in prop::sample::select(vec![Action::Restart, Action::Start, Action::Status]),
        interval in prop_oneof![Just(0u64), Just(600), Just(u64::MAX)],
    ) {
        let Ok(job) = serde_json::from_value::<SynchronizationJob>(job) else {
            return Ok(());
        };
        let now = OffsetDateTime::from_unix_timestamp(now).expect("in range");
        let _ = judge(&job, now);
        let guard = TriggerGuard::new(Duration::from_secs(interval));
        let _ = guard.check(action, &job, now);
        guard.record(&job.id);
        let _ = guard.check(action, &job, now);
    }
}

/// Graph's lenient-parsing contract (src/graph/model.rs, docs: "any field may be missing or
/// null") also covers the string ids and the collection's `value`: a null id must fail
/// neither the job nor the page it is in.
#[test]
fn null_ids_and_null_collections_are_tolerated() {
    for job in [json!({"id": null}), json!({"id": null, "status": null})] {
        assert!(
            serde_json::from_value::<SynchronizationJob>(job.clone()).is_ok(),
            "{job}"
        );
    }
    assert!(serde_json::from_value::<ServicePrincipal>(json!({"id": null})).is_ok());
    assert!(serde_json::from_value::<Page<ServicePrincipal>>(json!({"value": null})).is_ok());
}
