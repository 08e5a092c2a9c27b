//! Sends the planned calls one after the other, paced, and reads each answer.

use serde_json::Value;
use tracing::{info, warn};

use super::answer::{self, Answer, ObjectResult};
use super::error::ProvisionError;
use super::pacing::{Pacer, WINDOW};
use super::plan::Call;
use super::report::ObjectReport;
use crate::error::SyncError;
use crate::graph::{GraphClient, GraphError, GraphErrorKind, Traced};
use crate::transport::Deadline;

/// Everything a call needs besides its subject.
pub struct Executor<'a> {
    pub graph: &'a GraphClient,
    pub pacer: &'a Pacer,
    pub service_principal_id: &'a str,
    pub job_id: &'a str,
    pub rule_id: &'a str,
    pub dry_run: bool,
}

impl Executor<'_> {
    /// One report per call. A call Graph keeps refusing (after the transport's retries, 429s
    /// included) stops the run: the caller must not advance any state.
    pub async fn run(
        &self,
        calls: &[Call],
        deadline: &Deadline,
    ) -> Result<Vec<ObjectReport>, ProvisionError> {
        let mut reports = Vec::with_capacity(calls.len());
        for call in calls {
            reports.push(self.one(call, deadline).await?);
        }
        Ok(reports)
    }

    async fn one(&self, call: &Call, deadline: &Deadline) -> Result<ObjectReport, ProvisionError> {
        if self.dry_run {
            let answer = Answer {
                result: ObjectResult::WouldProvision,
                error_code: None,
                error_message: None,
            };
            return Ok(ObjectReport::new(call, answer, None));
        }
        let sent = match self.send(call, deadline).await {
            // Throttled through the transport's retries (another environment shares the app's
            // budget, or Graph gave no Retry-After): one more try once a whole window passed.
            Err(error) if is_throttled(&error) && has_time_for_a_window(deadline) => {
                warn!(object = %call.describe(), "still throttled; waiting one window");
                tokio::time::sleep(WINDOW).await;
                self.send(call, deadline).await
            }
            other => other,
        };
        let sent = sent.map_err(|error| ProvisionError::CallFailed {
            object: call.describe(),
            cause: error.to_string(),
            error_type: SyncError::from(error).error_type(),
        })?;
        let answer = answer::read(&sent.value);
        let request_id = sent.request_ids.last().cloned();
        info!(
            object = %call.describe(),
            result = ?answer.result,
            error_code = answer.error_code.as_deref().unwrap_or(""),
            request_id = request_id.as_deref().unwrap_or(""),
            "provisioned on demand"
        );
        Ok(ObjectReport::new(call, answer, request_id))
    }

    /// One paced call (the transport retries 429s after their Retry-After).
    async fn send(&self, call: &Call, deadline: &Deadline) -> Result<Traced<Value>, GraphError> {
        let booked = self.pacer.turn(self.job_id).await;
        let sent = self
            .graph
            .provision_on_demand(
                self.service_principal_id,
                self.job_id,
                call.body(self.rule_id),
                deadline,
            )
            .await;
        self.pacer.finished(self.job_id, booked);
        sent
    }
}

fn is_throttled(error: &GraphError) -> bool {
    error.kind() == Some(GraphErrorKind::Throttled)
}

fn has_time_for_a_window(deadline: &Deadline) -> bool {
    deadline.remaining().is_some_and(|left| left > WINDOW * 2)
}
