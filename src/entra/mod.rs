//! Microsoft Graph access tokens: the v2.0 client-credentials flow, cached until shortly
//! before expiry. The app proves its identity with a client secret, a certificate assertion
//! ([`crate::certificate`]) or, with AWS outbound identity federation, an STS token
//! ([`crate::federation`]); a new proof is made for every token request. A rejected secret or
//! certificate makes us re-read the secret once, so a rotation is picked up without a cold start.

pub mod advice;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::Url;
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::Mutex;
use tracing::{info, warn};

use self::advice::{ProofKind, TokenErrorBody, rejected};
use crate::certificate::CertificateCredential;
use crate::domain::TenantId;
use crate::federation::{FederationError, WebIdentityTokens};
use crate::secret::{ClientCredential, EntraCredentials, Freshness, SecretError, SecretStore};
use crate::sensitive::{Sensitive, quote_untrusted};
use crate::transport::{Deadline, Idempotency, Transport, TransportError};

/// Refresh this long before expiry (or at half-life for short-lived tokens).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const MAX_TOKEN_LIFETIME: u64 = 24 * 3600;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EntraError {
    #[error(
        "Entra ID refused the token request: {advice} [{error}; trace id {trace_id}; correlation id {correlation_id}]"
    )]
    Rejected {
        /// e.g. `AADSTS7000215`, when Entra gave a code.
        code: Option<String>,
        error: String,
        advice: String,
        trace_id: String,
        correlation_id: String,
    },
    #[error("the Entra ID token endpoint {endpoint} failed: {detail}")]
    Unavailable { endpoint: String, detail: String },
}

impl EntraError {
    /// True when the stored credential itself was refused, so a re-read secret may help.
    pub fn is_credential_rejection(&self) -> bool {
        matches!(self, Self::Rejected { code: Some(code), .. }
            if ["AADSTS7000215", "AADSTS7000222", "AADSTS700016", "AADSTS7000216", "AADSTS700027"]
                .contains(&code.as_str()))
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Entra(#[from] EntraError),
    #[error(transparent)]
    Federation(#[from] FederationError),
}

/// What one token request carries to prove the app's identity. Made fresh for each request.
#[derive(Debug, Clone)]
pub struct Proof {
    /// `client_secret`, or a signed JWT sent as `client_assertion`.
    value: ProofValue,
    kind: ProofKind,
}

#[derive(Debug, Clone)]
enum ProofValue {
    Secret(Sensitive),
    Assertion(Sensitive),
    Certificate(CertificateAssertion),
}

/// A certificate assertion for one token request. The first attempt sends `first` (signed
/// before the request, so a problem shows before anything is sent); a retry of the same
/// request signs a new one, so no two requests Entra sees share a `jti`.
#[derive(Debug, Clone)]
struct CertificateAssertion {
    first: Sensitive,
    signer: Arc<CertificateCredential>,
    client_id: String,
    audience: String,
}

impl CertificateAssertion {
    fn for_attempt(&self, attempt: usize) -> Cow<'_, str> {
        if attempt > 0
            && let Ok(fresh) =
                self.signer
                    .assertion(&self.client_id, &self.audience, SystemTime::now())
        {
            return Cow::Owned(fresh.expose().to_string());
        }
        Cow::Borrowed(self.first.expose())
    }
}

impl Proof {
    pub fn client_secret(secret: Sensitive) -> Self {
        Self {
            value: ProofValue::Secret(secret),
            kind: ProofKind::ClientSecret,
        }
    }

    pub fn assertion(assertion: Sensitive, kind: ProofKind) -> Self {
        Self {
            value: ProofValue::Assertion(assertion),
            kind,
        }
    }

    fn certificate(
        first: Sensitive,
        signer: Arc<CertificateCredential>,
        client_id: &str,
        audience: &str,
    ) -> Self {
        let kind = ProofKind::Certificate {
            thumbprint: signer.thumbprint().to_string(),
        };
        Self {
            value: ProofValue::Certificate(CertificateAssertion {
                first,
                signer,
                client_id: client_id.to_string(),
                audience: audience.to_string(),
            }),
            kind,
        }
    }

    /// The form fields of the `attempt`th try (from 0) of one token request.
    fn form_fields(&self, attempt: usize) -> Vec<(&'static str, Cow<'_, str>)> {
        let assertion = |jwt| {
            vec![
                ("client_assertion_type", Cow::Borrowed(JWT_BEARER)),
                ("client_assertion", jwt),
            ]
        };
        match &self.value {
            ProofValue::Secret(secret) => vec![("client_secret", Cow::Borrowed(secret.expose()))],
            ProofValue::Assertion(jwt) => assertion(Cow::Borrowed(jwt.expose())),
            ProofValue::Certificate(signed) => assertion(signed.for_attempt(attempt)),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: String,
    /// Seconds; the v1 endpoint and some proxies send it as a string (`"3599"`).
    #[serde(default, deserialize_with = "lenient_seconds")]
    expires_in: Option<u64>,
}

fn lenient_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|s| *s >= 0.0).map(|s| s as u64)),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

/// What is wrong with a token Entra answered 200 with, if anything. The token itself is
/// never quoted. A bearer token is printable ASCII without spaces (RFC 6750 b64token).
fn unusable_token(token: &str) -> Option<&'static str> {
    if token.is_empty() {
        Some("an empty access_token")
    } else if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        Some("an access_token with control characters, spaces or non-ASCII characters")
    } else {
        None
    }
}

/// Entra's error answer with the proof we sent (client secret or assertion) and anything
/// token-like redacted, and each text capped: an endpoint that echoes the request must not
/// put a credential into an error.
fn redacted(body: TokenErrorBody, proof: &Proof) -> TokenErrorBody {
    // A retried certificate request sent a newer assertion: quote_untrusted removes any JWT.
    let sent = match &proof.value {
        ProofValue::Secret(value) | ProofValue::Assertion(value) => value.expose(),
        ProofValue::Certificate(signed) => signed.first.expose(),
    };
    let clean = |text: String| {
        let text = if sent.is_empty() {
            text
        } else {
            text.replace(sent, "[redacted]")
        };
        quote_untrusted(&text)
    };
    TokenErrorBody {
        error: clean(body.error),
        error_description: clean(body.error_description),
        error_codes: body.error_codes,
        trace_id: clean(body.trace_id),
        correlation_id: clean(body.correlation_id),
    }
}

/// A bearer token and when to stop using it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub value: Sensitive,
    refresh_at: Instant,
}

impl AccessToken {
    fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

/// Requests tokens from `{authority}/{tenant}/oauth2/v2.0/token`.
pub struct TokenClient {
    transport: Arc<Transport>,
    authority: Url,
    scope: String,
}

impl TokenClient {
    pub fn new(transport: Arc<Transport>, authority: Url, scope: String) -> Self {
        Self {
            transport,
            authority,
            scope,
        }
    }

    pub async fn request(
        &self,
        credentials: &EntraCredentials,
        proof: &Proof,
        deadline: &Deadline,
    ) -> Result<AccessToken, EntraError> {
        let url = self.token_url(&credentials.tenant_id);
        let fields = [
            ("client_id", credentials.client_id.as_str()),
            ("scope", self.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let attempts = AtomicUsize::new(0);
        let unavailable = |detail: String| EntraError::Unavailable {
            endpoint: self.authority.to_string(),
            detail,
        };
        let sent = self
            .transport
            .send("entra token", Idempotency::Safe, deadline, |client| {
                let attempt = attempts.fetch_add(1, Ordering::Relaxed);
                let mut form: Vec<(&str, Cow<'_, str>)> = fields
                    .iter()
                    .map(|(name, value)| (*name, Cow::Borrowed(*value)))
                    .collect();
                form.extend(proof.form_fields(attempt));
                client.post(url.clone()).form(&form)
            })
            .await
            .map_err(|error: TransportError| unavailable(error.to_string()))?;
        let status = sent.response.status();
        let body = sent
            .body()
            .await
            .map_err(|error| unavailable(format!("reading the answer failed: {error}")))?;
        if status.is_success() {
            // A 200 without a usable token is the endpoint's fault, not the credentials' and
            // not a network failure: say so, and do not retry it here.
            let bad_answer = |what: &str| {
                unavailable(format!(
                    "it gave a bad answer: HTTP {status} with {what}. Check that AZURE_CLOUD (or \
                     the authority endpoint) points at Microsoft's token endpoint and that no \
                     proxy rewrites its answers; the next run will try again"
                ))
            };
            let token: TokenResponse = serde_json::from_slice(&body)
                .map_err(|_| bad_answer("no JSON token in the body"))?;
            if let Some(problem) = unusable_token(&token.access_token) {
                return Err(bad_answer(problem));
            }
            return Ok(fresh_token(token));
        }
        let error = redacted(
            serde_json::from_slice::<TokenErrorBody>(&body).unwrap_or_default(),
            proof,
        );
        if status.is_server_error() || status.as_u16() == 429 || error.error.is_empty() {
            let code = error
                .error_codes
                .first()
                .map(|code| format!(", AADSTS{code}"))
                .unwrap_or_default();
            return Err(unavailable(format!(
                "HTTP {status}{code} after retries; the next run will try again"
            )));
        }
        Err(rejected(error, &proof.kind))
    }

    /// The token endpoint for the tenant: also the `aud` of a certificate assertion.
    pub fn token_url(&self, tenant: &TenantId) -> Url {
        let mut url = self.authority.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend([tenant.as_str(), "oauth2", "v2.0", "token"]);
        }
        url
    }
}

fn fresh_token(token: TokenResponse) -> AccessToken {
    // Entra issues tokens for at most a day; a larger value is not to be trusted.
    let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3599).min(MAX_TOKEN_LIFETIME));
    AccessToken {
        value: Sensitive::new(token.access_token),
        refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
    }
}

/// Where the app's credentials come from.
enum Source {
    /// The Secrets Manager secret: a client secret or a certificate.
    Secret(SecretStore),
    /// Nothing stored: tenant and client from the configuration, proof from STS.
    AwsFederation {
        credentials: Arc<EntraCredentials>,
        sts: WebIdentityTokens,
    },
}

/// Hands out bearer tokens for Graph, reading the secret (or asking STS) and the token
/// endpoint only when the cached token is stale.
pub struct Authenticator {
    source: Source,
    tokens: TokenClient,
    cached: Mutex<Option<AccessToken>>,
}

impl Authenticator {
    /// Credentials from the Secrets Manager secret.
    pub fn new(secrets: SecretStore, tokens: TokenClient) -> Self {
        Self::with_source(Source::Secret(secrets), tokens)
    }

    /// AWS outbound identity federation: no secret; each new token costs one STS call.
    pub fn federated(
        tenant_id: TenantId,
        client_id: String,
        sts: WebIdentityTokens,
        tokens: TokenClient,
    ) -> Self {
        let credentials = Arc::new(EntraCredentials {
            tenant_id,
            client_id,
            credential: ClientCredential::AwsFederation,
            app_display_name: None,
            service_principal_id: None,
        });
        Self::with_source(Source::AwsFederation { credentials, sts }, tokens)
    }

    fn with_source(source: Source, tokens: TokenClient) -> Self {
        Self {
            source,
            tokens,
            cached: Mutex::new(None),
        }
    }

    pub async fn credentials(
        &self,
        deadline: &Deadline,
    ) -> Result<Arc<EntraCredentials>, SecretError> {
        Ok(self.read_credentials(deadline).await?.0)
    }

    async fn read_credentials(
        &self,
        deadline: &Deadline,
    ) -> Result<(Arc<EntraCredentials>, Freshness), SecretError> {
        match &self.source {
            Source::Secret(secrets) => secrets.credentials(deadline).await,
            Source::AwsFederation { credentials, .. } => {
                Ok((credentials.clone(), Freshness::ThisInvocation))
            }
        }
    }

    /// A bearer token; `renew` forces a new one (Graph said the last one is no good).
    pub async fn bearer(&self, deadline: &Deadline, renew: bool) -> Result<Sensitive, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|token| !renew && token.is_fresh()) {
            return Ok(token.value.clone());
        }
        let token = self.new_token(deadline).await?;
        *cached = Some(token.clone());
        Ok(token.value)
    }

    async fn new_token(&self, deadline: &Deadline) -> Result<AccessToken, AuthError> {
        let (credentials, freshness) = self.read_credentials(deadline).await?;
        let proof = self.proof(&credentials, deadline).await?;
        match self.tokens.request(&credentials, &proof, deadline).await {
            Err(error) if error.is_credential_rejection() && freshness == Freshness::MaybeStale => {
                warn!(error = %error, "Entra ID rejected the cached credentials; re-reading the secret once");
                if let Source::Secret(secrets) = &self.source {
                    secrets.invalidate().await;
                }
                let (credentials, _) = self.read_credentials(deadline).await?;
                let proof = self.proof(&credentials, deadline).await?;
                Ok(self.tokens.request(&credentials, &proof, deadline).await?)
            }
            Ok(token) => {
                info!(client_id = %credentials.client_id, "got a Microsoft Graph token");
                Ok(token)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A fresh proof for one token request: the secret, a newly signed assertion, or a new
    /// STS token.
    async fn proof(
        &self,
        credentials: &EntraCredentials,
        deadline: &Deadline,
    ) -> Result<Proof, AuthError> {
        match &credentials.credential {
            ClientCredential::Secret(secret) => Ok(Proof::client_secret(secret.clone())),
            ClientCredential::Certificate(certificate) => {
                self.certificate_proof(credentials, certificate)
            }
            ClientCredential::AwsFederation => self.federation_proof(deadline).await,
        }
    }

    fn certificate_proof(
        &self,
        credentials: &EntraCredentials,
        certificate: &Arc<CertificateCredential>,
    ) -> Result<Proof, AuthError> {
        let audience = self.tokens.token_url(&credentials.tenant_id);
        let assertion = certificate
            .assertion(&credentials.client_id, audience.as_str(), SystemTime::now())
            // The certificate expired since the secret was read.
            .map_err(|error| SecretError::InvalidField {
                secret_id: match &self.source {
                    Source::Secret(secrets) => secrets.secret_id().to_string(),
                    Source::AwsFederation { .. } => String::new(),
                },
                field: error.field(),
                fix: error.to_string(),
            })?;
        Ok(Proof::certificate(
            assertion,
            certificate.clone(),
            &credentials.client_id,
            audience.as_str(),
        ))
    }

    async fn federation_proof(&self, deadline: &Deadline) -> Result<Proof, AuthError> {
        // Only `Authenticator::federated` makes AwsFederation credentials, with this source.
        let Source::AwsFederation { sts, .. } = &self.source else {
            return Err(FederationError::Unavailable {
                detail: "CREDENTIAL_SOURCE is not aws-federation".into(),
            }
            .into());
        };
        let token = sts.token(deadline).await?;
        let kind = ProofKind::AwsFederation {
            issuer: token.issuer,
            subject: token.subject,
        };
        Ok(Proof::assertion(token.value, kind))
    }
}

#[cfg(test)]
mod tests;
