//! The `check` action: diagnose everything the function depends on, change nothing.
//!
//! The checks run in order; a check that needs an earlier one (no token: nothing else can be
//! asked) is `unavailable` and says which. Each check's judgement is a pure function in its
//! own module; this one gathers what they judge. Any `failed` check fails the invocation
//! with `CheckFailed`; warnings and unavailable checks do not.

mod credential_expiry;
mod credentials;
mod jobs;
mod permissions;
mod provisioning_log;
mod scim;

use std::time::Instant;

use futures_util::future::join_all;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::info;

use super::Context;
use super::resolve::{self, app_name};
use super::trigger;
use crate::checks;
use crate::checks::{
    CLIENT_SECRET_EXPIRY, CheckResult, CheckStatus, JOBS, PERMISSIONS, PROVISIONING_ERRORS,
    SCIM_CONNECTION, SERVICE_PRINCIPAL,
};
use crate::claims;
use crate::domain::{Action, Target};
use crate::error::SyncError;
use crate::graph::model::{ServicePrincipal, SynchronizationJob};
use crate::graph::{GraphErrorKind, Traced};
use crate::metrics;
use crate::report::{IgnoredJob, JobReport, Report};
use crate::request::SyncRequest;
use crate::secret::EntraCredentials;
use crate::transport::Deadline;
pub use credential_expiry::CredentialInUse;

/// What the checks found, before the verdict.
struct Findings {
    checks: Vec<CheckResult>,
    service_principal: ServicePrincipal,
    jobs: Vec<JobReport>,
    /// Jobs Graph listed that could not be checked (no usable id, listed twice).
    ignored_jobs: Vec<IgnoredJob>,
    /// Days left on the credential in use, when the expiry check could read it.
    days_left: Option<i64>,
}

pub(super) async fn run(
    context: &Context,
    request: &SyncRequest,
    deadline: Deadline,
) -> Result<Report, SyncError> {
    let started_at = OffsetDateTime::now_utc();
    let clock = Instant::now();
    let findings = gather(context, request, &deadline).await;
    publish(&findings);
    let summary = format!("check: {}", checks::summarize(&findings.checks));
    if let Some(details) = checks::failures(&findings.checks) {
        return Err(SyncError::CheckFailed {
            details,
            checks: findings.checks,
        });
    }
    Ok(Report {
        summary,
        action: Action::Check,
        dry_run: request.dry_run,
        reset_scope: None,
        service_principal: findings.service_principal,
        jobs: findings.jobs,
        ignored_jobs: findings.ignored_jobs,
        jobs_omitted: 0,
        checks: findings.checks,
        started_at: started_at.format(&Rfc3339).unwrap_or_default(),
        duration_ms: clock.elapsed().as_millis() as u64,
        function_version: env!("CARGO_PKG_VERSION"),
        provision: None,
    })
}

/// The actions this deployment is configured to run, whose permissions the check compares:
/// the scheduled one (`SYNC_ACTION`) and the check itself.
fn configured_actions(context: &Context) -> Vec<Action> {
    let mut actions = vec![context.settings.action];
    if !actions.contains(&Action::Check) {
        actions.push(Action::Check);
    }
    actions
}

async fn gather(context: &Context, request: &SyncRequest, deadline: &Deadline) -> Findings {
    let mut findings = Findings {
        checks: Vec::new(),
        service_principal: ServicePrincipal::default(),
        jobs: Vec::new(),
        ignored_jobs: Vec::new(),
        days_left: None,
    };
    let (credentials, token) = match credentials::obtain(context, deadline).await {
        Ok(found) => found,
        Err(failure) => {
            findings.checks.extend(credentials::without_token(&failure));
            return findings;
        }
    };
    findings
        .checks
        .push(credentials::issued(&credentials, &context.settings));
    let target = resolve::target(&context.settings, request, &credentials);
    let by_name = matches!(target, Ok(Target::DisplayName(_)));
    findings.checks.push(match claims::decode(token.expose()) {
        Ok(claims) => permissions::judge(&claims.roles, &configured_actions(context), by_name),
        Err(error) => CheckResult::unavailable(
            PERMISSIONS,
            format!("the permissions could not be read: {error}"),
            "run the check again; if it persists, compare the app's API permissions with \
             docs/DEPLOY.md by hand",
        ),
    });
    let (expiry, days_left) = secret_expiry(context, &credentials, deadline).await;
    findings.checks.push(expiry);
    findings.days_left = days_left;
    let target = match target {
        Ok(target) => target,
        Err(error) => {
            findings.checks.push(CheckResult::failed(
                SERVICE_PRINCIPAL,
                error.to_string(),
                error.to_string(),
            ));
            findings.block_after(
                SERVICE_PRINCIPAL,
                &[JOBS, SCIM_CONNECTION, PROVISIONING_ERRORS],
            );
            return findings;
        }
    };
    let Some(jobs) = find_jobs(context, request, &target, &mut findings, deadline).await else {
        return findings;
    };
    job_checks(context, &jobs, &mut findings, deadline).await;
    findings
}

impl Findings {
    fn block_after(&mut self, by: &str, names: &[&'static str]) {
        self.checks
            .extend(names.iter().map(|name| CheckResult::blocked(name, by)));
    }
}

async fn secret_expiry(
    context: &Context,
    credentials: &EntraCredentials,
    deadline: &Deadline,
) -> (CheckResult, Option<i64>) {
    let in_use = credentials::in_use(credentials);
    let location = credentials::secret_location(&context.settings).unwrap_or_default();
    let judge = |app: &_| {
        credential_expiry::judge(
            app,
            &in_use,
            OffsetDateTime::now_utc(),
            context.settings.secret_expiry_warn_days,
            &location,
        )
    };
    // Only a client secret needs the app registration: a certificate knows its own end, and
    // federation stores nothing that expires.
    if !matches!(in_use, CredentialInUse::ClientSecret { .. }) {
        return judge(&Default::default());
    }
    let read = context
        .clients
        .graph
        .application_credentials(&credentials.client_id, deadline)
        .await;
    let app = match read {
        Ok(Traced { value, .. }) => value,
        Err(error) if error.kind() == Some(GraphErrorKind::PermissionDenied) => {
            let check = CheckResult::unavailable(
                CLIENT_SECRET_EXPIRY,
                format!(
                    "the function's app may not read its own app registration \
                     (Microsoft Graph answered 403): {error}"
                ),
                "grant the application permission Application.Read.All with admin consent, or \
                 make the function's service principal an owner of its own app registration \
                 and grant Application.ReadWrite.OwnedBy (only this check needs it)",
            );
            return (check, None);
        }
        Err(error) => {
            let check = CheckResult::unavailable(
                CLIENT_SECRET_EXPIRY,
                format!("the app registration could not be read: {error}"),
                "run the check again later",
            );
            return (check, None);
        }
    };
    judge(&app)
}

/// The servicePrincipal check and the jobs to look at; `None` when there are none to check.
async fn find_jobs(
    context: &Context,
    request: &SyncRequest,
    target: &Target,
    findings: &mut Findings,
    deadline: &Deadline,
) -> Option<Vec<SynchronizationJob>> {
    let graph = &context.clients.graph;
    let found = context.resolver.resolve(graph, target, deadline).await;
    let listed = match found {
        Ok(service_principal) => {
            let jobs = trigger::jobs(
                context,
                &service_principal,
                target,
                request.job_id.as_deref(),
                deadline,
            )
            .await;
            findings.service_principal = service_principal;
            jobs
        }
        Err(error) => Err(error),
    };
    let app = app_name(&findings.service_principal);
    match listed {
        Ok((Traced { value: jobs, .. }, ignored)) => {
            findings.ignored_jobs = ignored;
            findings.checks.push(CheckResult::ok(
                SERVICE_PRINCIPAL,
                format!("found the enterprise app {app} exactly once"),
            ));
            Some(jobs)
        }
        Err(error) => {
            findings.checks.extend(jobs::listing_failed(&error, &app));
            let blocked_by = findings.checks.last().map_or(JOBS, |check| check.name);
            findings.block_after(blocked_by, &[SCIM_CONNECTION, PROVISIONING_ERRORS]);
            None
        }
    }
}

async fn job_checks(
    context: &Context,
    jobs: &[SynchronizationJob],
    findings: &mut Findings,
    deadline: &Deadline,
) {
    let now = OffsetDateTime::now_utc();
    let sp_id = findings.service_principal.id.as_str();
    for job in jobs {
        let report = JobReport::new(sp_id, job, Action::Check, now);
        findings.checks.push(jobs::judge(
            &job.id,
            job.status_code(),
            &report.state.health,
        ));
        findings.jobs.push(report);
    }
    let graph = &context.clients.graph;
    let since = now - time::Duration::hours(provisioning_log::WINDOW_HOURS);
    let probes = jobs.iter().map(|job| async move {
        let scim = graph
            .validate_credentials(sp_id, &job.id, deadline)
            .await
            .map(|_| ());
        let log = graph
            .provisioning_failures(&job.id, since, deadline)
            .await
            .map(|traced| traced.value);
        (
            scim::judge(&scim).for_job(&job.id),
            provisioning_log::judge(&log).for_job(&job.id),
        )
    });
    let (scim_checks, log_checks): (Vec<_>, Vec<_>) = join_all(probes).await.into_iter().unzip();
    findings.checks.extend(scim_checks);
    findings.checks.extend(log_checks);
}

/// One log line per check (the dashboard's "latest failed checks" reads them) and the job
/// metrics, as the status action emits them.
fn publish(findings: &Findings) {
    for check in &findings.checks {
        info!(
            check = check.name,
            status = check.status.as_str(),
            job_id = check.job_id.as_deref().unwrap_or(""),
            detail = %check.detail,
            fix = check.fix.as_deref().unwrap_or(""),
            "check result"
        );
    }
    let failed = findings
        .checks
        .iter()
        .filter(|check| check.status == CheckStatus::Failed)
        .count();
    metrics::emit_check_run(failed, findings.days_left);
    metrics::emit(&findings.jobs);
}
