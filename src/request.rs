//! The invocation payload -> a [`SyncRequest`].
//!
//! Accepted: an EventBridge scheduled-event envelope (its non-empty `detail` is the request),
//! whatever JSON an EventBridge Scheduler target passes, a manual request object, `{}` or
//! `null`. Anything doubtful fails here, before a single call to Entra or Graph.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::domain::{Action, MAX_WAIT_LIMIT, ResetScope, Target};

/// Every field a request may have, as the caller spells it. [`RawRequest`] is the same list
/// as a struct (serde needs one); a unit test keeps the two equal.
pub const REQUEST_FIELDS: &[&str] = &[
    "action",
    "resetScope",
    "servicePrincipalId",
    "appDisplayName",
    "jobId",
    "dryRun",
    "wait",
    "waitLimitSeconds",
    "force",
    "users",
    "groups",
];

/// Longest text field we accept: Entra display names are at most 256 characters.
const MAX_FIELD_CHARS: usize = 256;
/// Far above any real request; a larger payload is a mistake, not a request.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The raw invocation payload. Deserialising never fails, so a payload that is not JSON, or
/// nested too deeply, reaches the handler and gets our error instead of the runtime's.
#[derive(Debug, Clone)]
pub struct Payload(Result<Value, String>);

impl Payload {
    pub fn new(value: Value) -> Self {
        Self(Ok(value))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(
            Value::deserialize(deserializer).map_err(|error| error.to_string()),
        ))
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    #[error(
        "the invocation payload could not be read as JSON ({0}); send a request object such as \
         {{\"action\": \"status\"}} (see events/)"
    )]
    Unreadable(String),
    #[error(
        "the invocation payload is {0} bytes; a request is a small JSON object (at most \
         {MAX_PAYLOAD_BYTES} bytes, see events/)"
    )]
    TooLarge(usize),
    #[error(
        "the invocation payload must be a JSON object (or null), not {0}; see events/ for \
         examples"
    )]
    NotAnObject(&'static str),
    #[error(
        "the invocation payload is not a valid request: {0}. Valid fields: {fields}; see events/ \
         for examples",
        fields = REQUEST_FIELDS.join(", ")
    )]
    Invalid(String),
    #[error("the request field `{field}` is not valid: {fix}")]
    InvalidField { field: &'static str, fix: String },
}

/// What one invocation asks for; `None` fields fall back to the function's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRequest {
    pub action: Option<Action>,
    pub reset_scope: Option<ResetScope>,
    pub target: Option<Target>,
    pub job_id: Option<String>,
    pub dry_run: bool,
    pub wait: Option<bool>,
    pub wait_limit: Option<Duration>,
    pub force: bool,
    /// Users to provision now (object ids or userPrincipalNames); provision only.
    pub users: Vec<String>,
    /// Groups to provision now (object ids or display names); provision only.
    pub groups: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRequest {
    action: Option<String>,
    /// `"Watermark,Escrows"` or `["Watermark", "Escrows"]`.
    reset_scope: Option<Value>,
    service_principal_id: Option<String>,
    app_display_name: Option<String>,
    job_id: Option<String>,
    dry_run: Option<bool>,
    wait: Option<bool>,
    wait_limit_seconds: Option<u64>,
    force: Option<bool>,
    users: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

impl SyncRequest {
    pub fn from_payload(payload: &Payload) -> Result<Self, RequestError> {
        let event = payload
            .0
            .as_ref()
            .map_err(|error| RequestError::Unreadable(error.clone()))?;
        let size = serde_json::to_vec(event).map_or(usize::MAX, |bytes| bytes.len());
        if size > MAX_PAYLOAD_BYTES {
            return Err(RequestError::TooLarge(size));
        }
        Self::from_event(event)
    }

    pub fn from_event(event: &Value) -> Result<Self, RequestError> {
        match event {
            Value::Null => Ok(Self::default()),
            Value::Object(fields) if is_eventbridge_envelope(fields) => {
                Self::from_detail(fields.get("detail"))
            }
            Value::Object(_) => Self::from_object(event),
            other => Err(RequestError::NotAnObject(json_kind(other))),
        }
    }

    fn from_detail(detail: Option<&Value>) -> Result<Self, RequestError> {
        match detail {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(detail @ Value::Object(_)) => Self::from_object(detail),
            Some(other) => Err(RequestError::InvalidField {
                field: "detail",
                fix: format!(
                    "the EventBridge event's detail must be an object, not {}",
                    json_kind(other)
                ),
            }),
        }
    }

    fn from_object(object: &Value) -> Result<Self, RequestError> {
        let raw: RawRequest = serde_path_to_error::deserialize(object).map_err(|error| {
            let path = error.path().to_string();
            let inner = without_field_list(&error.into_inner().to_string());
            match path.as_str() {
                "." | "" => RequestError::Invalid(inner),
                _ => RequestError::Invalid(format!("`{path}`: {inner}")),
            }
        })?;
        raw.validate()
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`…" without the list: the message
/// lists the valid fields once, itself.
fn without_field_list(text: &str) -> String {
    match text.split_once(", expected one of ") {
        Some((head, _)) if head.starts_with("unknown field") => head.to_string(),
        _ => text.to_string(),
    }
}

impl RawRequest {
    fn validate(self) -> Result<SyncRequest, RequestError> {
        let field_error = |field, fix| RequestError::InvalidField { field, fix };
        let action = self
            .action
            .map(|text| text.parse().map_err(|fix| field_error("action", fix)))
            .transpose()?;
        let reset_scope = self
            .reset_scope
            .map(|value| {
                scope_text(&value)
                    .and_then(|text| text.parse())
                    .map_err(|fix| field_error("resetScope", fix))
            })
            .transpose()?;
        let name = non_blank(self.app_display_name, "appDisplayName")?;
        let id = non_blank(self.service_principal_id, "servicePrincipalId")?;
        let target = Target::from_parts(id.as_deref(), name.as_deref()).map_err(|fix| {
            let value = id.as_deref().unwrap_or_default();
            field_error(
                "servicePrincipalId",
                format!("servicePrincipalId={value:?} is not valid: {fix}"),
            )
        })?;
        let request = SyncRequest {
            action,
            reset_scope,
            target,
            job_id: non_blank(self.job_id, "jobId")?,
            dry_run: self.dry_run.unwrap_or(false),
            wait: self.wait,
            wait_limit: wait_limit(self.wait_limit_seconds)?,
            force: self.force.unwrap_or(false),
            users: names(self.users, "users")?,
            groups: names(self.groups, "groups")?,
        };
        if let Some(action) = request.action {
            request.check_names_for(action)?;
        }
        Ok(request)
    }
}

/// The reset scope as one comma-separated text, from a string or a list of strings.
fn scope_text(value: &Value) -> Result<String, String> {
    let wrong = || {
        r#"use a comma-separated string such as "Watermark,Escrows", or a list of such names"#
            .to_string()
    };
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(|names| names.join(",")),
        _ => Err(wrong()),
    }
}

fn wait_limit(seconds: Option<u64>) -> Result<Option<Duration>, RequestError> {
    match seconds.map(Duration::from_secs) {
        Some(limit) if limit > MAX_WAIT_LIMIT => Err(RequestError::InvalidField {
            field: "waitLimitSeconds",
            fix: format!(
                "{} is more than {} seconds, Lambda's longest timeout",
                limit.as_secs(),
                MAX_WAIT_LIMIT.as_secs()
            ),
        }),
        other => Ok(other),
    }
}

/// Trims a text field; present-but-blank is a mistake worth reporting, not "unset".
impl SyncRequest {
    /// Named users and groups go with the provision action only.
    pub fn check_names_for(&self, action: Action) -> Result<(), RequestError> {
        if action == Action::Provision || (self.users.is_empty() && self.groups.is_empty()) {
            return Ok(());
        }
        let field = if self.users.is_empty() {
            "groups"
        } else {
            "users"
        };
        Err(RequestError::InvalidField {
            field,
            fix: format!(
                "only the provision action takes users and groups, and this request's action is \
                 {action}; send \"action\": \"provision\" or remove the field"
            ),
        })
    }
}

/// Most names one request may carry: each costs Graph reads and a provision-on-demand call.
const MAX_NAMES: usize = 100;

/// A `users`/`groups` list: at least one name, none blank or too long.
fn names(value: Option<Vec<String>>, field: &'static str) -> Result<Vec<String>, RequestError> {
    let Some(list) = value else {
        return Ok(Vec::new());
    };
    let invalid = |fix: String| RequestError::InvalidField { field, fix };
    if list.is_empty() {
        return Err(invalid(
            "the list is empty; name at least one, or remove the field".into(),
        ));
    }
    if list.len() > MAX_NAMES {
        return Err(invalid(format!(
            "it names {} objects; at most {MAX_NAMES} per request (use change tracking for more)",
            list.len()
        )));
    }
    list.into_iter()
        .map(|name| non_blank(Some(name), field).map(Option::unwrap_or_default))
        .collect()
}

fn non_blank(value: Option<String>, field: &'static str) -> Result<Option<String>, RequestError> {
    let invalid = |fix: String| RequestError::InvalidField { field, fix };
    match value.map(|text| text.trim().to_string()) {
        Some(text) if text.is_empty() => Err(invalid(
            "it is empty; remove the field or give a value".into(),
        )),
        Some(text) if text.chars().count() > MAX_FIELD_CHARS => Err(invalid(format!(
            "it is {} characters long; at most {MAX_FIELD_CHARS} are accepted",
            text.chars().count()
        ))),
        other => Ok(other),
    }
}

fn is_eventbridge_envelope(fields: &Map<String, Value>) -> bool {
    fields.contains_key("detail-type") && fields.contains_key("source")
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(event: Value) -> Result<SyncRequest, RequestError> {
        SyncRequest::from_event(&event)
    }

    #[test]
    fn empty_payloads_mean_the_configured_defaults() {
        for event in [Value::Null, json!({})] {
            assert_eq!(parse(event).unwrap(), SyncRequest::default());
        }
    }

    #[test]
    fn scheduled_event_envelope_uses_its_detail() {
        let envelope = json!({
            "version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-28T09:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/x"],
            "detail": {}
        });
        assert_eq!(parse(envelope.clone()).unwrap(), SyncRequest::default());
        let mut with_detail = envelope;
        with_detail["detail"] = json!({"action": "status"});
        assert_eq!(parse(with_detail).unwrap().action, Some(Action::Status));
    }

    #[test]
    fn manual_request_fields_are_read() {
        let request = parse(json!({
            "action": "Restart", "resetScope": "Watermark, Escrows",
            "appDisplayName": " AWS IAM Identity Center ", "jobId": "AWSSCIM.a.b",
            "dryRun": true, "wait": true, "waitLimitSeconds": 30, "force": true
        }))
        .unwrap();
        assert_eq!(request.action, Some(Action::Restart));
        assert_eq!(
            request.reset_scope.unwrap().criteria().as_deref(),
            Some("Watermark,Escrows")
        );
        assert_eq!(
            request.target,
            Some(Target::DisplayName("AWS IAM Identity Center".into()))
        );
        assert_eq!(request.job_id.as_deref(), Some("AWSSCIM.a.b"));
        assert!(request.dry_run && request.force);
        assert_eq!(request.wait_limit, Some(Duration::from_secs(30)));
    }

    #[test]
    fn unreadable_deep_and_huge_payloads_are_refused_clearly() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        // As lambda_runtime reads it: no end-of-input check after the value.
        let payload = Payload::deserialize(&mut serde_json::Deserializer::from_str(&deep)).unwrap();
        let text = SyncRequest::from_payload(&payload).unwrap_err().to_string();
        assert!(
            text.contains("recursion limit") && text.contains("events/"),
            "{text}"
        );
        let huge = Payload::new(json!({"appDisplayName": "x".repeat(100_000)}));
        let text = SyncRequest::from_payload(&huge).unwrap_err().to_string();
        assert!(text.contains("bytes"), "{text}");
        let long = json!({"appDisplayName": "x".repeat(300)});
        let text = parse(long).unwrap_err().to_string();
        assert!(
            text.contains("appDisplayName") && text.contains("300 characters"),
            "{text}"
        );
    }

    #[test]
    fn reset_scope_may_be_a_list() {
        let request = parse(json!({"resetScope": ["Watermark", "escrows"]})).unwrap();
        assert_eq!(
            request.reset_scope.unwrap().criteria().as_deref(),
            Some("Watermark,Escrows")
        );
        for bad in [json!({"resetScope": 3}), json!({"resetScope": ["Full", 1]})] {
            let text = parse(bad).unwrap_err().to_string();
            assert!(
                text.contains("resetScope") && text.contains("comma-separated"),
                "{text}"
            );
        }
    }

    #[test]
    fn users_and_groups_are_lists_of_names_for_provision_only() {
        let request = parse(json!({"action": "provision", "users": [" a@b.c ", "id"],
                                   "groups": ["AWS Admins"]}))
        .unwrap();
        assert_eq!(request.users, ["a@b.c", "id"]);
        assert_eq!(request.groups, ["AWS Admins"]);
        for (event, field) in [
            (json!({"action": "restart", "users": ["a@b.c"]}), "users"),
            (json!({"action": "status", "groups": ["g"]}), "groups"),
            (json!({"action": "provision", "users": []}), "users"),
            (json!({"action": "provision", "users": ["  "]}), "users"),
            (
                json!({"action": "provision", "groups": "AWS Admins"}),
                "groups",
            ),
        ] {
            let text = parse(event.clone()).unwrap_err().to_string();
            assert!(text.contains(field), "{event}: {text}");
        }
        // Without an action, the function's SYNC_ACTION decides later.
        let names_only = parse(json!({"users": ["a@b.c"]})).unwrap();
        assert!(names_only.check_names_for(Action::Restart).is_err());
        assert!(names_only.check_names_for(Action::Provision).is_ok());
    }

    #[test]
    fn the_field_list_is_what_serde_accepts() {
        // serde lists the struct's fields when it refuses an unknown one.
        let serde_text = serde_json::from_value::<RawRequest>(json!({"?": 1}))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        let quoted: Vec<String> = REQUEST_FIELDS.iter().map(|f| format!("`{f}`")).collect();
        assert!(
            serde_text.contains(&format!("expected one of {}", quoted.join(", "))),
            "{serde_text}"
        );
        // Our message lists them once, not serde's list and ours.
        let text = parse(json!({"?": 1})).unwrap_err().to_string();
        assert_eq!(text.matches("waitLimitSeconds").count(), 1, "{text}");
        assert!(text.contains("unknown field `?`"), "{text}");
        let every_field: Map<String, Value> = REQUEST_FIELDS
            .iter()
            .map(|field| (field.to_string(), Value::Null))
            .collect();
        assert!(parse(Value::Object(every_field)).is_ok());
    }

    #[test]
    fn bad_requests_quote_the_bad_value() {
        for (event, expected) in [
            (json!({"action": "reboot"}), "\"reboot\""),
            (json!({"resetScope": "None"}), "\"None\""),
            (
                json!({"resetScope": "ConnectorDataStore"}),
                "\"ConnectorDataStore\"",
            ),
            (json!({"actoin": "restart"}), "actoin"),
            (json!({"dryRun": "yes"}), "dryRun"),
            (json!({"jobId": "   "}), "jobId"),
            (json!({"waitLimitSeconds": 86400}), "waitLimitSeconds"),
            (json!({"servicePrincipalId": "abc"}), "servicePrincipalId"),
            (json!([1, 2]), "array"),
            (json!("restart"), "string"),
            (
                json!({"source": "aws.events", "detail-type": "x", "detail": 5}),
                "detail",
            ),
        ] {
            let text = parse(event.clone()).unwrap_err().to_string();
            assert!(text.contains(expected), "{event} -> {text}");
        }
    }
}
