//! The provision action as the invocation sees it: which app and job, then a [`Run`], then the
//! report. Kept apart from the run so the run reads as the provisioning story alone.

use std::time::Instant;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Ask, Run};
use crate::domain::{Action, Target};
use crate::error::SyncError;
use crate::report::Report;
use crate::request::SyncRequest;
use crate::transport::Deadline;
use crate::usecase::Context;
use crate::usecase::resolve::{self, app_name};

pub async fn run(
    context: &Context,
    request: &SyncRequest,
    deadline: Deadline,
) -> Result<Report, SyncError> {
    let started_at = OffsetDateTime::now_utc();
    let clock = Instant::now();
    let graph = &context.clients.graph;
    let (target, service_principal) = resolve::acted_on(context, request, &deadline).await?;
    let app = app_name(&service_principal);
    let mut request_ids = Vec::new();
    let job_id = context
        .provisioner
        .jobs
        .job_id(
            graph,
            &service_principal.id,
            &app,
            request.job_id.as_deref(),
            &mut request_ids,
            &deadline,
        )
        .await
        .map_err(|error| unknown_app(context, &target, error))?;
    let ask = Ask {
        users: request.users.clone(),
        groups: request.groups.clone(),
        dry_run: request.dry_run,
        force: request.force,
    };
    let mut provision = Run {
        graph,
        store: context.clients.state.as_ref(),
        guard: &context.guard,
        provisioner: &context.provisioner,
        service_principal: &service_principal,
        job_id: &job_id,
        request: &ask,
        deadline: &deadline,
    }
    .run()
    .await?;
    provision.graph_request_ids.splice(0..0, request_ids);
    Ok(Report {
        summary: provision.summary(&app),
        action: Action::Provision,
        dry_run: request.dry_run,
        reset_scope: None,
        service_principal,
        jobs: Vec::new(),
        ignored_jobs: Vec::new(),
        jobs_omitted: 0,
        checks: Vec::new(),
        started_at: started_at.format(&Rfc3339).unwrap_or_default(),
        duration_ms: clock.elapsed().as_millis() as u64,
        function_version: env!("CARGO_PKG_VERSION"),
        provision: Some(provision),
    })
}

/// A listing that found no service principal: a remembered name is forgotten, and the error
/// names what the admin configured.
fn unknown_app(context: &Context, target: &Target, error: SyncError) -> SyncError {
    if !matches!(error, SyncError::ServicePrincipalIdNotFound { .. }) {
        return error;
    }
    context.resolver.forget(target);
    match target {
        Target::DisplayName(name) => SyncError::ServicePrincipalNotFound { name: name.clone() },
        Target::ServicePrincipalId(_) => error,
    }
}
