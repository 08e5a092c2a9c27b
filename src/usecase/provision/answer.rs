//! Reading provision on demand's answer: a `stringKeyStringValuePair` whose `key` is a JSON
//! string `{"result": "Success|Skipped|Failure", "details": {"errorCode", "errorMessage"}}` and
//! whose `value` is a JSON string holding the step log. Both are read defensively: a shape we do
//! not know becomes a reported failure, never a crash.

use serde::Serialize;
use serde_json::Value;

/// What provision on demand did with one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectResult {
    /// `Success`: the object was exported to IAM Identity Center.
    Provisioned,
    /// `Skipped`: nothing to do (for example `RedundantExport`); counts as done.
    Skipped,
    /// `Failure`, an answer we could not read, or a call that failed.
    Failed,
    /// Dry run: the call that would have been made.
    WouldProvision,
}

impl ObjectResult {
    /// Whether the change this result covers may be forgotten (state may advance past it).
    pub fn is_done(self) -> bool {
        matches!(self, Self::Provisioned | Self::Skipped)
    }
}

/// The parsed answer: the result, Graph's error details and a one-line digest of the step log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub result: ObjectResult,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Code reported when the answer's shape is not the documented one.
pub const UNREADABLE: &str = "UnreadableProvisionOnDemandAnswer";

/// Reads the whole response body of a provisionOnDemand call.
pub fn read(body: &Value) -> Answer {
    let Some(key) = body.get("key").and_then(embedded_json) else {
        return unreadable("it has no readable `key`", body);
    };
    let result = key
        .get("result")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    let details = key.get("details").cloned().unwrap_or(Value::Null);
    let step_log = body.get("value").and_then(embedded_json);
    let error_code = text(&details, "errorCode").or_else(|| step_log_code(step_log.as_ref()));
    let error_message =
        text(&details, "errorMessage").or_else(|| step_log_reason(step_log.as_ref()));
    let result = match result.to_ascii_lowercase().as_str() {
        "success" => ObjectResult::Provisioned,
        "skipped" => ObjectResult::Skipped,
        "failure" | "failed" => ObjectResult::Failed,
        _ => return unreadable(&format!("its result is {result:?}"), body),
    };
    Answer {
        result,
        error_code,
        error_message,
    }
}

/// `key` and `value` are documented as JSON held in strings; an object is accepted as itself.
fn embedded_json(field: &Value) -> Option<Value> {
    match field {
        Value::String(text) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object),
        Value::Object(_) => Some(field.clone()),
        _ => None,
    }
}

fn text(object: &Value, field: &str) -> Option<String> {
    object
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

/// The step log's `statusInfo.errorCode` (the provisioning-logs API says
/// `provisioningStatusInfo.errorInformation.errorCode`).
fn step_log_code(log: Option<&Value>) -> Option<String> {
    let log = log?;
    log.get("statusInfo")
        .and_then(|info| text(info, "errorCode"))
        .or_else(|| {
            log.pointer("/provisioningStatusInfo/errorInformation")
                .and_then(|info| text(info, "errorCode"))
        })
}

/// The step log's `statusInfo.reason`, else the first failed step's description.
fn step_log_reason(log: Option<&Value>) -> Option<String> {
    let log = log?;
    if let Some(reason) = log.get("statusInfo").and_then(|info| text(info, "reason")) {
        return Some(reason);
    }
    log.get("provisioningSteps")?
        .as_array()?
        .iter()
        .find(|step| {
            step.get("status")
                .and_then(Value::as_str)
                .is_some_and(|status| status.eq_ignore_ascii_case("failure"))
        })
        .and_then(|step| text(step, "description"))
}

fn unreadable(why: &str, body: &Value) -> Answer {
    let mut shown = body.to_string();
    if shown.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|at| shown.is_char_boundary(*at))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    Answer {
        result: ObjectResult::Failed,
        error_code: Some(UNREADABLE.into()),
        error_message: Some(format!(
            "Graph's provisionOnDemand answer could not be read ({why}); the change will be tried \
             again next run. Answer: {shown}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_skipped_answer_reads_as_skipped_with_its_code() {
        let body = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair",
            "key": "{\"result\":\"Skipped\",\"details\":{\"errorCode\":\"RedundantExport\",\"errorMessage\":\"The state of the user in both the source and target systems already match.\"}}",
            "value": "{\"action\":\"Other\",\"provisioningSteps\":[],\"statusInfo\":{\"status\":\"Skipped\",\"errorCode\":null}}"
        });
        let answer = read(&body);
        assert_eq!(answer.result, ObjectResult::Skipped);
        assert_eq!(answer.error_code.as_deref(), Some("RedundantExport"));
        assert!(answer.error_message.unwrap().contains("already match"));
    }

    #[test]
    fn group_success_with_empty_details_and_log() {
        let body = json!({"key": "{\"result\":\"Success\",\"details\":{}}", "value": "{}"});
        assert_eq!(
            read(&body),
            Answer {
                result: ObjectResult::Provisioned,
                error_code: None,
                error_message: None
            }
        );
    }

    #[test]
    fn failure_takes_its_code_from_the_step_log_when_details_are_empty() {
        let log = json!({"statusInfo": {"status": "Failure", "errorCode": "EntryConflict", "reason": null},
                         "provisioningSteps": [{"status": "Failure", "description": "duplicate userName"}]});
        let body =
            json!({"key": "{\"result\":\"Failure\",\"details\":{}}", "value": log.to_string()});
        let answer = read(&body);
        assert_eq!(answer.result, ObjectResult::Failed);
        assert_eq!(answer.error_code.as_deref(), Some("EntryConflict"));
        assert_eq!(answer.error_message.as_deref(), Some("duplicate userName"));
    }

    #[test]
    fn unknown_shapes_are_failures_that_say_why() {
        for body in [
            json!({}),
            json!({"key": "not json"}),
            json!({"key": 7}),
            json!({"key": "{\"result\":\"Maybe\"}"}),
            json!({"key": "[1,2]", "value": null}),
            json!(null),
        ] {
            let answer = read(&body);
            assert_eq!(answer.result, ObjectResult::Failed, "{body}");
            assert_eq!(answer.error_code.as_deref(), Some(UNREADABLE));
        }
    }

    #[test]
    fn key_as_an_object_and_odd_case_are_tolerated() {
        let body = json!({"key": {"result": "success"}, "value": 3});
        assert_eq!(read(&body).result, ObjectResult::Provisioned);
    }

    #[test]
    fn a_long_unreadable_answer_is_cut_on_a_character_boundary() {
        let body = json!({"key": "ü".repeat(400)});
        let message = read(&body).error_message.unwrap();
        assert!(message.ends_with("…"), "{message}");
    }
}
