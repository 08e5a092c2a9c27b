//! Which enterprise application an invocation acts on: the request's target, else the
//! function's, else the secret's; a display name is resolved through Graph and remembered.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::config::{ConfigError, Settings};
use crate::domain::Target;
use crate::error::SyncError;
use crate::graph::model::ServicePrincipal;
use crate::graph::{GraphClient, Operation, Traced, bad_data, usable_id};
use crate::request::SyncRequest;
use crate::secret::EntraCredentials;
use crate::transport::Deadline;
use crate::usecase::Context;

/// A display name's service principal id changes only when the app is recreated.
const RESOLVED_TTL: Duration = Duration::from_secs(3600);

/// The request's target, else the function's, else the secret's; an id beats a name.
pub fn target(
    settings: &Settings,
    request: &SyncRequest,
    credentials: &EntraCredentials,
) -> Result<Target, SyncError> {
    if let Some(target) = request.target.clone().or_else(|| settings.target.clone()) {
        return Ok(target);
    }
    let id = credentials.service_principal_id.as_deref();
    let from_secret =
        Target::from_parts(id, credentials.app_display_name.as_deref()).map_err(|fix| {
            ConfigError::Invalid {
                variable: "service_principal_id",
                value: id.unwrap_or_default().to_string(),
                fix,
            }
        })?;
    from_secret.ok_or(SyncError::Config(ConfigError::MissingTarget))
}

/// What a restart/start/status or provision acts on: the target (which may come from the
/// secret, so the secret is read first) and its service principal.
pub async fn acted_on(
    context: &Context,
    request: &SyncRequest,
    deadline: &Deadline,
) -> Result<(Target, ServicePrincipal), SyncError> {
    let credentials = context.clients.auth.credentials(deadline).await?;
    let target = target(&context.settings, request, &credentials)?;
    let service_principal = context
        .resolver
        .resolve(&context.clients.graph, &target, deadline)
        .await?;
    Ok((target, service_principal))
}

/// Display names resolved to service principals, remembered for [`RESOLVED_TTL`].
#[derive(Default)]
pub struct Resolver {
    resolved: Mutex<HashMap<String, (Instant, ServicePrincipal)>>,
}

impl Resolver {
    pub async fn resolve(
        &self,
        graph: &GraphClient,
        target: &Target,
        deadline: &Deadline,
    ) -> Result<ServicePrincipal, SyncError> {
        let name = match target {
            Target::ServicePrincipalId(id) => {
                return Ok(ServicePrincipal {
                    id: id.clone(),
                    ..Default::default()
                });
            }
            Target::DisplayName(name) => name,
        };
        if let Some(cached) = self.cached(name) {
            return Ok(cached);
        }
        let Traced {
            value: mut found, ..
        } = graph.find_service_principals(name, deadline).await?;
        // An entry without a usable id cannot be acted on (it would become another URL).
        let listed = found.len();
        found.retain(|sp| usable_id(&sp.id));
        if found.len() < listed {
            warn!(
                display_name = %name,
                skipped = listed - found.len(),
                "Graph listed service principals without a usable id (null, empty, \".\" or \"..\"); they were skipped"
            );
            if found.is_empty() {
                return Err(SyncError::from(bad_data(
                    Operation::FindServicePrincipal,
                    format!(
                        "Graph listed {listed} service principals named {name:?}, none with a \
                         usable id; set SERVICE_PRINCIPAL_ID to the enterprise application's \
                         object id instead"
                    ),
                )));
            }
        }
        match found.len() {
            0 => Err(SyncError::ServicePrincipalNotFound { name: name.clone() }),
            1 => {
                let service_principal = found.remove(0);
                info!(display_name = %name, service_principal_id = %service_principal.id, "resolved the service principal");
                self.remember(name, &service_principal);
                Ok(service_principal)
            }
            count => Err(SyncError::AmbiguousServicePrincipal {
                name: name.clone(),
                count,
                ids: found
                    .iter()
                    .map(|sp| sp.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Drops a remembered name, e.g. when Graph no longer knows its service principal.
    pub fn forget(&self, target: &Target) {
        if let (Target::DisplayName(name), Ok(mut resolved)) = (target, self.resolved.lock()) {
            resolved.remove(&name.to_lowercase());
        }
    }

    fn cached(&self, name: &str) -> Option<ServicePrincipal> {
        let resolved = self.resolved.lock().ok()?;
        let (at, service_principal) = resolved.get(&name.to_lowercase())?;
        (at.elapsed() < RESOLVED_TTL).then(|| service_principal.clone())
    }

    fn remember(&self, name: &str, service_principal: &ServicePrincipal) {
        if let Ok(mut resolved) = self.resolved.lock() {
            resolved.insert(
                name.to_lowercase(),
                (Instant::now(), service_principal.clone()),
            );
        }
    }
}

/// How messages name the application: its display name and id when known.
pub fn app_name(service_principal: &ServicePrincipal) -> String {
    match &service_principal.display_name {
        Some(name) => format!("{name:?} ({})", service_principal.id),
        None => format!("service principal {}", service_principal.id),
    }
}
