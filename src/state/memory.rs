//! The state table's rules in process memory, for unit tests of the use cases.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use super::{
    Acquired, Held, JobKey, JobState, Lease, LeaseTaken, Snapshot, StateError, StateUpdate,
};

#[derive(Default)]
pub(super) struct MemoryState {
    items: Mutex<HashMap<String, Item>>,
}

#[derive(Default, Clone)]
struct Item {
    lease: Option<LeaseTaken>,
    state: JobState,
}

impl MemoryState {
    fn items(&self) -> MutexGuard<'_, HashMap<String, Item>> {
        // A panicking test thread must not hide the table from the others.
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn acquire(
        &self,
        lease: Lease,
        now: OffsetDateTime,
    ) -> Result<Acquired, StateError> {
        let mut items = self.items();
        let item = items.entry(lease.key.pk()).or_default();
        if let Some(holder) = item.lease.as_ref().filter(|held| held.until >= now) {
            return Ok(Acquired::Taken(holder.clone()));
        }
        item.lease = Some(LeaseTaken {
            owner: lease.owner.clone(),
            until: lease.expires_at,
        });
        Ok(Acquired::Held(Held {
            state: item.state.clone(),
            lease,
        }))
    }

    pub(super) fn save(&self, lease: &Lease, update: &StateUpdate) -> Result<(), StateError> {
        let mut items = self.items();
        let item = items
            .get_mut(&lease.key.pk())
            .filter(|item| owned_by(item, lease))
            .ok_or_else(|| StateError::LeaseLost {
                table: "(in memory)".into(),
                job_id: lease.key.job_id.clone(),
            })?;
        if let Some(at) = update.last_trigger {
            item.state.last_trigger = Some(at);
        }
        if let Some(provision) = &update.provision {
            item.state.provision = Some(provision.clone());
        }
        item.lease = None;
        Ok(())
    }

    pub(super) fn release(&self, lease: &Lease) {
        if let Some(item) = self
            .items()
            .get_mut(&lease.key.pk())
            .filter(|item| owned_by(item, lease))
        {
            item.lease = None;
        }
    }

    pub(super) fn read(&self, key: &JobKey, now: OffsetDateTime) -> Snapshot {
        let item = self.items().get(&key.pk()).cloned().unwrap_or_default();
        Snapshot {
            state: item.state,
            lease: item.lease.filter(|held| held.until >= now),
        }
    }
}

fn owned_by(item: &Item, lease: &Lease) -> bool {
    item.lease
        .as_ref()
        .is_some_and(|held| held.owner == lease.owner)
}
