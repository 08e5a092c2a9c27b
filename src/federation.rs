//! AWS IAM outbound identity federation: STS signs a short-lived JWT for the function's role
//! (`GetWebIdentityToken`), and Entra ID accepts it as the client assertion through a federated
//! identity credential on the app registration. No Entra secret exists anywhere.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use thiserror::Error;
use tracing::info;

use crate::aws::{AwsClients, error_code, unavailable_detail};
use crate::sensitive::Sensitive;
use crate::transport::Deadline;

/// The one audience Entra accepts on a federated identity credential.
pub const ENTRA_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Entra supports RS256 issuers; STS also offers ES384.
pub const SIGNING_ALGORITHM: &str = "RS256";
/// STS's default and the template's `sts:DurationSeconds` condition: the token is exchanged
/// at once, so a short life is enough.
pub const TOKEN_DURATION_SECONDS: i32 = 300;
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const GRANT: &str = "allow sts:GetWebIdentityToken in the function's role (the template does this \
                     when CredentialSource=aws-federation)";
const ENABLE: &str = "run `aws iam enable-outbound-web-identity-federation` once in this account \
                      (CloudFormation cannot do it)";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FederationError {
    #[error("AWS STS refused GetWebIdentityToken ({code}: {message}): {fix}")]
    Refused {
        code: String,
        message: String,
        fix: String,
    },
    #[error(
        "AWS STS could not be reached or gave no usable answer for GetWebIdentityToken: \
         {detail}. It is served by the regional STS endpoint only; AWS_ENDPOINT_URL_STS \
         overrides it"
    )]
    Unavailable { detail: String },
}

/// An STS web identity token, and the claims Entra matches a federated credential on.
#[derive(Debug, Clone)]
pub struct WebIdentityToken {
    pub value: Sensitive,
    pub issuer: String,
    pub subject: String,
}

#[derive(Deserialize, Default)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
}

impl WebIdentityToken {
    fn new(value: String) -> Self {
        // Not verified: we only read what we are about to show Entra, to tell the admin what
        // Entra will compare it with.
        let claims = value
            .split('.')
            .nth(1)
            .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
            .and_then(|json| serde_json::from_slice::<Claims>(&json).ok())
            .unwrap_or_default();
        Self {
            value: Sensitive::new(value),
            issuer: claims.iss,
            subject: claims.sub,
        }
    }
}

/// Asks STS for tokens. The STS client is built on the first request (see [`AwsClients`]), so
/// the function pays for it only in federation mode, and only when a new Entra token is needed.
pub struct WebIdentityTokens {
    aws: Arc<AwsClients>,
}

impl WebIdentityTokens {
    pub fn new(aws: Arc<AwsClients>) -> Self {
        Self { aws }
    }

    pub async fn token(&self, deadline: &Deadline) -> Result<WebIdentityToken, FederationError> {
        let remaining = deadline
            .remaining()
            .ok_or_else(|| FederationError::Unavailable {
                detail: "the invocation's deadline was reached".into(),
            })?;
        let limit = CALL_TIMEOUT.min(remaining);
        let call = async {
            self.aws
                .sts()
                .await
                .get_web_identity_token()
                .audience(ENTRA_AUDIENCE)
                .signing_algorithm(SIGNING_ALGORITHM)
                .duration_seconds(TOKEN_DURATION_SECONDS)
                .send()
                .await
        };
        let output = tokio::time::timeout(limit, call)
            .await
            .map_err(|_| FederationError::Unavailable {
                detail: format!("no answer within {limit:?}"),
            })?
            .map_err(|error| {
                let status = error.raw_response().map(|raw| raw.status().as_u16());
                let detail = DisplayErrorContext(&error).to_string();
                match (error_code(&error), status) {
                    // An answer without an AWS error code (a proxy's HTML page, a 502).
                    (None, Some(status)) => FederationError::Unavailable {
                        detail: format!(
                            "HTTP {status} without an AWS error code ({})",
                            unavailable_detail(&detail)
                        ),
                    },
                    (code, _) => classify(code, error.message(), &detail),
                }
            })?;
        let token = output
            .web_identity_token()
            .filter(|token| !token.is_empty())
            .ok_or_else(|| FederationError::Unavailable {
                detail: "the answer held no WebIdentityToken".into(),
            })?;
        let token = WebIdentityToken::new(token.to_string());
        info!(issuer = %token.issuer, subject = %token.subject, "got an AWS web identity token");
        Ok(token)
    }
}

/// Sorts an STS failure by its error code into what the admin must do.
fn classify(code: Option<&str>, message: Option<&str>, detail: &str) -> FederationError {
    let refused = |code: &str, fix: String| FederationError::Refused {
        code: code.to_string(),
        message: message.unwrap_or("no message").to_string(),
        fix,
    };
    match code {
        Some(code @ ("AccessDenied" | "AccessDeniedException")) => refused(
            code,
            format!("{GRANT}; and if outbound identity federation is not enabled yet, {ENABLE}"),
        ),
        Some(code @ "OutboundWebIdentityFederationDisabledException") => refused(
            code,
            format!(
                "outbound identity federation is off in this account: {ENABLE}; the role also needs sts:GetWebIdentityToken"
            ),
        ),
        Some(code) => refused(
            code,
            format!(
                "check that the function's role may call sts:GetWebIdentityToken ({GRANT}) and that outbound identity federation is enabled ({ENABLE})"
            ),
        ),
        None => FederationError::Unavailable {
            detail: unavailable_detail(detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_fix() {
        let denied = classify(
            Some("AccessDenied"),
            Some("User: arn:aws:sts::1:assumed-role/r/s is not authorized"),
            "",
        );
        let text = denied.to_string();
        assert!(
            text.contains("sts:GetWebIdentityToken") && text.contains("assumed-role/r"),
            "{text}"
        );
        let disabled = classify(
            Some("OutboundWebIdentityFederationDisabledException"),
            None,
            "",
        )
        .to_string();
        assert!(
            disabled.contains("aws iam enable-outbound-web-identity-federation"),
            "{disabled}"
        );
        let other = classify(Some("ExpiredToken"), Some("expired"), "").to_string();
        assert!(
            other.contains("sts:GetWebIdentityToken") && other.contains("enable-outbound"),
            "{other}"
        );
        let unreachable = classify(
            None,
            None,
            "dispatch failure: io error: Connection refused (os error 111) (DispatchFailure(x))",
        );
        assert!(
            matches!(unreachable, FederationError::Unavailable { ref detail } if detail.ends_with("(os error 111)")),
            "{unreachable}"
        );
    }

    #[test]
    fn the_claims_entra_matches_are_read_from_the_token() {
        let payload = URL_SAFE_NO_PAD.encode(
            r#"{"iss":"https://abc.tokens.sts.global.api.aws","sub":"arn:aws:iam::123456789012:role/r","aud":"api://AzureADTokenExchange"}"#,
        );
        let token = WebIdentityToken::new(format!("e30.{payload}.c2ln"));
        assert_eq!(token.issuer, "https://abc.tokens.sts.global.api.aws");
        assert_eq!(token.subject, "arn:aws:iam::123456789012:role/r");
        assert!(!format!("{token:?}").contains(&payload));
        let opaque = WebIdentityToken::new("not-a-jwt".into());
        assert_eq!((opaque.issuer.as_str(), opaque.subject.as_str()), ("", ""));
    }

    #[test]
    fn the_regional_endpoint_serves_the_call() {
        // The global endpoint does not serve GetWebIdentityToken; the SDK must not pick it.
        use aws_sdk_sts::config::endpoint::{Params, ResolveEndpoint};
        let resolver = aws_sdk_sts::config::endpoint::DefaultResolver::new();
        for region in ["us-east-1", "eu-west-1"] {
            let params = Params::builder().region(region).build().unwrap();
            let endpoint = futures_executor(resolver.resolve_endpoint(&params)).unwrap();
            assert_eq!(
                endpoint.url(),
                format!("https://sts.{region}.amazonaws.com")
            );
        }
    }

    fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }
}
