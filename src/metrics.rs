//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: one line per job, so alarms
//! can watch quarantine and failed cycles without any API call from the function.
//!
//! Namespace `EntraIdcSync`, dimension `FunctionName`. Metrics (Count unless noted):
//! `Triggered`, `Skipped`, `Failed`, `Unhealthy`, `Quarantined`, and after a waited cycle
//! `CycleFailed`, `CycleDuration` (Seconds), `Exported`, `Escrowed`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::report::{JobReport, JobResult};

pub const NAMESPACE: &str = "EntraIdcSync";

/// The EMF document for one job.
pub fn job_metrics(function_name: &str, job: &JobReport, timestamp_ms: u64) -> Value {
    let flag = |on: bool| if on { 1 } else { 0 };
    let mut values: Vec<(&str, &str, Value)> = vec![
        (
            "Triggered",
            "Count",
            json!(flag(job.result == JobResult::Triggered)),
        ),
        (
            "Skipped",
            "Count",
            json!(flag(job.result == JobResult::Skipped)),
        ),
        (
            "Failed",
            "Count",
            json!(flag(job.result == JobResult::Failed)),
        ),
        ("Unhealthy", "Count", json!(flag(!job.state.health.healthy))),
        (
            "Quarantined",
            "Count",
            json!(flag(job.state.health.quarantined)),
        ),
    ];
    if let Some(cycle) = &job.cycle {
        values.push(("CycleFailed", "Count", json!(flag(cycle.failed()))));
        if let Some(seconds) = cycle.duration_seconds {
            values.push(("CycleDuration", "Seconds", json!(seconds)));
        }
        if let Some(execution) = &cycle.execution {
            values.push((
                "Exported",
                "Count",
                json!(execution.count_exported.unwrap_or(0)),
            ));
            values.push((
                "Escrowed",
                "Count",
                json!(execution.count_escrowed.unwrap_or(0)),
            ));
        }
    }
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": definitions,
            }]
        }),
    );
    document.insert("FunctionName".into(), json!(function_name));
    document.insert("JobId".into(), json!(job.job_id));
    document.insert("ServicePrincipalId".into(), json!(job.service_principal_id));
    for (name, _, value) in values {
        document.insert(name.into(), value);
    }
    Value::Object(document)
}

/// Writes one EMF line per job to stdout, where CloudWatch Logs extracts the metrics.
pub fn emit(jobs: &[JobReport]) {
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut stdout = std::io::stdout().lock();
    for job in jobs {
        // A failed write to stdout has nowhere better to be reported.
        let _ = writeln!(stdout, "{}", job_metrics(&function_name, job, now_ms));
    }
}
