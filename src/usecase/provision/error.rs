//! How a provision run fails, each with its `errorType` and what the admin should do.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProvisionError {
    #[error(
        "provision on demand reported a failure for {count} object(s): {details}. The state was \
         not advanced, so the next run tries these changes again; fix the cause Graph names \
         (Entra admin center > the enterprise app > Provisioning > Provisioning logs has the \
         details)"
    )]
    Failed { count: usize, details: String },
    #[error(
        "no user {name:?} was found in the tenant: use the user's object id or \
         userPrincipalName (Entra admin center > Users)"
    )]
    UserNotFound { name: String },
    #[error(
        "no group {name:?} was found in the tenant: use the group's object id or its exact \
         display name (Entra admin center > Groups)"
    )]
    GroupNotFound { name: String },
    #[error(
        "{count} groups are named {name:?} (object ids: {ids}): name the group by its object id \
         instead"
    )]
    AmbiguousGroup {
        name: String,
        count: usize,
        ids: String,
    },
    #[error(
        "the synchronization job {job_id} has no rule that supports provision on demand (rules: \
         {rules}); provision on demand needs an Entra ID (\"Azure Active Directory\") to IAM \
         Identity Center rule in the job's schema"
    )]
    NoProvisionOnDemandRule { job_id: String, rules: String },
    #[error(
        "provision acts on one synchronization job and {app} has {count} ({available}): send \
         \"jobId\" with the request"
    )]
    SeveralJobs {
        app: String,
        count: usize,
        available: String,
    },
    #[error(
        "provision on demand failed for {object} and kept failing through our retries: \
         {cause}. Nothing was restarted and the state was not advanced: the next run tries \
         again (provision on demand is idempotent)"
    )]
    CallFailed {
        object: String,
        cause: String,
        error_type: &'static str,
    },
}

impl ProvisionError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Failed { .. } => "ProvisioningFailed",
            Self::UserNotFound { .. } => "UserNotFound",
            Self::GroupNotFound { .. } => "GroupNotFound",
            Self::AmbiguousGroup { .. } => "AmbiguousGroup",
            Self::NoProvisionOnDemandRule { .. } => "ProvisionOnDemandUnsupported",
            Self::SeveralJobs { .. } => "JobNotFound",
            Self::CallFailed { error_type, .. } => error_type,
        }
    }
}
