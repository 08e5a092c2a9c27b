//! The wait for a triggered cycle: `wait_for_cycle` ends by the invocation's deadline whatever
//! the wait limit.

use std::time::Duration;

use entra_idc_sync::{Clients, Deadline, Settings, wait_for_cycle};
use proptest::prelude::*;
use time::OffsetDateTime;

use crate::common::config;

/// `waitLimitSeconds` (request) and `WAIT_LIMIT_SECONDS` (environment) accept any u64; the
/// wait must end by the invocation's deadline whatever the limit, also near `u64::MAX`
/// seconds, where `started + limit` would overflow `Instant`.
#[test]
fn the_wait_ends_by_the_deadline_whatever_the_wait_limit() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Nothing listens there, and nothing is called: the deadline has already passed.
    let settings = Settings::from_lookup(|name| match name {
        "SECRET_ID" => Some("unused".into()),
        "AZURE_AUTHORITY_HOST" | "GRAPH_ENDPOINT" => Some("http://127.0.0.1:9/".into()),
        "HTTP_TIMEOUT_SECONDS" => Some("1".into()),
        _ => None,
    })
    .expect("settings");
    let clients = Clients::new(&settings).expect("the clients");
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(
            &prop_oneof![any::<u64>(), Just(u64::MAX), Just(i64::MAX as u64)],
            |seconds| {
                let deadline = Deadline::after(Duration::ZERO);
                runtime.block_on(wait_for_cycle(
                    &clients.graph,
                    "sp",
                    "job",
                    OffsetDateTime::now_utc(),
                    Duration::from_secs(seconds),
                    &deadline,
                ));
                Ok(())
            },
        )
        .expect("the wait ended");
}
