//! The `credentials` check: a Graph token can be had. Without one no other check can be made.

use std::sync::Arc;

use time::OffsetDateTime;

use super::super::Context;
use super::credential_expiry::CredentialInUse;
use crate::checks::{CHECK_NAMES, CLIENT_SECRET_EXPIRY, CREDENTIALS, CheckResult, CheckStatus};
use crate::config::{Credentials, Settings};
use crate::entra::EntraError;
use crate::error::SyncError;
use crate::secret::{ClientCredential, EntraCredentials, SecretError};
use crate::sensitive::Sensitive;
use crate::transport::Deadline;

/// Entra's code for an expired client secret.
const SECRET_EXPIRED: &str = "AADSTS7000222";

/// The credentials from the secret and a Graph token made with them.
pub async fn obtain(
    context: &Context,
    deadline: &Deadline,
) -> Result<(Arc<EntraCredentials>, Sensitive), SyncError> {
    let auth = &context.clients.auth;
    let credentials = auth.credentials(deadline).await?;
    let token = auth.bearer(deadline, false).await?;
    Ok((credentials, token))
}

pub fn issued(credentials: &EntraCredentials, settings: &Settings) -> CheckResult {
    let how = match &credentials.credential {
        ClientCredential::Secret(_) => "a client secret",
        ClientCredential::Certificate(_) => "a certificate",
        ClientCredential::AwsFederation => "AWS outbound identity federation",
    };
    CheckResult::ok(
        CREDENTIALS,
        format!(
            "Entra ID issued a Microsoft Graph token to the app {} in tenant {} ({how}{})",
            credentials.client_id,
            credentials.tenant_id.as_str(),
            match secret_location(settings) {
                Some(location) => format!(" from {location}"),
                None => String::new(),
            }
        ),
    )
}

/// Where the stored credentials live, for messages: `None` when nothing is stored.
pub fn secret_location(settings: &Settings) -> Option<String> {
    match &settings.credentials {
        Credentials::Secret { secret_id } => {
            Some(format!("the Secrets Manager secret {secret_id:?}"))
        }
        Credentials::AwsFederation { .. } => None,
    }
}

/// How the function signs in, for the expiry check. Only the first three characters of a
/// client secret are used: Graph shows exactly those as the credential's `hint`.
pub fn in_use(credentials: &EntraCredentials) -> CredentialInUse {
    match &credentials.credential {
        ClientCredential::Secret(secret) => CredentialInUse::ClientSecret {
            hint: secret.expose().chars().take(3).collect(),
        },
        ClientCredential::Certificate(certificate) => CredentialInUse::Certificate {
            thumbprint: certificate.thumbprint().to_string(),
            not_after: OffsetDateTime::from(certificate.not_after()),
        },
        ClientCredential::AwsFederation => CredentialInUse::Federated,
    }
}

/// Every check when no token could be had: the credentials check says why; an expired secret
/// also fails the expiry check; the others could not be made.
pub fn without_token(error: &SyncError) -> Vec<CheckResult> {
    let mut checks = vec![credentials_check(error)];
    let code = match error {
        SyncError::Entra(EntraError::Rejected { code, .. }) => code.as_deref(),
        _ => None,
    };
    for name in &CHECK_NAMES[1..] {
        checks.push(
            if *name == CLIENT_SECRET_EXPIRY && code == Some(SECRET_EXPIRED) {
                CheckResult::failed(
                    CLIENT_SECRET_EXPIRY,
                    format!("the client secret has expired (Entra ID answered {SECRET_EXPIRED})"),
                    "create a new client secret under App registrations > the function's app > \
                 Certificates & secrets > Client secrets, store its Value as client_secret in the \
                 Secrets Manager secret, then delete the old secret",
                )
            } else {
                CheckResult::blocked(name, CREDENTIALS)
            },
        );
    }
    checks
}

fn credentials_check(error: &SyncError) -> CheckResult {
    let text = error.to_string();
    let status = match error {
        SyncError::Entra(EntraError::Unavailable { .. })
        | SyncError::Secret(SecretError::Unavailable { .. }) => CheckStatus::Unavailable,
        _ => CheckStatus::Failed,
    };
    let fix = match error {
        SyncError::Entra(EntraError::Rejected { advice, .. }) => advice.clone(),
        SyncError::Entra(EntraError::Unavailable { .. }) => {
            "Entra ID's token endpoint did not answer; run the check again later".to_string()
        }
        _ => text.clone(),
    };
    CheckResult::new(CREDENTIALS, status, text, Some(fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: &str) -> SyncError {
        SyncError::Entra(EntraError::Rejected {
            code: Some(code.into()),
            error: "invalid_client".into(),
            advice: format!("{code}: the client secret has expired. Create a new one"),
            trace_id: "t".into(),
            correlation_id: "c".into(),
        })
    }

    #[test]
    fn no_token_means_every_later_check_is_unavailable_saying_why() {
        let checks = without_token(&rejected("AADSTS7000215"));
        assert_eq!(checks.len(), CHECK_NAMES.len());
        assert_eq!(checks[0].status, CheckStatus::Failed);
        assert!(checks[0].fix.as_deref().unwrap().contains("AADSTS7000215"));
        for check in &checks[1..] {
            assert_eq!(check.status, CheckStatus::Unavailable, "{check:?}");
            assert!(check.detail.contains("credentials"), "{}", check.detail);
        }
    }

    #[test]
    fn an_expired_secret_also_fails_the_expiry_check() {
        let checks = without_token(&rejected(SECRET_EXPIRED));
        let expiry = checks
            .iter()
            .find(|c| c.name == CLIENT_SECRET_EXPIRY)
            .unwrap();
        assert_eq!(expiry.status, CheckStatus::Failed);
        assert!(expiry.detail.contains(SECRET_EXPIRED));
    }
}
