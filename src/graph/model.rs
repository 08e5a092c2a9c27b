//! Graph's JSON shapes, parsed leniently: any field may be missing or null, unknown fields
//! are ignored, and counts may come as numbers or strings.
//!
//! Graph writes "never" as `0001-01-01T00:00:00Z` (every documented job example has it) or
//! `""`: both are read as absent here, once, so no judgement downstream ever sees them. An
//! execution that never began, with no error and nothing counted, is no execution
//! (Microsoft's example of a job in its first cycle shows such a placeholder with
//! `state: "Failed"` and `error.code: "None"`).
//! Graph's free text (error messages) is redacted and capped as it is read.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::sensitive::quote_untrusted;

/// An unfinished progress report older than this belongs to a cycle that is long gone.
const PROGRESS_STALE_AFTER: time::Duration = time::Duration::hours(2);

/// Parses Graph's ISO 8601 timestamps (any number of fractional digits); the `0001-01-01`
/// placeholder for "never" is no time.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .ok()
        .filter(|time| time.year() > 1)
}

/// `""` and `0001-01-01…` (any precision or offset) stand for "never".
pub fn is_placeholder_time(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text.starts_with("0001-01-01")
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePrincipal {
    #[serde(deserialize_with = "null_as_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// One page of a Graph collection.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty_list")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct SynchronizationJob {
    #[serde(deserialize_with = "null_as_empty")]
    pub id: String,
    pub template_id: Option<String>,
    pub schedule: Option<Schedule>,
    pub status: Option<SynchronizationStatus>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Schedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct SynchronizationStatus {
    pub code: Option<String>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_successive_complete_failures: Option<i64>,
    #[serde(deserialize_with = "execution")]
    pub last_execution: Option<TaskExecution>,
    #[serde(deserialize_with = "execution")]
    pub last_successful_execution: Option<TaskExecution>,
    pub quarantine: Option<Quarantine>,
    #[serde(deserialize_with = "graph_time")]
    pub steady_state_last_achieved_time: Option<String>,
    pub troubleshooting_url: Option<String>,
    #[serde(deserialize_with = "null_as_empty_list", skip_serializing)]
    pub progress: Vec<Progress>,
}

/// How far the running cycle has got (`synchronizationProgress`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Progress {
    #[serde(deserialize_with = "lenient_count")]
    pub completed_units: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub total_units: Option<i64>,
    #[serde(deserialize_with = "graph_time")]
    pub progress_observation_date_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskExecution {
    pub state: Option<String>,
    #[serde(deserialize_with = "graph_time")]
    pub time_began: Option<String>,
    #[serde(deserialize_with = "graph_time")]
    pub time_ended: Option<String>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_entitled: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_imported: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_exported: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_escrowed: Option<i64>,
    #[serde(deserialize_with = "execution_error")]
    pub error: Option<ExecutionError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ExecutionError {
    #[serde(deserialize_with = "untrusted_text")]
    pub code: Option<String>,
    #[serde(deserialize_with = "untrusted_text")]
    pub message: Option<String>,
    pub tenant_actionable: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Quarantine {
    #[serde(deserialize_with = "untrusted_text")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "graph_time")]
    pub current_began: Option<String>,
    #[serde(deserialize_with = "graph_time")]
    pub next_attempt: Option<String>,
    #[serde(deserialize_with = "graph_time")]
    pub series_began: Option<String>,
    #[serde(deserialize_with = "lenient_count")]
    pub series_count: Option<i64>,
    #[serde(deserialize_with = "execution_error")]
    pub error: Option<ExecutionError>,
}

impl SynchronizationJob {
    pub fn status_code(&self) -> Option<&str> {
        self.status.as_ref()?.code.as_deref()
    }

    /// Paused by status or by schedule.
    pub fn is_paused(&self) -> bool {
        self.status_code() == Some("Paused")
            || self.schedule.as_ref().and_then(|s| s.state.as_deref()) == Some("Paused")
    }

    /// In quarantine by status code or by a quarantine record.
    pub fn is_quarantined(&self) -> bool {
        self.status_code() == Some("Quarantine")
            || self.status.as_ref().is_some_and(|s| s.quarantine.is_some())
    }

    pub fn last_execution(&self) -> Option<&TaskExecution> {
        self.status.as_ref()?.last_execution.as_ref()
    }

    /// A progress report of an unfinished cycle, observed recently enough (or at an unknown
    /// time) to still be running.
    pub fn running_progress(&self, now: OffsetDateTime) -> Option<&Progress> {
        self.status.as_ref()?.progress.iter().find(|step| {
            let unfinished = matches!(
                (step.completed_units, step.total_units),
                (Some(done), Some(total)) if done < total
            );
            unfinished
                && step
                    .observed()
                    .is_none_or(|at| now - at < PROGRESS_STALE_AFTER)
        })
    }
}

impl Progress {
    pub fn observed(&self) -> Option<OffsetDateTime> {
        self.progress_observation_date_time
            .as_deref()
            .and_then(parse_time)
    }
}

impl TaskExecution {
    pub fn began(&self) -> Option<OffsetDateTime> {
        self.time_began.as_deref().and_then(parse_time)
    }

    /// The end of this execution; an end before the begin is the previous cycle's (Microsoft's
    /// schema makes `timeEnded` non-nullable, so a running cycle cannot say null).
    pub fn ended(&self) -> Option<OffsetDateTime> {
        let ended = self.time_ended.as_deref().and_then(parse_time)?;
        self.began()
            .is_none_or(|began| ended >= began)
            .then_some(ended)
    }

    /// Began and has not ended.
    pub fn is_running(&self) -> bool {
        self.began().is_some() && self.ended().is_none()
    }

    /// How long it ran, once it ended; never negative.
    pub fn duration_seconds(&self) -> Option<f64> {
        Some((self.ended()? - self.began()?).as_seconds_f64().max(0.0))
    }
}

/// An id Graph sent as null reads as empty (such entries are dropped by the caller).
fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

pub(crate) fn null_as_empty_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A timestamp; the placeholder for "never" reads as absent.
fn graph_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(lenient_text(deserializer)?.filter(|text| !is_placeholder_time(text)))
}

/// An execution; one with no begin time, no error and nothing counted is Graph's
/// placeholder (whatever its `state` says), not an execution.
fn execution<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TaskExecution>, D::Error> {
    let execution = Option::<TaskExecution>::deserialize(deserializer)?;
    Ok(execution.filter(|execution| {
        let counted = [
            execution.count_entitled,
            execution.count_imported,
            execution.count_exported,
            execution.count_escrowed,
        ]
        .iter()
        .any(|count| count.is_some_and(|n| n > 0));
        execution.time_began.is_some() || execution.error.is_some() || counted
    }))
}

/// An error record; `{"code": "None", "message": ""}` is Graph's way of saying there is none.
fn execution_error<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ExecutionError>, D::Error> {
    let error = Option::<ExecutionError>::deserialize(deserializer)?;
    Ok(error.filter(|error| {
        let no_code = matches!(error.code.as_deref(), None | Some("None"));
        let no_message = error.message.as_deref().is_none_or(str::is_empty);
        !(no_code && no_message)
    }))
}

/// Graph's free text, redacted and capped before anything quotes it.
fn untrusted_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(lenient_text(deserializer)?.map(|text| quote_untrusted(&text)))
}

/// A string, or null/anything else as absent.
fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

/// Int64 counts: a number, a numeric string, or anything else as "unknown".
fn lenient_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_unknowns_and_string_counts_are_tolerated() {
        let job: SynchronizationJob = serde_json::from_str(
            r#"{"id":"AWSSCIM.abc.def","templateId":null,"surprise":{"x":[1]},
                "schedule":null,
                "status":{"code":"Active","countSuccessiveCompleteFailures":"3",
                  "lastExecution":{"state":"Succeeded","countExported":"12","countEscrowed":null,
                    "countImported":1.5,"timeBegan":"2026-11-28T09:00:00Z"},
                  "quarantine":null,"progress":[]}}"#,
        )
        .unwrap();
        assert_eq!(job.status_code(), Some("Active"));
        let status = job.status.as_ref().unwrap();
        assert_eq!(status.count_successive_complete_failures, Some(3));
        let last = job.last_execution().unwrap();
        assert_eq!(last.count_exported, Some(12));
        assert_eq!(last.count_escrowed, None);
        assert_eq!(last.count_imported, None);
    }
}
