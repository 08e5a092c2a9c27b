//! What a provision run tells the admin: the run's result word, one entry per object sent to
//! provision on demand, and the fallback restart when there was one.

use serde::Serialize;

use super::answer::{Answer, ObjectResult};
use super::plan::{Call, Kind, Member, Reason};

/// Where the objects came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// `users` / `groups` named in the request.
    Explicit,
    /// What changed in the app's scope since the last run.
    Changes,
}

/// The run's outcome, in the contract's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RunResult {
    /// Objects were sent to provision on demand (see `objects`).
    Provisioned,
    /// Change tracking found nothing to provision.
    Unchanged,
    /// First run for the job: delta links and assignments recorded, nothing provisioned.
    Baseline,
    /// Too many changes, or an expired delta token: a guarded restart instead (see `restart`).
    Restart,
    /// Another invocation holds the job's lease (see `reason`).
    Skipped,
    /// Dry run: the calls that would have been made.
    WouldProvision,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "provisioned",
            Self::Unchanged => "unchanged",
            Self::Baseline => "baseline",
            Self::Restart => "restart",
            Self::Skipped => "skipped",
            Self::WouldProvision => "wouldProvision",
        }
    }
}

/// One provision-on-demand call and what Graph answered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    pub kind: Kind,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The group members sent with this call (at most five).
    pub members: Vec<Member>,
    pub reason: Reason,
    pub result: ObjectResult,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_id: Option<String>,
}

impl ObjectReport {
    pub fn new(call: &Call, answer: Answer, request_id: Option<String>) -> Self {
        Self {
            kind: call.kind,
            id: call.id.clone(),
            user_principal_name: call.user_principal_name.clone(),
            display_name: call.display_name.clone(),
            members: call.members.clone(),
            reason: call.reason.clone(),
            result: answer.result,
            error_code: answer.error_code,
            error_message: answer.error_message,
            request_id,
        }
    }

    /// "group "Admins" (id): EntryConflict" for the failure message.
    pub fn failure_line(&self) -> String {
        let name = self
            .user_principal_name
            .as_ref()
            .or(self.display_name.as_ref())
            .map(|name| format!(" {name:?}"))
            .unwrap_or_default();
        let kind = match self.kind {
            Kind::User => "user",
            Kind::Group => "group",
        };
        let code = self.error_code.as_deref().unwrap_or("no error code");
        let message = self
            .error_message
            .as_deref()
            .map(|message| format!(" ({message})"))
            .unwrap_or_default();
        format!("{kind}{name} ({}): {code}{message}", self.id)
    }
}

/// The fallback restart's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartReport {
    /// `triggered` or `skipped` (the restart-storm guard said no; see `reason`).
    pub result: &'static str,
    /// Why a restart instead of provision on demand.
    pub because: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub request_ids: Vec<String>,
}

fn plural(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// The provision part of the invocation's report (flattened into it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionReport {
    pub job_id: String,
    pub mode: Mode,
    pub result: RunResult,
    /// Why the run was `skipped` (the lease holder and until when); the restart action's
    /// jobs use the same name.
    #[serde(rename = "skipReason", skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Objects found changed (or named): users, groups, group members.
    pub changes_detected: usize,
    pub objects: Vec<ObjectReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartReport>,
    /// Whether the stored delta links and assignments moved forward.
    pub state_advanced: bool,
    pub graph_request_ids: Vec<String>,
}

impl ProvisionReport {
    pub fn new(job_id: &str, mode: Mode, result: RunResult) -> Self {
        Self {
            job_id: job_id.to_string(),
            mode,
            result,
            reason: None,
            rule_id: None,
            changes_detected: 0,
            objects: Vec::new(),
            restart: None,
            state_advanced: false,
            graph_request_ids: Vec::new(),
        }
    }

    pub fn count(&self, result: ObjectResult) -> usize {
        self.objects
            .iter()
            .filter(|object| object.result == result)
            .count()
    }

    pub fn failures(&self) -> Vec<&ObjectReport> {
        self.objects
            .iter()
            .filter(|object| object.result == ObjectResult::Failed)
            .collect()
    }

    /// One sentence for humans, starting with the result word.
    pub fn summary(&self, app: &str) -> String {
        let tail = match self.result {
            RunResult::Baseline => {
                "baseline recorded (delta links and assignments); nothing provisioned on this first run".to_string()
            }
            RunResult::Unchanged => "nothing changed since the last run".to_string(),
            RunResult::Skipped => format!(
                "skipped: {}",
                self.reason.as_deref().unwrap_or("no reason given")
            ),
            RunResult::Restart => {
                let restart = self.restart.as_ref();
                format!(
                    "restart {} instead of provision on demand ({}){}",
                    restart.map_or("not sent", |r| r.result),
                    restart.map_or("", |r| r.because.as_str()),
                    restart
                        .and_then(|r| r.reason.as_ref())
                        .map(|reason| format!(": {reason}"))
                        .unwrap_or_default()
                )
            }
            RunResult::Provisioned | RunResult::WouldProvision => {
                let calls = plural(self.objects.len(), "provision-on-demand call");
                let changes = plural(self.changes_detected, "change");
                if self.result == RunResult::WouldProvision {
                    format!("{calls} would be made (dry run) for {changes}")
                } else {
                    format!(
                        "{} provisioned, {} skipped, {} failed ({calls} for {changes})",
                        self.count(ObjectResult::Provisioned),
                        self.count(ObjectResult::Skipped),
                        self.count(ObjectResult::Failed),
                    )
                }
            }
        };
        format!("provision: {} job {}: {tail}", app, self.job_id)
    }
}
