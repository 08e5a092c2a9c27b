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
    let outcome = match context {
        Ok(context) => run(context, &event.payload, deadline).await,
        Err(error) => Err(error.clone()),
    };
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

/// One request, from its payload to its report: the Lambda handler and the command line both
/// come through here.
pub async fn run(
    context: &Context,
    payload: &Payload,
    deadline: Deadline,
) -> Result<Report, SyncError> {
    let request = SyncRequest::from_payload(payload)?;
    // Boxed: the use case's future is deep enough to exhaust the compiler's layout depth.
    let work = Box::pin(usecase::run(context, request, deadline));
    tokio::time::timeout_at(deadline.instant().into(), work)
        .await
        .map_err(|_| SyncError::DeadlineExceeded)?
}
