//! The state in DynamoDB: one item per job (layout in `item`), written only with
//! conditional UpdateItems, so a lease is granted once and a save lands only while its lease
//! is still held.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;
use tracing::info;

use crate::aws::{AwsClients, error_code, unavailable_detail};

use super::item::{Item, LEASE_EXPIRES, LEASE_OWNER, PK, Reader, millis, save_expression};
use super::{Acquired, Held, JobKey, Lease, LeaseTaken, Snapshot, StateError, StateUpdate};

/// Long enough for a slow answer, short enough to leave the invocation time to report it.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
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
                let state = match self.reader(&pk, &item).state() {
                    Ok(state) => state,
                    Err(error) => {
                        // Unreadable: give the lease back rather than block every run until
                        // it expires; the error says how to repair the item.
                        let _ = self.release(&lease).await;
                        return Err(error);
                    }
                };
                info!(job_id = %lease.key.job_id, lease = %lease.owner, table = %self.table, "took the job's lease");
                Ok(Acquired::Held(Held { lease, state }))
            }
            Err(error) if is_condition_failure(&error) => {
                let old = match error.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(failure) => failure.item,
                    _ => None,
                };
                let holder = match old {
                    Some(item) => self.reader(&pk, &item).lease()?,
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
        let (expression, values) = save_expression(&lease.owner, update, OffsetDateTime::now_utc());
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
            state: self.reader(&pk, &item).state()?,
            lease: self
                .reader(&pk, &item)
                .lease()?
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

    fn reader<'a>(&'a self, pk: &'a str, item: &'a Item) -> Reader<'a> {
        Reader {
            table: &self.table,
            pk,
            item,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
