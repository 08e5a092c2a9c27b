//! The Entra app's credentials: read from Secrets Manager, parsed, cached for warm invocations.
//! The secret holds a client secret, or a certificate and its private key (checked here, when
//! read, so a bad pair fails before any token request).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde_json::{Map, Value};
use thiserror::Error;
use tokio::sync::Mutex;
use tracing::info;
use zeroize::Zeroizing;

use crate::aws::{AwsClients, error_code, unavailable_detail};
use crate::certificate::CertificateCredential;
use crate::domain::{TenantId, parse_guid};
use crate::sensitive::Sensitive;
use crate::transport::Deadline;

/// Long enough to spare warm invocations a call, short enough to pick up a rotation soon.
const CACHE_TTL: Duration = Duration::from_secs(300);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const SHAPE: &str = r#"{"tenant_id": "<directory (tenant) id>", "client_id": "<application (client) id>", "client_secret": "<client secret value>"} (or, instead of client_secret, "certificate" and "private_key" in PEM)"#;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SecretError {
    #[error(
        "Secrets Manager has no secret {secret_id:?} in this account and region: create it \
         (see the README) or fix SECRET_ID"
    )]
    NotFound { secret_id: String },
    #[error(
        "access to secret {secret_id:?} was denied ({code}): allow secretsmanager:GetSecretValue \
         on it in the function's role (and kms:Decrypt if it uses a customer-managed key)"
    )]
    AccessDenied { secret_id: String, code: String },
    #[error("Secrets Manager could not be reached for secret {secret_id:?}: {detail}")]
    Unavailable { secret_id: String, detail: String },
    #[error(
        "secret {secret_id:?} has no SecretString: store the credentials as JSON text: {SHAPE}"
    )]
    NotText { secret_id: String },
    #[error("secret {secret_id:?} is not a JSON object ({problem}): store it as {SHAPE}")]
    Malformed { secret_id: String, problem: String },
    #[error("secret {secret_id:?} has no {field} (accepted keys: {keys}): store it as {SHAPE}")]
    MissingField {
        secret_id: String,
        field: &'static str,
        keys: String,
    },
    #[error("secret {secret_id:?} field {field} is not valid: {fix}")]
    InvalidField {
        secret_id: String,
        field: &'static str,
        fix: String,
    },
}

/// The Entra app and how it proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraCredentials {
    pub tenant_id: TenantId,
    pub client_id: String,
    pub credential: ClientCredential,
    pub app_display_name: Option<String>,
    pub service_principal_id: Option<String>,
}

/// How the app proves its identity to Entra's token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredential {
    /// A client secret from the secret.
    Secret(Sensitive),
    /// A certificate and its key from the secret: each token request carries a fresh assertion.
    Certificate(Arc<CertificateCredential>),
    /// Nothing stored: STS signs a token for the function's role (`CREDENTIAL_SOURCE=aws-federation`).
    AwsFederation,
}

impl EntraCredentials {
    /// The client secret, when that is how the app signs in.
    pub fn client_secret(&self) -> Option<&Sensitive> {
        match &self.credential {
            ClientCredential::Secret(secret) => Some(secret),
            _ => None,
        }
    }
}

/// The keys each field is read from, in order of preference.
pub struct SecretKeys {
    pub tenant_id: &'static [&'static str],
    pub client_id: &'static [&'static str],
    pub client_secret: &'static [&'static str],
    /// A PEM X.509 certificate; with `private_key` it replaces `client_secret`.
    pub certificate: &'static [&'static str],
    /// The certificate's PEM PKCS#8 RSA key.
    pub private_key: &'static [&'static str],
    pub app_display_name: &'static [&'static str],
    pub service_principal_id: &'static [&'static str],
}

/// Every key the secret is read from. Accepted spellings, snake_case first: ours, camelCase,
/// `az ad sp create-for-rbac` output.
pub const SECRET_KEYS: SecretKeys = SecretKeys {
    tenant_id: &["tenant_id", "tenantId", "tenant"],
    client_id: &["client_id", "clientId", "appId"],
    client_secret: &["client_secret", "clientSecret", "password"],
    certificate: &["certificate"],
    private_key: &["private_key", "privateKey"],
    app_display_name: &["app_display_name", "appDisplayName"],
    service_principal_id: &["service_principal_id", "servicePrincipalId"],
};

impl EntraCredentials {
    /// Parses the SecretString. Errors never quote a value from the secret.
    pub fn parse(secret_id: &str, text: &str) -> Result<Self, SecretError> {
        // Editors on Windows save JSON with a UTF-8 byte-order mark; JSON parsers reject it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let fields = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => {
                return Err(malformed(
                    secret_id,
                    "the top level is not an object".into(),
                ));
            }
            Err(error) => {
                let problem = format!(
                    "invalid JSON at line {} column {}",
                    error.line(),
                    error.column()
                );
                return Err(malformed(secret_id, problem));
            }
        };
        let reader = Fields { secret_id, fields };
        let tenant = reader.required("tenant_id", SECRET_KEYS.tenant_id)?;
        let client_id = reader.required("client_id", SECRET_KEYS.client_id)?;
        let credential = reader.credential()?;
        let service_principal_id = reader
            .optional("service_principal_id", SECRET_KEYS.service_principal_id)?
            .map(|id| parse_guid(&id).map_err(|fix| reader.invalid("service_principal_id", fix)))
            .transpose()?;
        Ok(Self {
            tenant_id: tenant
                .parse()
                .map_err(|fix| reader.invalid("tenant_id", fix))?,
            client_id: parse_guid(&client_id).map_err(|_| {
                reader.invalid(
                    "client_id",
                    "expected the Application (client) ID, a GUID, from the app registration's \
                     Overview page"
                        .into(),
                )
            })?,
            credential,
            app_display_name: reader.optional("app_display_name", SECRET_KEYS.app_display_name)?,
            service_principal_id,
        })
    }
}

fn malformed(secret_id: &str, problem: String) -> SecretError {
    SecretError::Malformed {
        secret_id: secret_id.to_string(),
        problem,
    }
}

struct Fields<'a> {
    secret_id: &'a str,
    fields: Map<String, Value>,
}

impl Fields<'_> {
    /// The first present spelling, trimmed; blank counts as absent. Wrong types are errors.
    fn optional(&self, field: &'static str, keys: &[&str]) -> Result<Option<String>, SecretError> {
        for key in keys {
            match self.fields.get(*key) {
                None | Some(Value::Null) => continue,
                Some(Value::String(text)) if text.trim().is_empty() => continue,
                Some(Value::String(text)) => return Ok(Some(text.trim().to_string())),
                Some(_) => {
                    return Err(self.invalid(field, format!("`{key}` must be a JSON string")));
                }
            }
        }
        Ok(None)
    }

    /// A certificate and key when the secret has a certificate (it wins over a client
    /// secret), else the client secret.
    fn credential(&self) -> Result<ClientCredential, SecretError> {
        let Some(certificate) = self.optional("certificate", SECRET_KEYS.certificate)? else {
            let secret = self.required("client_secret", SECRET_KEYS.client_secret)?;
            return Ok(ClientCredential::Secret(Sensitive::new(secret)));
        };
        let key = Zeroizing::new(self.required("private_key", SECRET_KEYS.private_key)?);
        CertificateCredential::from_pem(&certificate, &key, SystemTime::now())
            .map(|credential| ClientCredential::Certificate(Arc::new(credential)))
            .map_err(|error| self.invalid(error.field(), error.to_string()))
    }

    fn required(&self, field: &'static str, keys: &[&str]) -> Result<String, SecretError> {
        self.optional(field, keys)?
            .ok_or_else(|| SecretError::MissingField {
                secret_id: self.secret_id.to_string(),
                field,
                keys: keys.join(", "),
            })
    }

    fn invalid(&self, field: &'static str, fix: String) -> SecretError {
        SecretError::InvalidField {
            secret_id: self.secret_id.to_string(),
            field,
            fix,
        }
    }
}

/// Whether the credentials were read during this invocation, or earlier and so may predate
/// a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    ThisInvocation,
    MaybeStale,
}

/// Reads and caches the credentials secret. The SDK client is built on first use (see
/// [`AwsClients`]), so a cold start does no AWS work before the first invocation asks for it.
pub struct SecretStore {
    secret_id: String,
    aws: Arc<AwsClients>,
    cached: Mutex<Option<(Instant, Arc<EntraCredentials>)>>,
}

impl SecretStore {
    pub fn new(secret_id: String, aws: Arc<AwsClients>) -> Self {
        Self {
            secret_id,
            aws,
            cached: Mutex::new(None),
        }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    pub async fn credentials(
        &self,
        deadline: &Deadline,
    ) -> Result<(Arc<EntraCredentials>, Freshness), SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some((read_at, credentials)) = cached.as_ref()
            && read_at.elapsed() < CACHE_TTL
        {
            let freshness = if *read_at >= deadline.started() {
                Freshness::ThisInvocation
            } else {
                Freshness::MaybeStale
            };
            return Ok((credentials.clone(), freshness));
        }
        let credentials = Arc::new(self.read(deadline).await?);
        *cached = Some((Instant::now(), credentials.clone()));
        Ok((credentials, Freshness::ThisInvocation))
    }

    /// Forgets the cached value, so the next read picks up a rotated secret.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn read(&self, deadline: &Deadline) -> Result<EntraCredentials, SecretError> {
        let unavailable = |detail: String| SecretError::Unavailable {
            secret_id: self.secret_id.clone(),
            detail,
        };
        let remaining = deadline
            .remaining()
            .ok_or_else(|| unavailable("the invocation's deadline was reached".into()))?;
        let limit = CALL_TIMEOUT.min(remaining);
        let call = async {
            let client = self.aws.secrets_manager().await;
            client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send()
                .await
        };
        let output = tokio::time::timeout(limit, call)
            .await
            .map_err(|_| unavailable(format!("no answer within {limit:?}")))?
            .map_err(|error| self.explain(error))?;
        info!(secret_id = %self.secret_id, "read the credentials secret");
        let text = output.secret_string().ok_or_else(|| SecretError::NotText {
            secret_id: self.secret_id.clone(),
        })?;
        EntraCredentials::parse(&self.secret_id, text)
    }

    fn explain<E>(&self, error: aws_sdk_secretsmanager::error::SdkError<E>) -> SecretError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let detail = DisplayErrorContext(&error).to_string();
        classify_aws_error(&self.secret_id, error_code(&error), &detail)
    }
}

/// Sorts a Secrets Manager failure by its AWS error code (or, for failures before any answer,
/// by the SDK's text) into what the admin must do.
fn classify_aws_error(secret_id: &str, code: Option<&str>, detail: &str) -> SecretError {
    let secret_id = secret_id.to_string();
    match code {
        Some("ResourceNotFoundException") => SecretError::NotFound { secret_id },
        Some(
            code @ ("AccessDeniedException"
            | "DecryptionFailure"
            | "KMSAccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"),
        ) => SecretError::AccessDenied {
            secret_id,
            code: code.to_string(),
        },
        _ => SecretError::Unavailable {
            secret_id,
            detail: unavailable_detail(detail),
        },
    }
}

#[cfg(test)]
mod tests;
