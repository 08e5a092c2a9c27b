//! What each Graph call is, for the layers around it: its description in messages, the
//! permission it needs, how long it may wait when throttled and whether it may be resent.

use std::time::Duration;

use crate::transport::Idempotency;

/// A Graph call, for messages and for the permissions it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    FindServicePrincipal,
    ListJobs,
    ReadJob,
    Restart,
    Start,
    ReadUser,
    ReadGroup,
    FindGroup,
    ListGroupMembers,
    ListAssignments,
    GroupDelta,
    UserDelta,
    ReadSchema,
    ProvisionOnDemand,
    ReadApplication,
    ValidateCredentials,
    ReadProvisioningLog,
}

impl Operation {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Self::FindServicePrincipal => "finding the service principal",
            Self::ListJobs => "listing the synchronization jobs",
            Self::ReadJob => "reading the synchronization job",
            Self::Restart => "restarting the synchronization job",
            Self::Start => "starting the synchronization job",
            Self::ReadUser => "reading the user",
            Self::ReadGroup => "reading the group",
            Self::FindGroup => "finding the group by display name",
            Self::ListGroupMembers => "listing the group's members",
            Self::ListAssignments => "listing the users and groups assigned to the app",
            Self::GroupDelta => "reading group changes (groups/delta)",
            Self::UserDelta => "reading user changes (users/delta)",
            Self::ReadSchema => "reading the synchronization job's schema",
            Self::ProvisionOnDemand => "provisioning on demand",
            Self::ReadApplication => "reading the function's own app registration",
            Self::ValidateCredentials => "testing the job's SCIM connection",
            Self::ReadProvisioningLog => "reading the provisioning log",
        }
    }

    /// What this call is for in the permissions table ([`crate::permissions::NEEDS`]).
    pub(super) fn need(self) -> &'static str {
        match self {
            Self::FindServicePrincipal => "findApp",
            Self::ListJobs
            | Self::ReadJob
            | Self::Restart
            | Self::Start
            | Self::ValidateCredentials
            | Self::ReadSchema
            | Self::ProvisionOnDemand => "jobs",
            Self::ListAssignments => "assignments",
            Self::ReadUser | Self::UserDelta => "users",
            Self::ReadGroup | Self::FindGroup | Self::ListGroupMembers | Self::GroupDelta => {
                "groups"
            }
            Self::ReadApplication => "ownApplication",
            Self::ReadProvisioningLog => "provisioningLog",
        }
    }

    /// Whether the call belongs to the provision action (its advice lists the whole set).
    pub(super) fn provisions(self) -> bool {
        !matches!(
            self,
            Self::FindServicePrincipal
                | Self::ListJobs
                | Self::ReadJob
                | Self::Restart
                | Self::Start
                | Self::ReadApplication
                | Self::ValidateCredentials
                | Self::ReadProvisioningLog
        )
    }

    /// Directory reads need tenant-wide permissions: owning the enterprise app does not help.
    pub(super) fn reads_directory(self) -> bool {
        matches!(
            self,
            Self::ReadUser
                | Self::ReadGroup
                | Self::FindGroup
                | Self::ListGroupMembers
                | Self::GroupDelta
                | Self::UserDelta
        )
    }

    /// How long one attempt may take at least: Microsoft says provision on demand "typically
    /// takes less than 30 seconds", more than the usual HTTP timeout.
    pub(super) fn patience(self) -> Duration {
        match self {
            Self::ProvisionOnDemand => Duration::from_secs(40),
            _ => Duration::ZERO,
        }
    }

    /// The application permission(s) this call needs, from the permissions table.
    pub(super) fn permissions(self) -> String {
        crate::permissions::need(self.need())
            .map(crate::permissions::describe)
            .unwrap_or_default()
    }

    pub(super) fn idempotency(self) -> Idempotency {
        // Provision on demand is idempotent (an unchanged object comes back Skipped), so a
        // call lost on the wire may be sent again.
        match self {
            Self::Restart | Self::Start => Idempotency::Unsafe,
            _ => Idempotency::Safe,
        }
    }
}
