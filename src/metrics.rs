//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: one line per job and one per
//! successful run, so alarms can watch quarantine, failed cycles and missed runs without any
//! API call from the function.
//!
//! Namespace `EntraIdcSync`, dimension `FunctionName`. Metrics (Count unless noted):
//! `Triggered`, `Skipped`, `Failed`, `Unhealthy`, `Quarantined`, and after a waited cycle
//! `CycleFailed`, `CycleDuration` (Seconds), `Exported`, `Escrowed`; `SuccessfulRuns` (1 on
//! every successful invocation: the heartbeat the missed-runs alarm watches). A provision run
//! writes one line with `ChangesDetected`, `Provisioned`, `ProvisionSkipped`, `ProvisionFailed`.
//! A check run writes one with `ChecksFailed` and, when it could read it, `ClientSecretDaysLeft`
//! (days left on the credential the function signs in with, negative once expired).
//!
//! Outside Lambda (the command line) no CloudWatch reads the lines: none is written, so stdout
//! carries only the report.
//!
//! Lambda's log-level filtering: with JSON logs and an application log level, Lambda drops
//! every line below that level, and reads a line without a valid `level`, or without a valid
//! RFC 3339 `timestamp`, as INFO. A metric line without them would vanish at WARN, ERROR and
//! FATAL, and the alarms with it. So each line carries a `timestamp` and the lowest `level` the
//! filter keeps: INFO, or the configured level when that is quieter.

use std::io::Write;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::report::{JobReport, JobResult};
use crate::usecase::provision::answer::ObjectResult;
use crate::usecase::provision::report::ProvisionReport;

pub const NAMESPACE: &str = "EntraIdcSync";
/// The heartbeat metric: the template's missed-runs alarm watches it.
pub const SUCCESSFUL_RUNS: &str = "SuccessfulRuns";

/// What every metric line of one invocation shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineContext {
    pub function_name: String,
    /// The level Lambda's filter keeps (see the module doc).
    pub level: &'static str,
    pub at: OffsetDateTime,
}

impl LineContext {
    /// From the variables Lambda sets: the function name and its application log level.
    pub fn from_env(at: OffsetDateTime) -> Self {
        Self {
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                .unwrap_or_else(|_| "local".into()),
            level: surviving_level(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref()),
            at,
        }
    }
}

/// The lowest of Lambda's levels that an application log level of `configured` keeps.
pub fn surviving_level(configured: Option<&str>) -> &'static str {
    match configured
        .map(|level| level.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("WARN") => "WARN",
        Some("ERROR") => "ERROR",
        Some("FATAL") => "FATAL",
        // TRACE, DEBUG, INFO, unset or unknown: INFO is kept.
        _ => "INFO",
    }
}

type Values = Vec<(&'static str, &'static str, Value)>;

/// The EMF document for one job.
pub fn job_metrics(context: &LineContext, job: &JobReport) -> Value {
    let flag = |on: bool| json!(u8::from(on));
    let mut values: Values = vec![
        (
            "Triggered",
            "Count",
            flag(job.result == JobResult::Triggered),
        ),
        ("Skipped", "Count", flag(job.result == JobResult::Skipped)),
        ("Failed", "Count", flag(job.result == JobResult::Failed)),
        ("Unhealthy", "Count", flag(!job.state.health.healthy)),
        ("Quarantined", "Count", flag(job.state.health.quarantined)),
    ];
    if let Some(cycle) = &job.cycle {
        values.push(("CycleFailed", "Count", flag(cycle.failed())));
        if let Some(seconds) = cycle.duration_seconds {
            values.push(("CycleDuration", "Seconds", json!(seconds)));
        }
        if let Some(execution) = &cycle.execution {
            let count = |value: Option<i64>| json!(value.unwrap_or(0));
            values.push(("Exported", "Count", count(execution.count_exported)));
            values.push(("Escrowed", "Count", count(execution.count_escrowed)));
        }
    }
    let mut properties = Map::new();
    properties.insert("JobId".into(), json!(job.job_id));
    properties.insert("ServicePrincipalId".into(), json!(job.service_principal_id));
    document(context, properties, values)
}

/// The EMF document of one provision run (failed runs too: `ProvisionFailed` is the point).
pub fn provision_metrics(
    context: &LineContext,
    service_principal_id: &str,
    report: &ProvisionReport,
) -> Value {
    let count = |result| json!(report.count(result));
    let values: Values = vec![
        ("ChangesDetected", "Count", json!(report.changes_detected)),
        ("Provisioned", "Count", count(ObjectResult::Provisioned)),
        ("ProvisionSkipped", "Count", count(ObjectResult::Skipped)),
        ("ProvisionFailed", "Count", count(ObjectResult::Failed)),
    ];
    let mut properties = Map::new();
    properties.insert("JobId".into(), json!(report.job_id));
    properties.insert("ServicePrincipalId".into(), json!(service_principal_id));
    document(context, properties, values)
}

/// The EMF document of a successful invocation.
pub fn run_succeeded(context: &LineContext) -> Value {
    document(
        context,
        Map::new(),
        vec![(SUCCESSFUL_RUNS, "Count", json!(1))],
    )
}

fn document(context: &LineContext, mut properties: Map<String, Value>, values: Values) -> Value {
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let millis = context.at.unix_timestamp_nanos() / 1_000_000;
    properties.insert(
        "_aws".into(),
        json!({
            "Timestamp": u64::try_from(millis).unwrap_or(0),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": definitions,
            }]
        }),
    );
    properties.insert(
        "timestamp".into(),
        json!(context.at.format(&Rfc3339).unwrap_or_default()),
    );
    properties.insert("level".into(), json!(context.level));
    properties.insert("FunctionName".into(), json!(context.function_name));
    for (name, _, value) in values {
        properties.insert(name.into(), value);
    }
    Value::Object(properties)
}

/// Writes one EMF line per job to stdout, where CloudWatch Logs extracts the metrics.
pub fn emit(jobs: &[JobReport]) {
    let context = LineContext::from_env(OffsetDateTime::now_utc());
    write_lines(jobs.iter().map(|job| job_metrics(&context, job)));
}

/// Writes the provision run's EMF line.
pub fn emit_provision(service_principal_id: &str, report: &ProvisionReport) {
    let context = LineContext::from_env(OffsetDateTime::now_utc());
    write_lines(std::iter::once(provision_metrics(
        &context,
        service_principal_id,
        report,
    )));
}

/// Writes the `SuccessfulRuns` heartbeat line; call it once per successful invocation.
pub fn emit_run_succeeded() {
    let context = LineContext::from_env(OffsetDateTime::now_utc());
    write_lines(std::iter::once(run_succeeded(&context)));
}

/// The EMF document of the check action's run-level values.
pub fn check_run(context: &LineContext, checks_failed: usize, days_left: Option<i64>) -> Value {
    let mut values: Values = vec![("ChecksFailed", "Count", json!(checks_failed))];
    if let Some(days) = days_left {
        values.push(("ClientSecretDaysLeft", "Count", json!(days)));
    }
    document(context, Map::new(), values)
}

/// Writes the check action's line: failed checks and the days left on the client secret.
pub fn emit_check_run(checks_failed: usize, days_left: Option<i64>) {
    let context = LineContext::from_env(OffsetDateTime::now_utc());
    write_lines(std::iter::once(check_run(
        &context,
        checks_failed,
        days_left,
    )));
}

fn write_lines(documents: impl Iterator<Item = Value>) {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    for document in documents {
        // A failed write to stdout has nowhere better to be reported.
        let _ = writeln!(stdout, "{document}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(level: &'static str) -> LineContext {
        LineContext {
            function_name: "fn".into(),
            level,
            at: OffsetDateTime::from_unix_timestamp_nanos(1_780_000_000_123_456_789)
                .expect("a valid time"),
        }
    }

    #[test]
    fn quiet_levels_are_kept_and_verbose_ones_become_info() {
        for (configured, expected) in [
            (None, "INFO"),
            (Some("TRACE"), "INFO"),
            (Some("debug"), "INFO"),
            (Some("INFO"), "INFO"),
            (Some("WARN"), "WARN"),
            (Some("error"), "ERROR"),
            (Some(" FATAL "), "FATAL"),
            (Some("nonsense"), "INFO"),
        ] {
            assert_eq!(surviving_level(configured), expected, "{configured:?}");
        }
    }

    #[test]
    fn provision_line_counts_the_objects_by_result() {
        use crate::usecase::provision::report::{Mode, RunResult};
        let mut report = ProvisionReport::new("job", Mode::Changes, RunResult::Provisioned);
        report.changes_detected = 7;
        let line = provision_metrics(&context("INFO"), "sp", &report);
        assert_eq!(line["ChangesDetected"], 7);
        assert_eq!(line["Provisioned"], 0);
        assert_eq!(line["JobId"], "job");
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|metric| metric["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "ChangesDetected",
                "Provisioned",
                "ProvisionSkipped",
                "ProvisionFailed"
            ]
        );
    }

    #[test]
    fn check_line_carries_the_days_left_only_when_known() {
        let line = check_run(&context("INFO"), 2, Some(10));
        assert_eq!(line["ChecksFailed"], 2);
        assert_eq!(line["ClientSecretDaysLeft"], 10);
        let names = &line["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        assert_eq!(names[1]["Name"], "ClientSecretDaysLeft");
        let line = check_run(&context("INFO"), 0, None);
        assert!(line.get("ClientSecretDaysLeft").is_none());
    }

    #[test]
    fn heartbeat_line_has_what_emf_and_the_level_filter_need() {
        let line = run_succeeded(&context("ERROR"));
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["timestamp"], "2026-05-28T20:26:40.123456789Z");
        assert_eq!(line["_aws"]["Timestamp"], 1_780_000_000_123_u64);
        assert_eq!(line[SUCCESSFUL_RUNS], 1);
        assert_eq!(line["FunctionName"], "fn");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": SUCCESSFUL_RUNS, "Unit": "Count"}])
        );
    }
}
