//! The function's memory across invocations and execution environments, in the DynamoDB table
//! named by `STATE_TABLE`: per synchronization job, the change-tracking state (delta links and
//! the assignment set), the last trigger time (so the restart-storm guard holds across cold
//! starts) and a lease (so overlapping invocations never act on the same job at once).
//!
//! A run costs two calls: [`StateStore::acquire`] takes the lease and reads the state in one
//! conditional UpdateItem; [`StateStore::save_and_release`] (or [`StateStore::release`] on a
//! failure path) writes and drops the lease in another. State advances only through that save,
//! so a run that fails part-way leaves it where it was and the next run repeats the work.

mod dynamodb;
mod error;
mod item;
mod memory;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use error::StateError;

use crate::aws::AwsClients;
use crate::transport::Deadline;

/// Kept past the invocation's deadline before a lease counts as abandoned: covers clock skew
/// between environments and the time Lambda takes to stop a timed-out invocation.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// DynamoDB refuses items over 400 KB; the store refuses earlier, with an error that says
/// why, leaving room for the small attributes (lease, times) written beside the large ones.
pub const MAX_ITEM_BYTES: usize = 380 * 1024;

/// One item per synchronization job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKey {
    pub service_principal_id: String,
    pub job_id: String,
}

impl JobKey {
    pub fn new(service_principal_id: &str, job_id: &str) -> Self {
        Self {
            service_principal_id: service_principal_id.to_string(),
            job_id: job_id.to_string(),
        }
    }

    /// The item's partition key.
    pub fn pk(&self) -> String {
        format!("job#{}#{}", self.service_principal_id, self.job_id)
    }
}

/// What change tracking needs. Advanced only by a save after the work it covers succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionState {
    /// Delta links by a name of the caller's choosing, one per query or id chunk (e.g.
    /// `groups/0`, `users/0`); stored verbatim.
    pub delta_links: BTreeMap<String, String>,
    /// Object ids of the directly assigned users.
    pub assigned_users: BTreeSet<String>,
    /// Object ids of the directly assigned groups.
    pub assigned_groups: BTreeSet<String>,
}

/// A job's stored state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobState {
    /// When this function last sent restart or start to the job, from any environment.
    pub last_trigger: Option<OffsetDateTime>,
    /// `None` until a provision run has recorded a baseline.
    pub provision: Option<ProvisionState>,
}

/// What a save changes; `None` keeps what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateUpdate {
    pub last_trigger: Option<OffsetDateTime>,
    /// Replaces the delta links and both assignment sets.
    pub provision: Option<ProvisionState>,
}

/// Proof that this invocation holds a job's lease. Not `Clone`: it goes back exactly once, to
/// [`StateStore::save_and_release`] or [`StateStore::release`].
#[derive(Debug)]
pub struct Lease {
    key: JobKey,
    owner: String,
    expires_at: OffsetDateTime,
}

impl Lease {
    pub fn key(&self) -> &JobKey {
        &self.key
    }

    /// A fresh id per acquisition, logged so an admin can match a "lease taken" skip to the
    /// invocation that held it.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }
}

/// The lease, with the state read in the same call.
#[derive(Debug)]
pub struct Held {
    pub lease: Lease,
    pub state: JobState,
}

/// Another invocation holds the job's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseTaken {
    pub owner: String,
    pub until: OffsetDateTime,
}

impl LeaseTaken {
    /// The skip reason for the report.
    pub fn reason(&self) -> String {
        format!(
            "another invocation (lease {}) is acting on this job until {}; it was left alone \
             so the job is acted on once",
            self.owner,
            rfc3339(self.until)
        )
    }
}

#[derive(Debug)]
pub enum Acquired {
    Held(Held),
    Taken(LeaseTaken),
}

/// A read that takes no lease (dry runs, checks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub state: JobState,
    /// The lease, when another invocation holds it now.
    pub lease: Option<LeaseTaken>,
}

/// The state table: DynamoDB in the function, in memory in unit tests. Built once and
/// borrowed by the use cases; the DynamoDB variant builds its SDK client on first use.
pub struct StateStore {
    backend: Backend,
}

enum Backend {
    DynamoDb(dynamodb::DynamoDbState),
    Memory(memory::MemoryState),
}

impl StateStore {
    /// The table `STATE_TABLE` names. No AWS work happens until the first call, which builds
    /// the DynamoDB client from `aws`.
    pub fn dynamodb(table: String, aws: Arc<AwsClients>) -> Self {
        Self {
            backend: Backend::DynamoDb(dynamodb::DynamoDbState::new(table, aws)),
        }
    }

    /// Same rules as the table, in this process only.
    pub fn in_memory() -> Self {
        Self {
            backend: Backend::Memory(memory::MemoryState::default()),
        }
    }

    pub fn table(&self) -> &str {
        match &self.backend {
            Backend::DynamoDb(store) => store.table(),
            Backend::Memory(_) => "(in memory)",
        }
    }

    /// Takes the job's lease, if it is free or expired, until the invocation's deadline, and
    /// returns the stored state with it. One UpdateItem.
    pub async fn acquire(&self, key: &JobKey, deadline: &Deadline) -> Result<Acquired, StateError> {
        let now = OffsetDateTime::now_utc();
        let left = deadline.remaining().unwrap_or_default() + LEASE_MARGIN;
        self.acquire_at(key, now, now + left).await
    }

    /// [`Self::acquire`] at a given time, until a given expiry.
    pub async fn acquire_at(
        &self,
        key: &JobKey,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Acquired, StateError> {
        let lease = Lease {
            key: key.clone(),
            owner: uuid::Uuid::new_v4().to_string(),
            expires_at: until,
        };
        match &self.backend {
            Backend::DynamoDb(store) => store.acquire(lease, now).await,
            Backend::Memory(store) => store.acquire(lease, now),
        }
    }

    /// Applies `update` and drops the lease, only while this invocation still owns it. Call
    /// it only after the work the update records succeeded. One UpdateItem.
    pub async fn save_and_release(
        &self,
        lease: Lease,
        update: StateUpdate,
    ) -> Result<(), StateError> {
        if let Some(Err(error)) = update
            .provision
            .as_ref()
            .map(|provision| check_size(self.table(), &lease.key, provision))
        {
            self.release(lease).await?;
            return Err(error);
        }
        match &self.backend {
            Backend::DynamoDb(store) => store.save(&lease, &update).await,
            Backend::Memory(store) => store.save(&lease, &update),
        }
    }

    /// Drops the lease, state untouched: every failure path, and runs with nothing to record.
    /// A lease someone else took meanwhile is left alone. One UpdateItem.
    pub async fn release(&self, lease: Lease) -> Result<(), StateError> {
        match &self.backend {
            Backend::DynamoDb(store) => store.release(&lease).await,
            Backend::Memory(store) => {
                store.release(&lease);
                Ok(())
            }
        }
    }

    /// The stored state and who holds the lease, without taking it. One GetItem.
    pub async fn read(&self, key: &JobKey) -> Result<Snapshot, StateError> {
        let now = OffsetDateTime::now_utc();
        match &self.backend {
            Backend::DynamoDb(store) => store.read(key, now).await,
            Backend::Memory(store) => Ok(store.read(key, now)),
        }
    }
}

/// Refuses, before sending, a provision state DynamoDB would reject as too large.
fn check_size(table: &str, key: &JobKey, provision: &ProvisionState) -> Result<(), StateError> {
    let bytes = item::encoded_size(key, provision);
    if bytes <= MAX_ITEM_BYTES {
        return Ok(());
    }
    Err(StateError::TooLarge {
        table: table.to_string(),
        job_id: key.job_id.clone(),
        users: provision.assigned_users.len(),
        groups: provision.assigned_groups.len(),
        delta_links: provision.delta_links.len(),
        bytes,
    })
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests;
