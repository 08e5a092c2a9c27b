//! The state item's layout, and its encoding both ways. One item per job, partition key `pk`
//! (a string; nothing else is keyed):
//! - `pk`: `job#{service principal id}#{job id}`
//! - `lease_owner` (S), `lease_expires` (N, epoch ms): present only while an invocation holds it
//! - `last_trigger` (N, epoch ms): the last restart or start this function sent the job
//! - `baseline_at` (N, epoch ms): when the provision state was last saved; its presence marks
//!   that a baseline exists
//! - `delta_links` (M of S): the delta links by query name
//! - `assigned_users`, `assigned_groups` (B): the GUID object ids, 16 bytes each, sorted;
//!   `assigned_users_other`, `assigned_groups_other` (SS): ids that are not GUIDs, if any.
//!   Packing keeps ~20,000 assignments inside DynamoDB's 400 KB item limit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::{JobKey, JobState, LeaseTaken, ProvisionState, StateError, StateUpdate};

/// Attribute names and size overhead DynamoDB counts besides the ids and links: generous.
const FIXED_OVERHEAD: usize = 512;

pub(super) const PK: &str = "pk";
pub(super) const LEASE_OWNER: &str = "lease_owner";
pub(super) const LEASE_EXPIRES: &str = "lease_expires";
const LAST_TRIGGER: &str = "last_trigger";
const BASELINE_AT: &str = "baseline_at";
const DELTA_LINKS: &str = "delta_links";
const USERS: &str = "assigned_users";
const USERS_OTHER: &str = "assigned_users_other";
const GROUPS: &str = "assigned_groups";
const GROUPS_OTHER: &str = "assigned_groups_other";

pub(super) type Item = HashMap<String, AttributeValue>;

/// A save's UpdateExpression and its values: `update`, and the lease dropped. The caller
/// makes it conditional on `:owner` still holding the lease.
pub(super) fn save_expression(
    owner: &str,
    update: &StateUpdate,
    now: OffsetDateTime,
) -> (String, HashMap<String, AttributeValue>) {
    let mut set = Vec::new();
    let mut remove = vec![LEASE_OWNER.to_string(), LEASE_EXPIRES.to_string()];
    let mut values = HashMap::from([(":owner".to_string(), AttributeValue::S(owner.to_string()))]);
    if let Some(at) = update.last_trigger {
        set.push(format!("{LAST_TRIGGER} = :trigger"));
        values.insert(":trigger".into(), millis(at));
    }
    if let Some(provision) = &update.provision {
        set.push(format!("{BASELINE_AT} = :baseline, {DELTA_LINKS} = :links"));
        values.insert(":baseline".into(), millis(now));
        values.insert(":links".into(), links_value(&provision.delta_links));
        for (ids, packed, other) in [
            (&provision.assigned_users, USERS, USERS_OTHER),
            (&provision.assigned_groups, GROUPS, GROUPS_OTHER),
        ] {
            let (guids, rest) = pack(ids);
            for (name, value) in [(packed, guids), (other, rest)] {
                match value {
                    Some(value) => {
                        set.push(format!("{name} = :{name}"));
                        values.insert(format!(":{name}"), value);
                    }
                    // An emptied set: DynamoDB stores no empty sets, so the attribute goes.
                    None => remove.push(name.to_string()),
                }
            }
        }
    }
    let set = if set.is_empty() {
        String::new()
    } else {
        format!("SET {} ", set.join(", "))
    };
    (format!("{set}REMOVE {}", remove.join(", ")), values)
}

/// Reads typed attributes, naming the item and attribute when one has the wrong shape.
pub(super) struct Reader<'a> {
    pub(super) table: &'a str,
    pub(super) pk: &'a str,
    pub(super) item: &'a Item,
}

impl Reader<'_> {
    /// The job's state; a missing item reads as a new job.
    pub(super) fn state(&self) -> Result<JobState, StateError> {
        let provision = match self.time(BASELINE_AT)? {
            None => None,
            Some(_) => Some(ProvisionState {
                delta_links: self.links()?,
                assigned_users: self.ids(USERS, USERS_OTHER)?,
                assigned_groups: self.ids(GROUPS, GROUPS_OTHER)?,
            }),
        };
        Ok(JobState {
            last_trigger: self.time(LAST_TRIGGER)?,
            provision,
        })
    }

    /// Who holds the lease, expired or not.
    pub(super) fn lease(&self) -> Result<Option<LeaseTaken>, StateError> {
        let Some(AttributeValue::S(owner)) = self.item.get(LEASE_OWNER) else {
            return Ok(None);
        };
        Ok(self.time(LEASE_EXPIRES)?.map(|until| LeaseTaken {
            owner: owner.clone(),
            until,
        }))
    }

    fn corrupt(&self, attribute: &'static str, problem: &str) -> StateError {
        StateError::Corrupt {
            table: self.table.to_string(),
            pk: self.pk.to_string(),
            attribute,
            problem: problem.to_string(),
        }
    }

    fn time(&self, attribute: &'static str) -> Result<Option<OffsetDateTime>, StateError> {
        let Some(value) = self.item.get(attribute) else {
            return Ok(None);
        };
        let AttributeValue::N(text) = value else {
            return Err(self.corrupt(attribute, "not a number"));
        };
        text.parse::<i128>()
            .ok()
            .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok())
            .map(Some)
            .ok_or_else(|| self.corrupt(attribute, "not a time in epoch milliseconds"))
    }

    fn links(&self) -> Result<BTreeMap<String, String>, StateError> {
        let Some(value) = self.item.get(DELTA_LINKS) else {
            return Ok(BTreeMap::new());
        };
        let AttributeValue::M(map) = value else {
            return Err(self.corrupt(DELTA_LINKS, "not a map"));
        };
        map.iter()
            .map(|(name, link)| match link {
                AttributeValue::S(link) => Ok((name.clone(), link.clone())),
                _ => Err(self.corrupt(DELTA_LINKS, "a link is not a string")),
            })
            .collect()
    }

    fn ids(
        &self,
        packed: &'static str,
        other: &'static str,
    ) -> Result<BTreeSet<String>, StateError> {
        let mut ids = BTreeSet::new();
        match self.item.get(packed) {
            None => {}
            Some(AttributeValue::B(blob)) => {
                ids.extend(unpack(blob.as_ref()).ok_or_else(|| {
                    self.corrupt(packed, "its length is not a multiple of 16 bytes")
                })?)
            }
            Some(_) => return Err(self.corrupt(packed, "not binary")),
        }
        match self.item.get(other) {
            None => {}
            Some(AttributeValue::Ss(rest)) => ids.extend(rest.iter().cloned()),
            Some(_) => return Err(self.corrupt(other, "not a string set")),
        }
        Ok(ids)
    }
}

pub(super) fn millis(at: OffsetDateTime) -> AttributeValue {
    AttributeValue::N((at.unix_timestamp_nanos() / 1_000_000).to_string())
}

fn links_value(links: &BTreeMap<String, String>) -> AttributeValue {
    AttributeValue::M(
        links
            .iter()
            .map(|(name, link)| (name.clone(), AttributeValue::S(link.clone())))
            .collect(),
    )
}

/// GUIDs as 16 bytes each (canonical lowercase on the way back), the rest as a string set.
/// `None` for an empty part: DynamoDB refuses empty sets.
fn pack(ids: &BTreeSet<String>) -> (Option<AttributeValue>, Option<AttributeValue>) {
    let mut packed = Vec::with_capacity(ids.len() * 16);
    let mut rest = Vec::new();
    for id in ids {
        match uuid::Uuid::try_parse(id) {
            Ok(guid) if guid.hyphenated().to_string() == *id => {
                packed.extend_from_slice(guid.as_bytes())
            }
            // Not a canonical lowercase GUID: kept verbatim so it reads back unchanged.
            _ => rest.push(id.clone()),
        }
    }
    (
        (!packed.is_empty()).then(|| AttributeValue::B(Blob::new(packed))),
        (!rest.is_empty()).then_some(AttributeValue::Ss(rest)),
    )
}

fn unpack(bytes: &[u8]) -> Option<Vec<String>> {
    if !bytes.len().is_multiple_of(16) {
        return None;
    }
    bytes
        .chunks_exact(16)
        .map(|chunk| {
            uuid::Uuid::from_slice(chunk)
                .ok()
                .map(|guid| guid.hyphenated().to_string())
        })
        .collect()
}

/// The bytes DynamoDB would count for the item holding `provision` (attribute names plus
/// values), with a generous allowance for the small attributes.
pub(super) fn encoded_size(key: &JobKey, provision: &ProvisionState) -> usize {
    let ids = |set: &BTreeSet<String>| {
        set.iter()
            .map(|id| match uuid::Uuid::try_parse(id) {
                Ok(guid) if guid.hyphenated().to_string() == *id => 16,
                _ => id.len() + 1,
            })
            .sum::<usize>()
    };
    let links: usize = provision
        .delta_links
        .iter()
        .map(|(name, link)| name.len() + link.len() + 2)
        .sum();
    FIXED_OVERHEAD
        + key.pk().len()
        + links
        + ids(&provision.assigned_users)
        + ids(&provision.assigned_groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever ids Graph sends (GUIDs in any case, or anything else), the item gives
        /// back exactly the set that was saved.
        #[test]
        fn any_id_set_reads_back_as_written(
            guids in prop::collection::btree_set(any::<u128>(), 0..40),
            uppercase in any::<bool>(),
            others in prop::collection::btree_set("[ -~]{1,40}", 0..8),
        ) {
            let mut ids: BTreeSet<String> = guids
                .iter()
                .map(|n| uuid::Uuid::from_u128(*n).hyphenated().to_string())
                .map(|id| if uppercase { id.to_uppercase() } else { id })
                .collect();
            ids.extend(others);
            let (packed, rest) = pack(&ids);
            let item: Item = [(USERS, packed), (USERS_OTHER, rest)]
                .into_iter()
                .filter_map(|(name, value)| Some((name.to_string(), value?)))
                .collect();
            let reader = Reader { table: "t", pk: "p", item: &item };
            prop_assert_eq!(reader.ids(USERS, USERS_OTHER).unwrap(), ids);
        }
    }

    #[test]
    fn guids_pack_to_sixteen_bytes_and_other_ids_stay_verbatim() {
        let ids: BTreeSet<String> = [
            "8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94",
            "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a",
            "8D3F5A2E-6B1C-4E9F-A7D2-3C5B8E1F0A95",
            "user-7",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let (Some(AttributeValue::B(packed)), Some(AttributeValue::Ss(rest))) = pack(&ids) else {
            panic!("expected both parts");
        };
        assert_eq!(packed.as_ref().len(), 32);
        assert_eq!(rest.len(), 2, "uppercase and non-GUID ids stay verbatim");
        let mut back: BTreeSet<String> = unpack(packed.as_ref()).unwrap().into_iter().collect();
        back.extend(rest);
        assert_eq!(back, ids);
        assert_eq!(pack(&BTreeSet::new()), (None, None));
        assert_eq!(unpack(&[0; 17]), None);
    }

    #[test]
    fn size_counts_packed_ids() {
        let key = JobKey::new("sp", "job");
        let provision = ProvisionState {
            assigned_users: (0..1000u128)
                .map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string())
                .collect(),
            ..Default::default()
        };
        let size = encoded_size(&key, &provision);
        assert!((16_000..17_000).contains(&size), "{size}");
    }

    #[test]
    fn a_save_without_changes_only_drops_the_lease() {
        let (expression, values) =
            save_expression("me", &StateUpdate::default(), OffsetDateTime::now_utc());
        assert_eq!(expression, "REMOVE lease_owner, lease_expires");
        assert_eq!(values.len(), 1);
    }
}
