//! The use case: find the IAM Identity Center app's synchronization jobs, act on them
//! (guarded against restart storms), optionally wait for the new cycle, judge and report.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::info;

use crate::config::{ConfigError, Settings};
use crate::cycle::wait_for_cycle;
use crate::domain::{Action, ResetScope, Target};
use crate::entra::{Authenticator, TokenClient};
use crate::error::SyncError;
use crate::graph::model::{ServicePrincipal, SynchronizationJob};
use crate::graph::{GraphClient, GraphError, GraphErrorKind, Traced};
use crate::guard::TriggerGuard;
use crate::report::{JobReport, JobResult, JobState, Report};
use crate::request::SyncRequest;
use crate::secret::{EntraCredentials, SecretStore};
use crate::transport::{Deadline, RetryPolicy, Transport};
use crate::{metrics, outcome};

/// A display name's service principal id changes only when the app is recreated.
const RESOLVED_TTL: Duration = Duration::from_secs(3600);
/// Jobs acted on at once (an app rarely has more than one or two); bounded so a tenant with
/// many jobs does not burst Graph.
const JOB_CONCURRENCY: usize = 8;

/// The configuration and the request, merged: what this invocation will do.
#[derive(Debug, Clone)]
struct Plan {
    action: Action,
    reset_scope: ResetScope,
    job_id: Option<String>,
    dry_run: bool,
    /// How long to wait for the triggered cycle, when waiting.
    wait: Option<Duration>,
    force: bool,
}

impl Plan {
    fn new(settings: &Settings, request: &SyncRequest) -> Self {
        let wait = request.wait.unwrap_or(settings.wait.enabled);
        Self {
            action: request.action.unwrap_or(settings.action),
            reset_scope: request
                .reset_scope
                .clone()
                .unwrap_or_else(|| settings.reset_scope.clone()),
            job_id: request.job_id.clone(),
            dry_run: request.dry_run,
            wait: wait.then(|| request.wait_limit.unwrap_or(settings.wait.limit)),
            force: request.force,
        }
    }
}

/// Everything one execution environment keeps between invocations.
pub struct SyncService {
    settings: Settings,
    auth: Arc<Authenticator>,
    graph: GraphClient,
    guard: TriggerGuard,
    resolved: Mutex<HashMap<String, (Instant, ServicePrincipal)>>,
}

impl SyncService {
    pub fn new(settings: Settings) -> Result<Self, SyncError> {
        let transport = Transport::new(settings.http_timeout, RetryPolicy::default())
            .map(Arc::new)
            .map_err(|error| SyncError::Startup(format!("the HTTP client failed: {error}")))?;
        let tokens = TokenClient::new(
            transport.clone(),
            settings.endpoints.authority.clone(),
            settings.endpoints.scope.clone(),
        );
        let auth = Arc::new(Authenticator::new(
            SecretStore::new(settings.secret_id.clone()),
            tokens,
        ));
        let graph = GraphClient::new(transport, auth.clone(), &settings.endpoints.graph);
        Ok(Self {
            guard: TriggerGuard::new(settings.min_trigger_interval),
            settings,
            auth,
            graph,
            resolved: Mutex::new(HashMap::new()),
        })
    }

    pub async fn run(&self, request: SyncRequest, deadline: Deadline) -> Result<Report, SyncError> {
        let started_at = OffsetDateTime::now_utc();
        let clock = Instant::now();
        let plan = Plan::new(&self.settings, &request);
        let credentials = self.auth.credentials(&deadline).await?;
        let target = self.target(&request, &credentials)?;
        let service_principal = self.resolve(&target, &deadline).await?;
        let jobs = self
            .jobs(&service_principal, &target, &plan, &deadline)
            .await?;
        let reports: Vec<JobReport> = stream::iter(jobs.value.iter())
            .map(|job| self.act(&plan, &service_principal, job, &jobs.request_ids, &deadline))
            .buffered(JOB_CONCURRENCY)
            .collect()
            .await;
        reports.iter().for_each(JobReport::log_summary);
        metrics::emit(&reports);
        outcome::check(plan.action, &reports)?;
        let app = app_name(&service_principal);
        Ok(Report {
            summary: Report::summarize(plan.action, plan.dry_run, &app, &reports),
            action: plan.action,
            dry_run: plan.dry_run,
            reset_scope: plan.reset_scope.criteria(),
            service_principal,
            jobs: reports,
            started_at: started_at.format(&Rfc3339).unwrap_or_default(),
            duration_ms: clock.elapsed().as_millis() as u64,
            function_version: env!("CARGO_PKG_VERSION"),
        })
    }

    /// The request's target, else the function's, else the secret's; an id beats a name.
    fn target(
        &self,
        request: &SyncRequest,
        credentials: &EntraCredentials,
    ) -> Result<Target, SyncError> {
        if let Some(target) = request
            .target
            .clone()
            .or_else(|| self.settings.target.clone())
        {
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

    async fn resolve(
        &self,
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
        } = self.graph.find_service_principals(name, deadline).await?;
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

    fn forget(&self, target: &Target) {
        if let (Target::DisplayName(name), Ok(mut resolved)) = (target, self.resolved.lock()) {
            resolved.remove(&name.to_lowercase());
        }
    }

    /// The jobs to act on: all of them, or the one `jobId` names.
    async fn jobs(
        &self,
        service_principal: &ServicePrincipal,
        target: &Target,
        plan: &Plan,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<SynchronizationJob>>, SyncError> {
        let mut jobs = match self.graph.list_jobs(&service_principal.id, deadline).await {
            Err(error) if error.kind() == Some(GraphErrorKind::NotFound) => {
                self.forget(target);
                return Err(match target {
                    Target::ServicePrincipalId(id) => {
                        SyncError::ServicePrincipalIdNotFound { id: id.clone() }
                    }
                    Target::DisplayName(name) => {
                        SyncError::ServicePrincipalNotFound { name: name.clone() }
                    }
                });
            }
            other => other?,
        };
        jobs.value.retain(|job| !job.id.is_empty());
        let app = app_name(service_principal);
        if jobs.value.is_empty() {
            return Err(SyncError::ProvisioningNotConfigured { app });
        }
        if let Some(wanted) = &plan.job_id {
            let available = jobs
                .value
                .iter()
                .map(|job| job.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            jobs.value.retain(|job| &job.id == wanted);
            if jobs.value.is_empty() {
                return Err(SyncError::JobNotFound {
                    job_id: wanted.clone(),
                    app,
                    available,
                });
            }
        }
        Ok(jobs)
    }

    /// Judges, guards, triggers and (when asked) waits for one job.
    async fn act(
        &self,
        plan: &Plan,
        service_principal: &ServicePrincipal,
        job: &SynchronizationJob,
        list_request_ids: &[String],
        deadline: &Deadline,
    ) -> JobReport {
        let now = OffsetDateTime::now_utc();
        let mut report = JobReport::new(&service_principal.id, job, plan.action, now);
        report.graph_request_ids.extend_from_slice(list_request_ids);
        if plan.action == Action::Status {
            return report;
        }
        if let Some(reason) = self
            .guard
            .check(plan.action, job, now)
            .filter(|_| !plan.force)
        {
            info!(job_id = %job.id, reason = %reason, "left the job alone");
            report.result = JobResult::Skipped;
            report.skip_reason = Some(reason);
            return report;
        }
        if plan.dry_run {
            report.result = JobResult::WouldTrigger;
            return report;
        }
        match self
            .trigger(plan, &service_principal.id, &job.id, deadline)
            .await
        {
            Ok(traced) => {
                self.guard.record(&job.id);
                report.result = JobResult::Triggered;
                report.graph_request_ids.extend(traced.request_ids);
            }
            Err(error) => {
                report.result = JobResult::Failed;
                report.failure = Some(error.into());
                return report;
            }
        }
        if let Some(limit) = plan.wait {
            let waited = wait_for_cycle(
                &self.graph,
                &service_principal.id,
                &job.id,
                now,
                limit,
                deadline,
            )
            .await;
            if let Some(latest) = &waited.job {
                report.state = JobState::read(latest, OffsetDateTime::now_utc());
            }
            report.graph_request_ids.extend(waited.request_ids);
            report.cycle = Some(waited.cycle);
        }
        report
    }

    async fn trigger(
        &self,
        plan: &Plan,
        service_principal_id: &str,
        job_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<()>, GraphError> {
        match plan.action {
            Action::Start => {
                self.graph
                    .start(service_principal_id, job_id, deadline)
                    .await
            }
            _ => {
                self.graph
                    .restart(service_principal_id, job_id, &plan.reset_scope, deadline)
                    .await
            }
        }
    }
}

fn app_name(service_principal: &ServicePrincipal) -> String {
    match &service_principal.display_name {
        Some(name) => format!("{name:?} ({})", service_principal.id),
        None => format!("service principal {}", service_principal.id),
    }
}
