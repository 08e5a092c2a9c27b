//! restart, start and status: find the IAM Identity Center app's synchronization jobs, act on
//! them (guarded against restart storms), optionally wait for the new cycle, judge and report.

use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::{info, warn};

use super::Context;
use super::resolve::{self, app_name};
use crate::config::Settings;
use crate::cycle::{shows_cycle_since, wait_for_cycle};
use crate::domain::{Action, ResetScope, Target};
use crate::error::SyncError;
use crate::graph::model::{ServicePrincipal, SynchronizationJob};
use crate::graph::{GraphClient, GraphError, GraphErrorKind, Traced, usable_id};
use crate::report::{IgnoredJob, JobReport, JobResult, JobState, Report};
use crate::request::SyncRequest;
use crate::state::{Acquired, Held, JobKey, Lease, LeaseTaken, StateError, StateUpdate};
use crate::transport::Deadline;
use crate::{metrics, outcome};

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
    fn new(action: Action, settings: &Settings, request: &SyncRequest) -> Self {
        let wait = request.wait.unwrap_or(settings.wait.enabled);
        Self {
            action,
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

pub(super) async fn run(
    context: &Context,
    action: Action,
    request: &SyncRequest,
    deadline: Deadline,
) -> Result<Report, SyncError> {
    let started_at = OffsetDateTime::now_utc();
    let clock = Instant::now();
    let plan = Plan::new(action, &context.settings, request);
    let (target, service_principal) = resolve::acted_on(context, request, &deadline).await?;
    let (jobs, ignored_jobs) = jobs(
        context,
        &service_principal,
        &target,
        plan.job_id.as_deref(),
        &deadline,
    )
    .await?;
    let reports: Vec<JobReport> = stream::iter(jobs.value.iter())
        .map(|job| {
            act(
                context,
                &plan,
                &service_principal,
                job,
                &jobs.request_ids,
                &deadline,
            )
        })
        .buffered(JOB_CONCURRENCY)
        .collect()
        .await;
    reports.iter().for_each(JobReport::log_summary);
    metrics::emit(&reports);
    outcome::check(plan.action, &reports)?;
    let app = app_name(&service_principal);
    let mut summary = Report::summarize(plan.action, plan.dry_run, &app, &reports);
    if !ignored_jobs.is_empty() {
        summary.push_str(&format!(
            ", {} listed jobs ignored (see ignoredJobs)",
            ignored_jobs.len()
        ));
    }
    let mut report = Report {
        summary,
        action: plan.action,
        dry_run: plan.dry_run,
        reset_scope: plan.reset_scope.criteria(),
        service_principal,
        jobs: reports,
        ignored_jobs,
        jobs_omitted: 0,
        checks: Vec::new(),
        started_at: started_at.format(&Rfc3339).unwrap_or_default(),
        duration_ms: clock.elapsed().as_millis() as u64,
        function_version: env!("CARGO_PKG_VERSION"),
        provision: None,
    };
    report.fit_response_limit();
    Ok(report)
}

/// Keeps the jobs that can be acted on, once each: a job without a usable id (null, empty,
/// `.`, `..`) would turn into another URL (`…/jobs/../restart` is `…/jobs/restart`), and a
/// job listed twice must not be triggered twice.
fn usable_jobs(listed: Vec<SynchronizationJob>) -> (Vec<SynchronizationJob>, Vec<IgnoredJob>) {
    let mut seen = std::collections::HashSet::new();
    let mut ignored = Vec::new();
    let mut usable = Vec::new();
    for job in listed {
        let reason = if !usable_id(&job.id) {
            "Graph listed a job without a usable id (null, empty, \".\" or \"..\"); it was not acted on"
        } else if !seen.insert(job.id.to_lowercase()) {
            "Graph listed this job more than once; it was acted on once"
        } else {
            usable.push(job);
            continue;
        };
        warn!(job_id = %job.id, reason, "ignored a listed job");
        ignored.push(IgnoredJob {
            job_id: job.id,
            reason: reason.to_string(),
        });
    }
    (usable, ignored)
}

/// The jobs to act on: all of them, or the one `jobId` names; and the listed ones ignored.
/// The check action lists them the same way.
pub(super) async fn jobs(
    context: &Context,
    service_principal: &ServicePrincipal,
    target: &Target,
    job_id: Option<&str>,
    deadline: &Deadline,
) -> Result<(Traced<Vec<SynchronizationJob>>, Vec<IgnoredJob>), SyncError> {
    let graph = &context.clients.graph;
    let mut jobs = match graph.list_jobs(&service_principal.id, deadline).await {
        Err(error) if error.kind() == Some(GraphErrorKind::NotFound) => {
            context.resolver.forget(target);
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
    let (usable, ignored) = usable_jobs(std::mem::take(&mut jobs.value));
    jobs.value = usable;
    let app = app_name(service_principal);
    if jobs.value.is_empty() {
        return Err(SyncError::ProvisioningNotConfigured { app });
    }
    if let Some(wanted) = job_id {
        let available = jobs
            .value
            .iter()
            .map(|job| job.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        jobs.value.retain(|job| job.id == wanted);
        if jobs.value.is_empty() {
            return Err(SyncError::JobNotFound {
                job_id: wanted.to_string(),
                app,
                available,
            });
        }
    }
    Ok((jobs, ignored))
}

/// Judges, guards, triggers and (when asked) waits for one job. With a state table, the
/// job's lease is held from the judgement until the trigger is recorded, so overlapping
/// invocations act once, and the guard counts triggers from every environment.
async fn act(
    context: &Context,
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
    let key = JobKey::new(&service_principal.id, &job.id);
    let (lease, last_trigger) = match hold(context, plan, &key, deadline).await {
        Ok(Hold::Free {
            lease,
            last_trigger,
        }) => (lease, last_trigger),
        Ok(Hold::Taken(taken)) => {
            skip(&mut report, taken.reason());
            return report;
        }
        Err(error) => {
            report.result = JobResult::Failed;
            report.failure = Some(error.into());
            return report;
        }
    };
    decide_and_trigger(context, plan, job, last_trigger, now, &mut report, deadline).await;
    // Recorded before any wait: a run that times out while waiting keeps its record.
    settle(context, lease, report.result == JobResult::Triggered).await;
    if report.result == JobResult::Triggered
        && let Some(limit) = plan.wait
    {
        wait(context, &mut report, now, limit, deadline).await;
    }
    report
}

/// Waits for the cycle the trigger at `triggered_at` started, and reports it.
async fn wait(
    context: &Context,
    report: &mut JobReport,
    triggered_at: OffsetDateTime,
    limit: Duration,
    deadline: &Deadline,
) {
    let waited = wait_for_cycle(
        &context.clients.graph,
        &report.service_principal_id,
        &report.job_id,
        triggered_at,
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

/// What the state table says about acting on a job now.
enum Hold {
    /// The job is ours to act on: `lease` is `None` without a state table and in a dry run
    /// (which only reads), `last_trigger` is the trigger recorded by any environment.
    Free {
        lease: Option<Lease>,
        last_trigger: Option<OffsetDateTime>,
    },
    /// Another invocation is acting on it.
    Taken(LeaseTaken),
}

/// Takes the job's lease (one DynamoDB call, which also reads the recorded last trigger), or
/// in a dry run reads both without taking it. `force` overrides the guard, never the lease.
async fn hold(
    context: &Context,
    plan: &Plan,
    key: &JobKey,
    deadline: &Deadline,
) -> Result<Hold, StateError> {
    let Some(store) = &context.clients.state else {
        return Ok(Hold::Free {
            lease: None,
            last_trigger: None,
        });
    };
    if plan.dry_run {
        let snapshot = store.read(key).await?;
        return Ok(match snapshot.lease {
            Some(taken) => Hold::Taken(taken),
            None => Hold::Free {
                lease: None,
                last_trigger: snapshot.state.last_trigger,
            },
        });
    }
    Ok(match store.acquire(key, deadline).await? {
        Acquired::Held(Held { lease, state }) => Hold::Free {
            lease: Some(lease),
            last_trigger: state.last_trigger,
        },
        Acquired::Taken(taken) => Hold::Taken(taken),
    })
}

/// The guard's judgement, then the trigger (or, in a dry run, what it would do).
async fn decide_and_trigger(
    context: &Context,
    plan: &Plan,
    job: &SynchronizationJob,
    last_trigger: Option<OffsetDateTime>,
    now: OffsetDateTime,
    report: &mut JobReport,
    deadline: &Deadline,
) {
    if let Some(reason) = context
        .guard
        .check_with_last_trigger(plan.action, job, now, last_trigger)
        .filter(|_| !plan.force)
    {
        skip(report, reason);
        return;
    }
    if plan.dry_run {
        report.result = JobResult::WouldTrigger;
        return;
    }
    match trigger(
        &context.clients.graph,
        plan.action,
        &plan.reset_scope,
        &report.service_principal_id,
        &job.id,
        deadline,
    )
    .await
    {
        Ok(traced) => {
            context.guard.record(&job.id);
            report.result = JobResult::Triggered;
            report.graph_request_ids.extend(traced.request_ids);
            if clears_quarantine(plan) {
                report.state.health = report.state.health.clone().quarantine_lifted();
            }
        }
        Err(error) => {
            report.result = JobResult::Failed;
            report.failure = Some(error.into());
        }
    }
}

/// Gives the lease back, recording the trigger when there was one (one DynamoDB call). The
/// job's outcome is already decided: a failure here is logged, and an unreleased lease
/// expires by itself after the invocation's deadline.
async fn settle(context: &Context, lease: Option<Lease>, triggered: bool) {
    let (Some(store), Some(lease)) = (&context.clients.state, lease) else {
        return;
    };
    let job_id = lease.key().job_id.clone();
    let outcome = if triggered {
        let update = StateUpdate {
            last_trigger: Some(OffsetDateTime::now_utc()),
            ..StateUpdate::default()
        };
        store.save_and_release(lease, update).await
    } else {
        store.release(lease).await
    };
    if let Err(error) = outcome {
        warn!(job_id = %job_id, error = %error, "the state table was not updated");
    }
}

fn skip(report: &mut JobReport, reason: String) {
    info!(job_id = %report.job_id, reason = %reason, "left the job alone");
    report.result = JobResult::Skipped;
    report.skip_reason = Some(reason);
}

/// Start clears quarantine (Microsoft), as does a restart with an empty reset scope or one
/// holding QuarantineState or Full.
fn clears_quarantine(plan: &Plan) -> bool {
    match plan.action {
        Action::Start => true,
        Action::Restart => plan.reset_scope.lifts_quarantine(),
        Action::Status | Action::Provision | Action::Check => false,
    }
}

/// Sends the trigger. A 504 means a gateway gave up waiting, so Graph may have acted: the
/// job is read again and the trigger sent once more only when it shows no cycle begun since
/// (as a restart storm is worse than a missed run, a failed re-read sends nothing). Every
/// trigger goes through here, provision's fallback restart included.
pub(super) async fn trigger(
    graph: &GraphClient,
    action: Action,
    reset_scope: &ResetScope,
    service_principal_id: &str,
    job_id: &str,
    deadline: &Deadline,
) -> Result<Traced<()>, GraphError> {
    let sent_at = OffsetDateTime::now_utc();
    let send = || {
        send_trigger(
            graph,
            action,
            reset_scope,
            service_principal_id,
            job_id,
            deadline,
        )
    };
    let first = send().await;
    let gateway_timeout = matches!(
        &first,
        Err(GraphError::Failed {
            status: Some(504),
            ..
        })
    );
    if !gateway_timeout {
        return first;
    }
    let Ok(read) = graph.get_job(service_principal_id, job_id, deadline).await else {
        return first;
    };
    let mut request_ids = read.request_ids;
    let started =
        action == Action::Start && !read.value.is_paused() && !read.value.is_quarantined();
    if started || shows_cycle_since(&read.value, sent_at) {
        info!(
            job_id,
            "Graph answered 504 but the job shows a new cycle: not sending again"
        );
        return Ok(Traced {
            value: (),
            request_ids,
        });
    }
    info!(
        job_id,
        "Graph answered 504 and the job shows no new cycle: sending once more"
    );
    let second = send().await?;
    request_ids.extend(second.request_ids);
    Ok(Traced {
        value: (),
        request_ids,
    })
}

async fn send_trigger(
    graph: &GraphClient,
    action: Action,
    reset_scope: &ResetScope,
    service_principal_id: &str,
    job_id: &str,
    deadline: &Deadline,
) -> Result<Traced<()>, GraphError> {
    match action {
        Action::Start => graph.start(service_principal_id, job_id, deadline).await,
        _ => {
            graph
                .restart(service_principal_id, job_id, reset_scope, deadline)
                .await
        }
    }
}
