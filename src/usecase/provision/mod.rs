//! The `provision` action: push users and groups to IAM Identity Center now with Microsoft's
//! provision on demand, either the ones named in the request or what changed in the app's
//! scope since the last run (change tracking, state in DynamoDB).
//!
//! The story: find the calls ([`explicit`] or [`changes`]), turn them into subjects five
//! members at a time ([`plan`]), send them paced ([`execute`], [`pacing`]) with the rule from the
//! job's schema ([`rule`]), read the answers ([`answer`]) and report ([`report`]). Too many calls,
//! too little time or an expired delta token fall back to one guarded [`restart`]. State moves
//! forward only when every change it covers is done.

pub mod action;
pub mod answer;
pub mod changes;
pub mod error;
pub mod execute;
pub mod explicit;
pub mod job;
pub mod pacing;
pub mod plan;
pub mod report;
pub mod restart;
pub mod rule;

use time::OffsetDateTime;
use tracing::info;

use crate::config::ConfigError;
use crate::error::SyncError;
use crate::graph::GraphClient;
use crate::graph::model::ServicePrincipal;
use crate::guard::TriggerGuard;
use crate::state::{Acquired, Held, JobKey, JobState, ProvisionState, StateStore, StateUpdate};
use crate::transport::Deadline;
use changes::Tracked;
use error::ProvisionError;
use execute::Executor;
use job::JobCache;
use pacing::Pacer;
use plan::Call;
use report::{Mode, ProvisionReport, RunResult};
use rule::{RuleCache, RuleError};

/// What provision keeps per execution environment: the pacing window, the job ids and the
/// rule ids.
pub struct Provisioner {
    pacer: Pacer,
    rules: RuleCache,
    pub jobs: JobCache,
    limit: usize,
}

impl Provisioner {
    pub fn new(limit: usize) -> Self {
        Self {
            pacer: Pacer::default(),
            rules: RuleCache::default(),
            jobs: JobCache::default(),
            limit,
        }
    }
}

/// What the request asks of provision.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub dry_run: bool,
    pub force: bool,
}

impl Ask {
    fn names_objects(&self) -> bool {
        !self.users.is_empty() || !self.groups.is_empty()
    }
}

/// One provision run's inputs, borrowed from the service.
pub struct Run<'a> {
    pub graph: &'a GraphClient,
    pub store: Option<&'a StateStore>,
    pub guard: &'a TriggerGuard,
    pub provisioner: &'a Provisioner,
    pub service_principal: &'a ServicePrincipal,
    pub job_id: &'a str,
    pub request: &'a Ask,
    pub deadline: &'a Deadline,
}

impl Run<'_> {
    /// Provisions, reports, and fails when any object failed (after the report is logged).
    pub async fn run(&self) -> Result<ProvisionReport, SyncError> {
        let report = if self.request.names_objects() {
            self.named().await?
        } else {
            self.tracked().await?
        };
        info!(
            result = report.result.as_str(),
            changes = report.changes_detected,
            calls = report.objects.len(),
            report = %serde_json::to_string(&report).unwrap_or_default(),
            "provision report"
        );
        crate::metrics::emit_provision(&self.service_principal.id, &report);
        let failures = report.failures();
        if failures.is_empty() {
            return Ok(report);
        }
        Err(ProvisionError::Failed {
            count: failures.len(),
            details: failures
                .iter()
                .map(|object| object.failure_line())
                .collect::<Vec<_>>()
                .join("; "),
        }
        .into())
    }

    /// The objects named in the request; no state involved.
    async fn named(&self) -> Result<ProvisionReport, SyncError> {
        let named = explicit::resolve(
            self.graph,
            &self.request.users,
            &self.request.groups,
            self.deadline,
        )
        .await?;
        let mut report = ProvisionReport::new(self.job_id, Mode::Explicit, self.sending());
        report.changes_detected = named.objects;
        report.graph_request_ids = named.request_ids;
        if let Some(because) = self.overflow(named.calls.len()) {
            report.result = RunResult::Restart;
            report.restart = Some(restart::guarded(self, because, None).await?);
            return Ok(report);
        }
        self.execute(&named.calls, &mut report).await?;
        Ok(report)
    }

    /// What changed since the last run, under the job's lease.
    async fn tracked(&self) -> Result<ProvisionReport, SyncError> {
        let store = self
            .store
            .ok_or(SyncError::Config(ConfigError::StateTableRequired))?;
        let key = JobKey::new(&self.service_principal.id, self.job_id);
        if self.request.dry_run {
            let snapshot = store.read(&key).await?;
            return Ok(self.changes(&snapshot.state).await?.0);
        }
        let Held { lease, state } = match store.acquire(&key, self.deadline).await? {
            Acquired::Held(held) => held,
            Acquired::Taken(taken) => {
                let mut report =
                    ProvisionReport::new(self.job_id, Mode::Changes, RunResult::Skipped);
                report.reason = Some(taken.reason());
                return Ok(report);
            }
        };
        match self.changes(&state).await {
            Ok((mut report, Some(update))) => {
                store.save_and_release(lease, update).await?;
                report.state_advanced = true;
                Ok(report)
            }
            Ok((report, None)) => {
                store.release(lease).await?;
                Ok(report)
            }
            Err(error) => {
                // The run's own error says more than a failed release would.
                let _ = store.release(lease).await;
                Err(error)
            }
        }
    }

    /// The run over the stored state, and the update to store when it succeeded.
    async fn changes(
        &self,
        stored: &JobState,
    ) -> Result<(ProvisionReport, Option<StateUpdate>), SyncError> {
        let detection = changes::detect(
            self.graph,
            &self.service_principal.id,
            stored.provision.as_ref(),
            self.deadline,
        )
        .await?;
        let mut report = ProvisionReport::new(self.job_id, Mode::Changes, RunResult::Unchanged);
        report.graph_request_ids = detection.request_ids;
        let (calls, next) = match detection.tracked {
            Tracked::Baseline(fresh) => {
                report.result = RunResult::Baseline;
                return Ok((report, Some(advance(fresh, None))));
            }
            Tracked::Expired { fresh, detail } => {
                let because = format!(
                    "a delta token is no longer valid, so changes may have been missed; a new \
                     baseline was taken ({detail})"
                );
                return self
                    .restart_instead(report, because, stored.last_trigger, fresh)
                    .await;
            }
            Tracked::Changes {
                calls,
                changes,
                next,
            } => {
                report.changes_detected = changes;
                (calls, next)
            }
        };
        if calls.is_empty() {
            return Ok((report, Some(advance(next, None))));
        }
        if let Some(because) = self.overflow(calls.len()) {
            return self
                .restart_instead(report, because, stored.last_trigger, next)
                .await;
        }
        report.result = self.sending();
        self.execute(&calls, &mut report).await?;
        let all_done = report.objects.iter().all(|object| object.result.is_done());
        Ok((report, all_done.then(|| advance(next, None))))
    }

    /// One guarded restart carries the changes; the state advances only if Graph took it.
    async fn restart_instead(
        &self,
        mut report: ProvisionReport,
        because: String,
        last_trigger: Option<OffsetDateTime>,
        next: ProvisionState,
    ) -> Result<(ProvisionReport, Option<StateUpdate>), SyncError> {
        report.result = RunResult::Restart;
        let restart = restart::guarded(self, because, last_trigger).await?;
        let update =
            (restart.result == "triggered").then(|| advance(next, Some(OffsetDateTime::now_utc())));
        report.restart = Some(restart);
        Ok((report, update))
    }

    /// The result word of a run that makes its calls (or, dry, would make them).
    fn sending(&self) -> RunResult {
        if self.request.dry_run {
            RunResult::WouldProvision
        } else {
            RunResult::Provisioned
        }
    }

    /// Why the calls cannot be made now (too many, or not before the deadline), if so.
    fn overflow(&self, calls: usize) -> Option<String> {
        let limit = self.provisioner.limit;
        if calls > limit {
            return Some(format!(
                "{calls} provision-on-demand calls needed, more than PROVISION_LIMIT ({limit})"
            ));
        }
        let needed = self.provisioner.pacer.estimate(self.job_id, calls);
        match self.deadline.remaining() {
            Some(left) if needed < left => None,
            left => Some(format!(
                "{calls} provision-on-demand calls would take about {}s at Microsoft's 5 per 10 s, \
                 and the invocation has {}s left (raise the function timeout to provision more \
                 at once)",
                needed.as_secs(),
                left.unwrap_or_default().as_secs()
            )),
        }
    }

    async fn execute(&self, calls: &[Call], report: &mut ProvisionReport) -> Result<(), SyncError> {
        let sp = &self.service_principal.id;
        let rule_id = self
            .provisioner
            .rules
            .rule_id(
                self.graph,
                sp,
                self.job_id,
                &mut report.graph_request_ids,
                self.deadline,
            )
            .await
            .map_err(|error| match error {
                RuleError::Graph(error) => SyncError::from(error),
                RuleError::Provision(error) => error.into(),
            })?;
        report.rule_id = Some(rule_id.clone());
        let executor = Executor {
            graph: self.graph,
            pacer: &self.provisioner.pacer,
            service_principal_id: sp,
            job_id: self.job_id,
            rule_id: &rule_id,
            dry_run: self.request.dry_run,
        };
        match executor.run(calls, self.deadline).await {
            Ok(objects) => {
                report.objects = objects;
                Ok(())
            }
            Err(error) => {
                // A refused rule id or a job that is gone: read them afresh next time.
                self.provisioner.rules.forget(sp, self.job_id);
                self.provisioner.jobs.forget(sp);
                Err(error.into())
            }
        }
    }
}

fn advance(provision: ProvisionState, last_trigger: Option<OffsetDateTime>) -> StateUpdate {
    StateUpdate {
        last_trigger,
        provision: Some(provision),
    }
}
