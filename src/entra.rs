//! Microsoft Graph access tokens: the v2.0 client-credentials flow, cached until shortly
//! before expiry. A rejected credential makes us re-read the secret once, so a rotated
//! client secret is picked up without a cold start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::secret::{EntraCredentials, Freshness, SecretError, SecretStore};
use crate::sensitive::Sensitive;
use crate::transport::{Deadline, Idempotency, Transport, TransportError};

/// Refresh this long before expiry (or at half-life for short-lived tokens).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const MAX_TOKEN_LIFETIME: u64 = 24 * 3600;

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
    /// True when the credentials themselves were refused, so a re-read secret may help.
    pub fn is_credential_rejection(&self) -> bool {
        matches!(self, Self::Rejected { code: Some(code), .. }
            if ["AADSTS7000215", "AADSTS7000222", "AADSTS700016", "AADSTS7000216"].contains(&code.as_str()))
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Entra(#[from] EntraError),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenErrorBody {
    error: String,
    error_description: String,
    error_codes: Vec<u64>,
    trace_id: String,
    correlation_id: String,
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
        deadline: &Deadline,
    ) -> Result<AccessToken, EntraError> {
        let url = self.token_url(credentials);
        let form = [
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose()),
            ("scope", self.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let unavailable = |detail: String| EntraError::Unavailable {
            endpoint: self.authority.to_string(),
            detail,
        };
        let sent = self
            .transport
            .send("entra token", Idempotency::Safe, deadline, |client| {
                client.post(url.clone()).form(&form)
            })
            .await
            .map_err(|error: TransportError| unavailable(error.to_string()))?;
        let status = sent.response.status();
        let body = sent
            .response
            .bytes()
            .await
            .map_err(|error| unavailable(format!("reading the answer failed: {error}")))?;
        if status.is_success() {
            let token: TokenResponse = serde_json::from_slice(&body)
                .map_err(|_| unavailable(format!("HTTP {status} without a token in the body")))?;
            return Ok(fresh_token(token));
        }
        let error = serde_json::from_slice::<TokenErrorBody>(&body).unwrap_or_default();
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
        Err(rejected(error))
    }

    fn token_url(&self, credentials: &EntraCredentials) -> Url {
        let mut url = self.authority.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend([
                credentials.tenant_id.as_str(),
                "oauth2",
                "v2.0",
                "token",
            ]);
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

fn rejected(body: TokenErrorBody) -> EntraError {
    let code = body.error_codes.first().map(|code| format!("AADSTS{code}"));
    // The first sentence says what happened; the rest is trace noise we report separately.
    let first_line = body.error_description.lines().next().unwrap_or_default();
    let first_sentence = first_line.split(". ").next().unwrap_or_default();
    let summary = strip_code(first_sentence).trim_end_matches('.').to_string();
    EntraError::Rejected {
        advice: advice(code.as_deref(), &summary),
        code,
        error: body.error,
        trace_id: body.trace_id,
        correlation_id: body.correlation_id,
    }
}

/// `AADSTS7000215: Invalid client secret provided` -> `Invalid client secret provided`.
fn strip_code(sentence: &str) -> &str {
    match sentence.split_once(": ") {
        Some((code, rest)) if code.starts_with("AADSTS") => rest,
        _ => sentence,
    }
}

/// What the admin should do about an AADSTS error.
fn advice(code: Option<&str>, summary: &str) -> String {
    let fix = match code.unwrap_or_default() {
        "AADSTS7000215" => {
            "the client secret is wrong. Store the secret's VALUE (shown once when it is created), not its Secret ID, as client_secret in the Secrets Manager secret"
        }
        "AADSTS7000222" => {
            "the client secret has expired. Create a new one under App registrations > your app > Certificates & secrets and put its value in the Secrets Manager secret"
        }
        "AADSTS7000216" => {
            "no client secret was sent. Set client_secret in the Secrets Manager secret"
        }
        "AADSTS700016" => {
            "the application (client_id) was not found in this tenant. Check client_id and tenant_id in the secret, and AZURE_CLOUD"
        }
        "AADSTS90002" => {
            "the tenant was not found. Check tenant_id in the secret, and AZURE_CLOUD (a US Government or China tenant needs its cloud)"
        }
        "AADSTS900023" => {
            "the tenant id is malformed. Use the Directory (tenant) ID GUID or a verified domain as tenant_id"
        }
        "AADSTS7000112" => {
            "the application is disabled. Enable it in Entra ID > Enterprise applications > your app > Properties"
        }
        "AADSTS1002012" | "AADSTS500011" | "AADSTS70011" => {
            "the Graph scope was refused. Check AZURE_CLOUD matches the tenant's cloud"
        }
        _ => "check tenant_id, client_id and client_secret in the Secrets Manager secret",
    };
    match code {
        Some(code) => format!("{code}: {summary}: {fix}"),
        None => format!("{summary}: {fix}"),
    }
}

/// Hands out bearer tokens for Graph, reading the secret and the token endpoint only when
/// the cached ones are stale.
pub struct Authenticator {
    secrets: SecretStore,
    tokens: TokenClient,
    cached: Mutex<Option<AccessToken>>,
}

impl Authenticator {
    pub fn new(secrets: SecretStore, tokens: TokenClient) -> Self {
        Self {
            secrets,
            tokens,
            cached: Mutex::new(None),
        }
    }

    pub async fn credentials(
        &self,
        deadline: &Deadline,
    ) -> Result<Arc<EntraCredentials>, SecretError> {
        Ok(self.secrets.credentials(deadline).await?.0)
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
        let (credentials, freshness) = self.secrets.credentials(deadline).await?;
        match self.tokens.request(&credentials, deadline).await {
            Err(error) if error.is_credential_rejection() && freshness == Freshness::MaybeStale => {
                warn!(error = %error, "Entra ID rejected the cached credentials; re-reading the secret once");
                self.secrets.invalidate().await;
                let (credentials, _) = self.secrets.credentials(deadline).await?;
                Ok(self.tokens.request(&credentials, deadline).await?)
            }
            Ok(token) => {
                info!(client_id = %credentials.client_id, "got a Microsoft Graph token");
                Ok(token)
            }
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_errors_become_instructions() {
        let body: TokenErrorBody = serde_json::from_str(
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: t1 Correlation ID: c1 Timestamp: 2026-11-28 09:00:00Z","error_codes":[7000215],"trace_id":"t1","correlation_id":"c1"}"#,
        )
        .unwrap();
        let error = rejected(body);
        assert!(error.is_credential_rejection());
        let text = error.to_string();
        for expected in [
            "AADSTS7000215",
            "VALUE",
            "Secret ID",
            "trace id t1",
            "correlation id c1",
        ] {
            assert!(text.contains(expected), "{text}");
        }
    }

    #[test]
    fn entra_line_breaks_end_the_summary() {
        let body: TokenErrorBody = serde_json::from_str(
            r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[90002]}"#,
        )
        .unwrap();
        let text = rejected(body).to_string();
        assert!(
            text.contains("AADSTS90002: Tenant 'x' not found: the tenant"),
            "{text}"
        );
        assert!(!text.contains("Trace ID: t"), "{text}");
    }

    #[test]
    fn short_lived_tokens_refresh_at_half_life() {
        let token = fresh_token(TokenResponse {
            access_token: "t".into(),
            expires_in: Some(2),
        });
        assert!(token.is_fresh());
        assert!(token.refresh_at <= Instant::now() + Duration::from_secs(1));
    }
}
