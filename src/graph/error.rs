//! Graph's error type: how a call failed, sorted by what the admin has to do about it, with
//! the advice and the request ids a support case needs.

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use super::{Operation, header};
use crate::entra::AuthError;
use crate::sensitive::quote_untrusted;
use crate::transport::{Idempotency, Sent, TransportError};

/// How a Graph call failed, by what the admin has to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorKind {
    PermissionDenied,
    Unauthorized,
    NotFound,
    Throttled,
    Unavailable,
    BadRequest,
    Timeout,
    Unexpected,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GraphError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{message}")]
    Failed {
        kind: GraphErrorKind,
        operation: Operation,
        status: Option<u16>,
        code: Option<String>,
        request_id: Option<String>,
        message: String,
    },
}

impl GraphError {
    pub fn kind(&self) -> Option<GraphErrorKind> {
        match self {
            Self::Failed { kind, .. } => Some(*kind),
            Self::Auth(_) => None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorDetail {
    code: String,
    message: String,
    /// Kept loose: Graph puts request ids here, other services more detailed codes.
    #[serde(rename = "innerError", alias = "innererror")]
    inner_error: serde_json::Value,
}

/// Codes that mean "the delta token is no longer valid" (Microsoft's errors page lists them
/// at the top level and, more detailed, inside `innererror`).
const RESYNC_CODES: [&str; 4] = [
    "syncStateNotFound",
    "resyncRequired",
    "resyncApplyDifferences",
    "resyncUploadDifferences",
];

impl ErrorDetail {
    /// The top-level code, unless a nested `innererror` says the delta token must be
    /// resynced: Microsoft asks apps to look through the chain for the most detailed code
    /// they understand, and that one changes what the caller does.
    fn code(&self) -> &str {
        let mut inner = &self.inner_error;
        for _ in 0..8 {
            let code = inner.get("code").and_then(serde_json::Value::as_str);
            if let Some(code) =
                code.filter(|c| RESYNC_CODES.iter().any(|r| r.eq_ignore_ascii_case(c)))
            {
                return code;
            }
            match inner.get("innerError").or_else(|| inner.get("innererror")) {
                Some(next) => inner = next,
                None => break,
            }
        }
        &self.code
    }
}

/// Graph answered, but with data that cannot be used (`GraphError`).
pub fn bad_data(operation: Operation, detail: String) -> GraphError {
    unexpected(operation, detail)
}

pub(super) fn unexpected(operation: Operation, detail: String) -> GraphError {
    GraphError::Failed {
        kind: GraphErrorKind::Unexpected,
        operation,
        status: None,
        code: None,
        request_id: None,
        message: format!(
            "Microsoft Graph failed while {}: {detail}",
            operation.describe()
        ),
    }
}

pub(super) fn transport_failure(operation: Operation, error: TransportError) -> GraphError {
    let kind = match error {
        TransportError::Timeout(_) | TransportError::DeadlineReached => GraphErrorKind::Timeout,
        _ => GraphErrorKind::Unavailable,
    };
    // Only a request that reached Graph without an answer leaves the trigger in doubt; one
    // that never connected, or was never sent for want of time, did not trigger anything.
    let in_doubt = operation.idempotency() == Idempotency::Unsafe
        && matches!(
            error,
            TransportError::Timeout(_) | TransportError::Connection(_)
        );
    let consequence = if in_doubt {
        "; the job may or may not have been triggered: run the status action to see"
    } else if operation.idempotency() == Idempotency::Unsafe {
        "; the job was not triggered"
    } else {
        ""
    };
    GraphError::Failed {
        kind,
        operation,
        status: None,
        code: None,
        request_id: None,
        message: format!(
            "Microsoft Graph did not answer while {}: {error}{consequence}",
            operation.describe()
        ),
    }
}

/// Graph's error answer, explained. Graph's own text is quoted only after redaction and
/// capping: a server that echoes the request must not put the bearer token into an error.
pub(super) async fn failure(operation: Operation, sent: Sent) -> GraphError {
    let status = sent.response.status().as_u16();
    let request_id = header(&sent.response, "request-id");
    let retry = Retry {
        asked: crate::transport::retry_after(&sent.response),
        attempts: sent.attempts,
        exceeds_deadline: sent.wait_exceeds_deadline,
    };
    let client_request_id = sent.client_request_id.clone();
    let body: ErrorBody = match sent.body().await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => ErrorBody::default(),
    };
    let code = Some(quote_untrusted(body.error.code())).filter(|code| !code.is_empty());
    let kind = kind_of(status);
    let advice = advice(kind, operation, &retry, status);
    let graph_says = match &code {
        Some(code) => format!("{code}: {}", quote_untrusted(&body.error.message)),
        None => format!("HTTP {status}"),
    };
    GraphError::Failed {
        kind,
        operation,
        status: Some(status),
        message: format!(
            "Microsoft Graph answered {status} while {} ({graph_says}): {advice}. [request-id {}, client-request-id {client_request_id}]",
            operation.describe(),
            request_id.as_deref().unwrap_or("none"),
        ),
        code,
        request_id,
    }
}

fn kind_of(status: u16) -> GraphErrorKind {
    match status {
        400 => GraphErrorKind::BadRequest,
        401 => GraphErrorKind::Unauthorized,
        403 => GraphErrorKind::PermissionDenied,
        404 => GraphErrorKind::NotFound,
        429 => GraphErrorKind::Throttled,
        500..=599 => GraphErrorKind::Unavailable,
        _ => GraphErrorKind::Unexpected,
    }
}

fn permission_advice(operation: Operation) -> String {
    let mut text = format!(
        "grant the Entra app the Microsoft Graph application permission {} and admin consent \
         (App registrations > your app > API permissions > Grant admin consent)",
        operation.permissions()
    );
    if !operation.reads_directory() {
        text.push_str(
            ". With Application.ReadWrite.OwnedBy instead, the app's service principal must be \
             an owner of the IAM Identity Center enterprise application's service principal; \
             otherwise use Synchronization.ReadWrite.All",
        );
    }
    if operation.provisions() {
        text.push_str(
            ". The provision action needs Application.Read.All (assignments), \
             GroupMember.Read.All (group changes and members), User.Read.All (users) and \
             Synchronization.ReadWrite.All (provision on demand)",
        );
    }
    text
}

/// How a throttled or unavailable answer was retried.
#[derive(Debug, Default)]
struct Retry {
    /// Graph's `Retry-After`.
    asked: Option<Duration>,
    attempts: u32,
    /// The wait asked for was longer than the invocation had left, so it was not retried.
    exceeds_deadline: bool,
}

/// `2s`, `2.128s`.
fn seconds(wait: Duration) -> String {
    let text = format!("{:.3}", wait.as_secs_f64());
    format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// What the admin should do about a failed Graph call.
fn advice(kind: GraphErrorKind, operation: Operation, retry: &Retry, status: u16) -> String {
    match kind {
        GraphErrorKind::PermissionDenied | GraphErrorKind::Unauthorized => {
            permission_advice(operation)
        }
        GraphErrorKind::Throttled | GraphErrorKind::Unavailable => {
            let asked = retry
                .asked
                .map(|wait| format!(" and asked to wait {}", seconds(wait)))
                .unwrap_or_default();
            let how = if retry.exceeds_deadline {
                format!("Graph answered {status}{asked}, longer than this invocation had left")
            } else {
                let tries = if retry.attempts == 1 { "try" } else { "tries" };
                format!(
                    "Graph answered {status} through {} {tries}{asked}",
                    retry.attempts.max(1)
                )
            };
            // 429 and 503 mean Graph did not act; a 5xx gateway answer leaves it open.
            let acted = match (operation.idempotency(), status) {
                (Idempotency::Safe, _) => "",
                (Idempotency::Unsafe, 429 | 503) => {
                    "; Graph did not act on it, the job was not triggered"
                }
                (Idempotency::Unsafe, _) => {
                    "; the job may or may not have been triggered: run the status action to see"
                }
            };
            format!("{how}{acted}; the next scheduled run will try again")
        }
        // Entra's test connection: Graph relays what IAM Identity Center answered.
        _ if operation == Operation::ValidateCredentials => {
            "IAM Identity Center refused the saved SCIM access token or tenant URL".into()
        }
        _ => "see Graph's message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(body: &str) -> String {
        let body: ErrorBody = serde_json::from_str(body).unwrap_or_default();
        body.error.code().to_string()
    }

    #[test]
    fn a_resync_code_nested_in_innererror_is_the_code() {
        assert_eq!(
            code_of(
                r#"{"error":{"code":"invalidRequest","message":"m","innererror":{"code":"resyncRequired"}}}"#
            ),
            "resyncRequired"
        );
        assert_eq!(
            code_of(
                r#"{"error":{"code":"generalException","innerError":{"code":"x","innerError":{"code":"SyncStateNotFound"}}}}"#
            ),
            "SyncStateNotFound"
        );
        // Graph's usual innerError (request ids) and odd shapes leave the top-level code.
        assert_eq!(
            code_of(
                r#"{"error":{"code":"Request_BadRequest","innerError":{"date":"d","request-id":"r"}}}"#
            ),
            "Request_BadRequest"
        );
        assert_eq!(
            code_of(r#"{"error":{"code":"A","innerError":{"code":7}}}"#),
            "A"
        );
        assert_eq!(
            code_of(r#"{"error":{"code":"A","innerError":"text"}}"#),
            "A"
        );
    }

    #[test]
    fn advice_names_the_permission_each_call_needs() {
        let none = Retry::default();
        let text = advice(
            GraphErrorKind::PermissionDenied,
            Operation::Restart,
            &none,
            403,
        );
        assert!(
            text.contains("Synchronization.ReadWrite.All") && text.contains("owner"),
            "{text}"
        );
        let text = advice(
            GraphErrorKind::PermissionDenied,
            Operation::FindServicePrincipal,
            &none,
            403,
        );
        assert!(text.contains("Application.Read.All"), "{text}");
        let throttled = Retry {
            asked: Some(Duration::from_millis(2128)),
            attempts: 4,
            exceeds_deadline: false,
        };
        let text = advice(
            GraphErrorKind::Throttled,
            Operation::ListJobs,
            &throttled,
            429,
        );
        assert!(text.contains("asked to wait 2.128s"), "{text}");
        let long = Retry {
            asked: Some(Duration::from_secs(120)),
            attempts: 1,
            exceeds_deadline: true,
        };
        let text = advice(GraphErrorKind::Throttled, Operation::Restart, &long, 429);
        assert!(
            text.contains("asked to wait 120s, longer than this invocation had left")
                && text.contains("not triggered")
                && !text.contains("may or may not"),
            "{text}"
        );
        assert_eq!(kind_of(503), GraphErrorKind::Unavailable);
        assert_eq!(kind_of(307), GraphErrorKind::Unexpected);
    }
}
