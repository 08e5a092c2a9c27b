//! The invocation's one error type: every failure class an admin can meet, its `errorType`
//! (what alarms and log queries match on) and a message that says what to fix.

use lambda_runtime::Diagnostic;
use thiserror::Error;

use crate::checks::{CheckResult, CheckStatus};
use crate::config::ConfigError;
use crate::entra::{AuthError, EntraError};
use crate::federation::FederationError;
use crate::graph::{GraphError, GraphErrorKind};
use crate::request::RequestError;
use crate::secret::SecretError;
use crate::state::StateError;
use crate::usecase::provision::error::ProvisionError;

#[derive(Error, Clone, PartialEq, Eq)]
pub enum SyncError {
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Request(#[from] RequestError),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Entra(#[from] EntraError),
    #[error("{0}")]
    Federation(#[from] FederationError),
    #[error("{0}")]
    Graph(GraphError),
    #[error(
        "no enterprise application named {name:?} was found in the tenant: check APP_DISPLAY_NAME \
         (or appDisplayName / app_display_name) against Entra ID > Enterprise applications (the \
         gallery app is named \"AWS IAM Identity Center (successor to AWS Single Sign-On)\" \
         unless it was renamed), or better, set SERVICE_PRINCIPAL_ID to its object id. The \
         search sees every enterprise application (Application.Read.All and \
         Application.ReadWrite.OwnedBy both list all of them), so this is the name, not a \
         permission"
    )]
    ServicePrincipalNotFound { name: String },
    #[error(
        "no service principal {id} was found in the tenant: set SERVICE_PRINCIPAL_ID (or \
         servicePrincipalId) to the object id shown on the IAM Identity Center enterprise \
         application's Overview page"
    )]
    ServicePrincipalIdNotFound { id: String },
    #[error(
        "{count} enterprise applications are named {name:?} (object ids: {ids}): set \
         SERVICE_PRINCIPAL_ID to the object id of the one that provisions IAM Identity Center"
    )]
    AmbiguousServicePrincipal {
        name: String,
        count: usize,
        ids: String,
    },
    #[error(
        "provisioning is not configured for {app}: it has no synchronization job. In Entra ID > \
         Enterprise applications > {app} > Provisioning, set Provisioning Mode to Automatic with \
         the SCIM endpoint and access token from IAM Identity Center, and save"
    )]
    ProvisioningNotConfigured { app: String },
    #[error("jobId {job_id:?} is not a synchronization job of {app}; its jobs are: {available}")]
    JobNotFound {
        job_id: String,
        app: String,
        available: String,
    },
    #[error("{failed} of {total} synchronization jobs failed: {details}")]
    JobsFailed {
        failed: usize,
        total: usize,
        details: String,
        error_type: &'static str,
    },
    #[error("the provisioning cycle failed: {details}")]
    CycleFailed { details: String },
    /// The `check` action found something broken; `checks` are all of its findings.
    #[error("{} check(s) failed: {details}", failed_count(checks))]
    CheckFailed {
        details: String,
        checks: Vec<CheckResult>,
    },
    #[error("unhealthy synchronization: {details}")]
    Unhealthy { details: String, quarantined: bool },
    #[error(
        "the invocation ran out of time before it finished; raise the function Timeout or \
         lower WAIT_LIMIT_SECONDS"
    )]
    DeadlineExceeded,
    #[error("the function could not start: {0}")]
    Startup(String),
    #[error("{0}")]
    Provision(#[from] ProvisionError),
    #[error("{0}")]
    State(#[from] StateError),
}

impl From<GraphError> for SyncError {
    fn from(error: GraphError) -> Self {
        match error {
            GraphError::Auth(AuthError::Secret(error)) => Self::Secret(error),
            GraphError::Auth(AuthError::Entra(error)) => Self::Entra(error),
            GraphError::Auth(AuthError::Federation(error)) => Self::Federation(error),
            other => Self::Graph(other),
        }
    }
}

impl From<AuthError> for SyncError {
    fn from(error: AuthError) -> Self {
        GraphError::Auth(error).into()
    }
}

impl SyncError {
    /// The failure class, reported as Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Config(_) => "ConfigurationError",
            Self::Request(_) => "InvalidRequest",
            Self::Secret(error) => secret_error_type(error),
            Self::Entra(EntraError::Rejected { .. }) => "EntraAuthenticationFailed",
            Self::Entra(EntraError::Unavailable { .. }) => "EntraUnavailable",
            Self::Federation(_) => "AwsFederationFailed",
            Self::Graph(error) => graph_error_type(error),
            Self::ServicePrincipalNotFound { .. } | Self::ServicePrincipalIdNotFound { .. } => {
                "ServicePrincipalNotFound"
            }
            Self::AmbiguousServicePrincipal { .. } => "AmbiguousServicePrincipal",
            Self::ProvisioningNotConfigured { .. } => "ProvisioningNotConfigured",
            Self::JobNotFound { .. } => "JobNotFound",
            Self::JobsFailed { error_type, .. } => error_type,
            Self::CycleFailed { .. } => "SynchronizationCycleFailed",
            Self::Unhealthy {
                quarantined: true, ..
            } => "JobQuarantined",
            Self::Unhealthy { .. } => "UnhealthySynchronizationJob",
            Self::CheckFailed { .. } => "CheckFailed",
            Self::DeadlineExceeded => "Timeout",
            Self::Startup(_) => "StartupError",
            Self::Provision(error) => error.error_type(),
            Self::State(_) => "StateStoreError",
        }
    }
}

fn failed_count(checks: &[CheckResult]) -> usize {
    checks
        .iter()
        .filter(|check| check.status == CheckStatus::Failed)
        .count()
}

fn secret_error_type(error: &SecretError) -> &'static str {
    match error {
        SecretError::NotFound { .. } => "SecretNotFound",
        SecretError::AccessDenied { .. } => "SecretAccessDenied",
        SecretError::Unavailable { .. } => "SecretsManagerUnavailable",
        _ => "InvalidSecret",
    }
}

fn graph_error_type(error: &GraphError) -> &'static str {
    match error.kind() {
        Some(GraphErrorKind::PermissionDenied) => "GraphPermissionDenied",
        Some(GraphErrorKind::Unauthorized) => "GraphUnauthorized",
        Some(GraphErrorKind::NotFound) => "GraphNotFound",
        Some(GraphErrorKind::Throttled) => "GraphThrottled",
        Some(GraphErrorKind::Unavailable) => "GraphUnavailable",
        Some(GraphErrorKind::BadRequest) => "GraphBadRequest",
        Some(GraphErrorKind::Timeout) => "Timeout",
        Some(GraphErrorKind::Unexpected) | None => "GraphError",
    }
}

/// The runtime logs handler errors with `Debug`: make that line as readable as ours.
impl std::fmt::Debug for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {self}", self.error_type())
    }
}

impl From<SyncError> for Diagnostic {
    fn from(error: SyncError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}
