//! Graph's JSON shapes, parsed leniently: any field may be missing or null, unknown fields
//! are ignored, and counts may come as numbers or strings.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses Graph's ISO 8601 timestamps (any number of fractional digits).
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
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
    pub last_execution: Option<TaskExecution>,
    pub last_successful_execution: Option<TaskExecution>,
    pub quarantine: Option<Quarantine>,
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
    pub progress_observation_date_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskExecution {
    pub state: Option<String>,
    pub time_began: Option<String>,
    pub time_ended: Option<String>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_entitled: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_imported: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_exported: Option<i64>,
    #[serde(deserialize_with = "lenient_count")]
    pub count_escrowed: Option<i64>,
    pub error: Option<ExecutionError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ExecutionError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub tenant_actionable: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Quarantine {
    pub reason: Option<String>,
    pub current_began: Option<String>,
    pub next_attempt: Option<String>,
    pub series_began: Option<String>,
    #[serde(deserialize_with = "lenient_count")]
    pub series_count: Option<i64>,
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
}

/// An id Graph sent as null reads as empty (such entries are dropped by the caller).
fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

pub(super) fn null_as_empty_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
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
