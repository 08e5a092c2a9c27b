//! The use cases, one module each, every one a short story over the [`Clients`]. [`run`]
//! picks the use case for the invocation's action: a new action is a new arm in its `match`
//! and a new module here.

mod check;
pub mod provision;
mod resolve;
mod trigger;

use crate::clients::Clients;
use crate::config::Settings;
use crate::domain::Action;
use crate::error::SyncError;
use crate::guard::TriggerGuard;
use crate::report::Report;
use crate::request::SyncRequest;
use crate::transport::Deadline;
use provision::Provisioner;
use resolve::Resolver;

/// What the use cases share for the life of the execution environment: the configuration,
/// the clients, and what they remember between warm invocations.
pub struct Context {
    pub settings: Settings,
    pub clients: Clients,
    /// Display names already resolved to service principals.
    resolver: Resolver,
    /// When each job was last triggered, against restart storms.
    guard: TriggerGuard,
    /// Provision's pacing window, job ids and rule ids.
    provisioner: Provisioner,
}

impl Context {
    pub fn new(settings: Settings, clients: Clients) -> Self {
        Self {
            guard: TriggerGuard::new(settings.min_trigger_interval),
            resolver: Resolver::default(),
            provisioner: Provisioner::new(settings.provision_limit),
            settings,
            clients,
        }
    }
}

/// Runs the use case for the request's action, or the function's configured one.
pub async fn run(
    context: &Context,
    request: SyncRequest,
    deadline: Deadline,
) -> Result<Report, SyncError> {
    let action = request.action.unwrap_or(context.settings.action);
    request.check_names_for(action)?;
    match action {
        Action::Restart | Action::Start | Action::Status => {
            trigger::run(context, action, &request, deadline).await
        }
        Action::Provision => provision::action::run(context, &request, deadline).await,
        Action::Check => check::run(context, &request, deadline).await,
    }
}
