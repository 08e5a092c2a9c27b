//! The `scimConnection` check: Entra's "Test connection" with the saved AWS SCIM token.

use crate::graph::{GraphError, GraphErrorKind};
use crate::permissions;

use crate::checks::{CheckResult, SCIM_CONNECTION};

/// What to do when IAM Identity Center refuses the saved token (usually: it expired).
pub const RENEW_AWS_TOKEN: &str = "generate a new access token in IAM Identity Center (Settings > \
    Automatic provisioning > Generate token), then paste it with the SCIM endpoint (tenant URL) \
    into the Entra enterprise app's Provisioning > Admin credentials, Test connection and Save. \
    AWS access tokens last one year; delete the old one in IAM Identity Center afterwards";

pub fn judge(outcome: &Result<(), GraphError>) -> CheckResult {
    let error = match outcome {
        Ok(()) => {
            return CheckResult::ok(
                SCIM_CONNECTION,
                "Entra reached IAM Identity Center's SCIM endpoint with the saved access token",
            );
        }
        Err(error) => error,
    };
    match error.kind() {
        Some(GraphErrorKind::PermissionDenied) => {
            let need = permissions::need("jobs")
                .map(permissions::describe)
                .unwrap_or_default();
            CheckResult::unavailable(
                SCIM_CONNECTION,
                format!("the function's app may not test the connection: {error}"),
                format!("grant the application permission {need} with admin consent"),
            )
        }
        Some(GraphErrorKind::Throttled | GraphErrorKind::Unavailable | GraphErrorKind::Timeout)
        | None => CheckResult::unavailable(
            SCIM_CONNECTION,
            format!("the connection could not be tested: {error}"),
            "run the check again later",
        ),
        Some(_) => CheckResult::failed(
            SCIM_CONNECTION,
            format!("Entra could not use the saved AWS SCIM access token: {error}"),
            RENEW_AWS_TOKEN,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckStatus;
    use crate::graph::Operation;

    fn refused(kind: GraphErrorKind, status: u16, code: &str) -> Result<(), GraphError> {
        Err(GraphError::Failed {
            kind,
            operation: Operation::ValidateCredentials,
            status: Some(status),
            code: Some(code.into()),
            request_id: None,
            message: format!("Microsoft Graph answered {status} ({code})"),
        })
    }

    #[test]
    fn a_refusal_fails_with_the_token_renewal_fix() {
        let check = judge(&refused(
            GraphErrorKind::BadRequest,
            400,
            "CredentialValidationUnavailable",
        ));
        assert_eq!(check.status, CheckStatus::Failed);
        assert!(check.detail.contains("CredentialValidationUnavailable"));
        let fix = check.fix.unwrap();
        assert!(
            fix.contains("Generate token") && fix.contains("one year"),
            "{fix}"
        );
    }

    #[test]
    fn forbidden_or_unreachable_is_unavailable() {
        let check = judge(&refused(
            GraphErrorKind::PermissionDenied,
            403,
            "Authorization_RequestDenied",
        ));
        assert_eq!(check.status, CheckStatus::Unavailable);
        assert!(check.fix.unwrap().contains("Synchronization.ReadWrite.All"));
        let check = judge(&refused(
            GraphErrorKind::Unavailable,
            503,
            "ServiceUnavailable",
        ));
        assert_eq!(check.status, CheckStatus::Unavailable);
        assert_eq!(judge(&Ok(())).status, CheckStatus::Ok);
    }
}
