//! The state boundary's one error type: what went wrong with the table and what to do.

use thiserror::Error;

/// The IAM actions the function's role needs on the state table.
pub const STATE_TABLE_ACTIONS: &str = "dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem and dynamodb:Query";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StateError {
    #[error(
        "the state table {table:?} (STATE_TABLE) does not exist in this account and region: \
         deploy the stack's StateTable, or set STATE_TABLE to an existing table whose partition \
         key is `pk` (string)"
    )]
    TableNotFound { table: String },
    #[error(
        "access to the state table {table:?} (STATE_TABLE) was denied ({code}): allow \
         {STATE_TABLE_ACTIONS} on it in the function's role"
    )]
    AccessDenied { table: String, code: String },
    #[error(
        "DynamoDB throttled the state table {table:?} (STATE_TABLE) beyond the SDK's retries: \
         use on-demand billing (the template's default) or raise its capacity; the next run \
         retries"
    )]
    Throttled { table: String },
    #[error("the state table {table:?} (STATE_TABLE) could not be reached: {detail}")]
    Unavailable { table: String, detail: String },
    #[error(
        "the state of job {job_id} would need {bytes} bytes ({users} assigned users, {groups} \
         assigned groups, {delta_links} delta links), over the {limit} bytes one DynamoDB item \
         of table {table:?} may hold: assign groups instead of many individual users, or use \
         the restart action for this app",
        limit = super::MAX_ITEM_BYTES
    )]
    TooLarge {
        table: String,
        job_id: String,
        users: usize,
        groups: usize,
        delta_links: usize,
        bytes: usize,
    },
    #[error(
        "the item {pk:?} in the state table {table:?} has an unreadable {attribute} ({problem}): \
         delete the item; the next provision run records a new baseline"
    )]
    Corrupt {
        table: String,
        pk: String,
        attribute: &'static str,
        problem: String,
    },
    #[error(
        "the lease on job {job_id} in the state table {table:?} expired before the state was \
         saved, and another invocation took it: the work was done but not recorded, so the next \
         run repeats it. Raise the function Timeout if this recurs"
    )]
    LeaseLost { table: String, job_id: String },
}
