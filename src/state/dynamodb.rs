//! The state in DynamoDB: one item per job, written only with conditional UpdateItems.
//!
//! Item layout (partition key `pk`, a string; nothing else is keyed):
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
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;
use tracing::info;

use crate::aws::{AwsClients, error_code, unavailable_detail};

use super::{
    Acquired, Held, JobKey, JobState, Lease, LeaseTaken, ProvisionState, Snapshot, StateError,
    StateUpdate,
};

/// Long enough for a slow answer, short enough to leave the invocation time to report it.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Attribute names and size overhead DynamoDB counts besides the ids and links: generous.
const FIXED_OVERHEAD: usize = 512;

const PK: &str = "pk";
const LEASE_OWNER: &str = "lease_owner";
const LEASE_EXPIRES: &str = "lease_expires";
const LAST_TRIGGER: &str = "last_trigger";
const BASELINE_AT: &str = "baseline_at";
const DELTA_LINKS: &str = "delta_links";
const USERS: &str = "assigned_users";
const USERS_OTHER: &str = "assigned_users_other";
const GROUPS: &str = "assigned_groups";
const GROUPS_OTHER: &str = "assigned_groups_other";

type Item = HashMap<String, AttributeValue>;

pub(super) struct DynamoDbState {
    table: String,
    aws: Arc<AwsClients>,
}

impl DynamoDbState {
    pub(super) fn new(table: String, aws: Arc<AwsClients>) -> Self {
        Self { table, aws }
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    async fn client(&self) -> &Client {
        self.aws.dynamodb().await
    }

    pub(super) async fn acquire(
        &self,
        lease: Lease,
        now: OffsetDateTime,
    ) -> Result<Acquired, StateError> {
        let pk = lease.key.pk();
        let call = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.clone()))
            .update_expression(format!(
                "SET {LEASE_OWNER} = :owner, {LEASE_EXPIRES} = :until"
            ))
            .condition_expression(format!(
                "attribute_not_exists({LEASE_OWNER}) OR {LEASE_EXPIRES} < :now"
            ))
            .expression_attribute_values(":owner", AttributeValue::S(lease.owner.clone()))
            .expression_attribute_values(":until", millis(lease.expires_at))
            .expression_attribute_values(":now", millis(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        match self.timed(call).await? {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                let state = self.decode(&pk, &item)?;
                info!(job_id = %lease.key.job_id, lease = %lease.owner, table = %self.table, "took the job's lease");
                Ok(Acquired::Held(Held { lease, state }))
            }
            Err(error) if is_condition_failure(&error) => {
                let old = match error.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(failure) => failure.item,
                    _ => None,
                };
                let holder = match old {
                    Some(item) => self.decode_lease(&pk, &item)?,
                    // Not every DynamoDB stand-in returns the old item: read it.
                    None => self.read(&lease.key, now).await?.lease,
                };
                Ok(Acquired::Taken(holder.unwrap_or(LeaseTaken {
                    owner: "unknown".into(),
                    until: now,
                })))
            }
            Err(error) => Err(self.explain(error)),
        }
    }

    pub(super) async fn save(&self, lease: &Lease, update: &StateUpdate) -> Result<(), StateError> {
        let mut set = Vec::new();
        let mut remove = vec![LEASE_OWNER.to_string(), LEASE_EXPIRES.to_string()];
        let mut values =
            HashMap::from([(":owner".to_string(), AttributeValue::S(lease.owner.clone()))]);
        if let Some(at) = update.last_trigger {
            set.push(format!("{LAST_TRIGGER} = :trigger"));
            values.insert(":trigger".into(), millis(at));
        }
        if let Some(provision) = &update.provision {
            set.push(format!("{BASELINE_AT} = :baseline, {DELTA_LINKS} = :links"));
            values.insert(":baseline".into(), millis(OffsetDateTime::now_utc()));
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
                        None => remove.push(name.to_string()),
                    }
                }
            }
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression = format!("SET {} ", set.join(", "));
        }
        expression.push_str(&format!("REMOVE {}", remove.join(", ")));
        let call = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(lease.key.pk()))
            .update_expression(expression)
            .condition_expression(format!("{LEASE_OWNER} = :owner"))
            .set_expression_attribute_values(Some(values))
            .send();
        match self.timed(call).await? {
            Ok(_) => {
                info!(job_id = %lease.key.job_id, lease = %lease.owner, saved = update.provision.is_some() || update.last_trigger.is_some(), "released the job's lease");
                Ok(())
            }
            Err(error) if is_condition_failure(&error) => Err(StateError::LeaseLost {
                table: self.table.clone(),
                job_id: lease.key.job_id.clone(),
            }),
            Err(error) => Err(self.explain(error)),
        }
    }

    pub(super) async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        match self.save(lease, &StateUpdate::default()).await {
            // Someone else holds it now: theirs to release.
            Err(StateError::LeaseLost { .. }) => Ok(()),
            other => other,
        }
    }

    pub(super) async fn read(
        &self,
        key: &JobKey,
        now: OffsetDateTime,
    ) -> Result<Snapshot, StateError> {
        let pk = key.pk();
        let call = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.clone()))
            .consistent_read(true)
            .send();
        let item = self
            .timed(call)
            .await?
            .map_err(|error| self.explain(error))?
            .item
            .unwrap_or_default();
        Ok(Snapshot {
            state: self.decode(&pk, &item)?,
            lease: self
                .decode_lease(&pk, &item)?
                .filter(|held| held.until >= now),
        })
    }

    async fn timed<T>(&self, call: impl Future<Output = T>) -> Result<T, StateError> {
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| StateError::Unavailable {
                table: self.table.clone(),
                detail: format!("no answer within {CALL_TIMEOUT:?}"),
            })
    }

    fn decode(&self, pk: &str, item: &Item) -> Result<JobState, StateError> {
        let reader = Reader {
            table: &self.table,
            pk,
            item,
        };
        let provision = match reader.time(BASELINE_AT)? {
            None => None,
            Some(_) => Some(ProvisionState {
                delta_links: reader.links()?,
                assigned_users: reader.ids(USERS, USERS_OTHER)?,
                assigned_groups: reader.ids(GROUPS, GROUPS_OTHER)?,
            }),
        };
        Ok(JobState {
            last_trigger: reader.time(LAST_TRIGGER)?,
            provision,
        })
    }

    fn decode_lease(&self, pk: &str, item: &Item) -> Result<Option<LeaseTaken>, StateError> {
        let reader = Reader {
            table: &self.table,
            pk,
            item,
        };
        let Some(AttributeValue::S(owner)) = item.get(LEASE_OWNER) else {
            return Ok(None);
        };
        Ok(reader.time(LEASE_EXPIRES)?.map(|until| LeaseTaken {
            owner: owner.clone(),
            until,
        }))
    }

    fn explain<E>(&self, error: SdkError<E>) -> StateError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let detail = DisplayErrorContext(&error).to_string();
        classify(&self.table, error_code(&error), &detail)
    }
}

fn is_condition_failure<E: ProvideErrorMetadata>(error: &SdkError<E>) -> bool {
    error.code() == Some("ConditionalCheckFailedException")
}

/// Sorts a DynamoDB failure by its AWS error code (or, before any answer, by the SDK's text)
/// into what the admin must do.
fn classify(table: &str, code: Option<&str>, detail: &str) -> StateError {
    let table = table.to_string();
    match code {
        Some("ResourceNotFoundException") => StateError::TableNotFound { table },
        Some(
            code @ ("AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException"
            | "InvalidClientTokenId"),
        ) => StateError::AccessDenied {
            table,
            code: code.to_string(),
        },
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => StateError::Throttled { table },
        _ => StateError::Unavailable {
            table,
            detail: unavailable_detail(detail),
        },
    }
}

/// Reads typed attributes, naming the item and attribute when one has the wrong shape.
struct Reader<'a> {
    table: &'a str,
    pk: &'a str,
    item: &'a Item,
}

impl Reader<'_> {
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

fn millis(at: OffsetDateTime) -> AttributeValue {
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
    fn aws_error_codes_become_instructions() {
        let text = classify("state", Some("ResourceNotFoundException"), "").to_string();
        assert!(
            text.contains("STATE_TABLE") && text.contains("\"state\""),
            "{text}"
        );
        let text = classify("state", Some("AccessDeniedException"), "").to_string();
        for action in ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"] {
            assert!(text.contains(&format!("dynamodb:{action}")), "{text}");
        }
        let throttled = classify("state", Some("ProvisionedThroughputExceededException"), "");
        assert!(matches!(throttled, StateError::Throttled { .. }));
        let text = classify(
            "state",
            None,
            "dispatch failure: io error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError }))",
        )
        .to_string();
        assert!(
            text.ends_with("Connection refused (os error 111)"),
            "{text}"
        );
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
}
