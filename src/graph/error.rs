//! Graph's error type: how a call failed, sorted by what the admin has to do about it, with
//! the advice and the request ids a support case needs.

use std::time::Duration;

use reqwest::Response;
use serde::Deserialize;
use thiserror::Error;

use super::{Operation, header};
use crate::entra::AuthError;
use crate::transport::{Idempotency, TransportError};

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
    let consequence = match operation.idempotency() {
        Idempotency::Unsafe => {
            "; the job may or may not have been triggered: run the status action to see"
        }
        Idempotency::Safe => "",
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

pub(super) async fn failure(
    operation: Operation,
    response: Response,
    client_request_id: &str,
) -> GraphError {
    let status = response.status().as_u16();
    let request_id = header(&response, "request-id");
    let retry_after = crate::transport::retry_after(&response);
    let body: ErrorBody = match response.bytes().await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => ErrorBody::default(),
    };
    let code = Some(body.error.code).filter(|code| !code.is_empty());
    let kind = kind_of(status);
    let advice = advice(kind, operation, retry_after);
    let graph_says = match &code {
        Some(code) => format!("{code}: {}", body.error.message),
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

/// What the admin should do about a failed Graph call.
fn advice(kind: GraphErrorKind, operation: Operation, retry_after: Option<Duration>) -> String {
    match kind {
        GraphErrorKind::PermissionDenied | GraphErrorKind::Unauthorized => {
            permission_advice(operation)
        }
        GraphErrorKind::Throttled | GraphErrorKind::Unavailable => {
            let asked = retry_after
                .map(|wait| format!(" and asked to wait {}s", wait.as_secs()))
                .unwrap_or_default();
            format!(
                "Graph stayed unavailable through our retries{asked}; the next scheduled run will \
                 try again"
            )
        }
        _ => "see Graph's message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_names_the_permission_each_call_needs() {
        let text = advice(GraphErrorKind::PermissionDenied, Operation::Restart, None);
        assert!(
            text.contains("Synchronization.ReadWrite.All") && text.contains("owner"),
            "{text}"
        );
        let text = advice(
            GraphErrorKind::PermissionDenied,
            Operation::FindServicePrincipal,
            None,
        );
        assert!(text.contains("Application.Read.All"), "{text}");
        let text = advice(
            GraphErrorKind::Throttled,
            Operation::ListJobs,
            Some(Duration::from_secs(30)),
        );
        assert!(text.contains("asked to wait 30s"), "{text}");
        assert_eq!(kind_of(503), GraphErrorKind::Unavailable);
        assert_eq!(kind_of(307), GraphErrorKind::Unexpected);
    }
}
