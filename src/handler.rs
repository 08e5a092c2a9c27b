//! The Lambda entry point's adaptation: event in, report or typed error out.

use lambda_runtime::LambdaEvent;
use tracing::{error, info};

use crate::error::SyncError;
use crate::metrics;
use crate::report::Report;
use crate::request::{Payload, SyncRequest};
use crate::transport::Deadline;
use crate::usecase::{self, Context};

/// Handles one invocation. `context` is an error when the function's configuration is
/// broken; every invocation then fails with that error, which is clearer than a crash at init.
pub async fn handle(
    context: &Result<Context, SyncError>,
    event: LambdaEvent<Payload>,
) -> Result<Report, SyncError> {
    let deadline = Deadline::from_lambda_deadline_ms(event.context.deadline);
    let outcome = run(context, &event.payload, deadline).await;
    match &outcome {
        Ok(report) => {
            info!(summary = %report.summary, "invocation succeeded");
            metrics::emit_run_succeeded();
        }
        Err(failure) => {
            error!(error_type = failure.error_type(), error = %failure, "invocation failed")
        }
    }
    outcome
}

async fn run(
    context: &Result<Context, SyncError>,
    payload: &Payload,
    deadline: Deadline,
) -> Result<Report, SyncError> {
    let context = context.as_ref().map_err(Clone::clone)?;
    let request = SyncRequest::from_payload(payload)?;
    // Boxed: the use case's future is deep enough to exhaust the compiler's layout depth.
    let work = Box::pin(usecase::run(context, request, deadline));
    tokio::time::timeout_at(deadline.instant().into(), work)
        .await
        .map_err(|_| SyncError::DeadlineExceeded)?
}
