//! The store's rules, proven on the in-memory table (tests/state_dynamodb.rs proves the same
//! rules on DynamoDB, through moto_server).

use super::*;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn key() -> JobKey {
    JobKey::new("8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94", "AWSSCIM.1.t")
}

async fn take(store: &StateStore, now: i64, until: i64) -> Held {
    match store.acquire_at(&key(), at(now), at(until)).await.unwrap() {
        Acquired::Held(held) => held,
        Acquired::Taken(taken) => panic!("lease taken: {taken:?}"),
    }
}

fn provision() -> ProvisionState {
    ProvisionState {
        delta_links: [(
            "groups/0".to_string(),
            "https://graph/delta?$deltatoken=a".to_string(),
        )]
        .into(),
        assigned_users: ["2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a".to_string()].into(),
        assigned_groups: BTreeSet::new(),
    }
}

#[tokio::test]
async fn a_second_invocation_finds_the_lease_taken_until_it_expires() {
    let store = StateStore::in_memory();
    let first = take(&store, 0, 60).await;
    let Acquired::Taken(taken) = store.acquire_at(&key(), at(30), at(90)).await.unwrap() else {
        panic!("the lease was granted twice");
    };
    assert_eq!(taken.owner, first.lease.owner());
    assert_eq!(taken.until, at(60));
    let reason = taken.reason();
    assert!(
        reason.contains(first.lease.owner()) && reason.contains("left alone"),
        "{reason}"
    );
    // Past its expiry the lease is abandoned and may be taken.
    let second = take(&store, 61, 120).await;
    assert_ne!(second.lease.owner(), first.lease.owner());
}

#[tokio::test]
async fn state_advances_only_through_the_owners_save() {
    let store = StateStore::in_memory();
    let held = take(&store, 0, 60).await;
    assert_eq!(held.state, JobState::default(), "a new job has no baseline");
    let update = StateUpdate {
        last_trigger: Some(at(5)),
        provision: Some(provision()),
    };
    store.save_and_release(held.lease, update).await.unwrap();
    let held = take(&store, 10, 70).await;
    assert_eq!(held.state.last_trigger, Some(at(5)));
    assert_eq!(held.state.provision, Some(provision()));
    // A failure path releases without advancing.
    store.release(held.lease).await.unwrap();
    let snapshot = store.read(&key()).await.unwrap();
    assert_eq!(snapshot.state.provision, Some(provision()));
    assert_eq!(snapshot.lease, None);
}

#[tokio::test]
async fn a_save_after_the_lease_was_lost_is_refused_and_writes_nothing() {
    let store = StateStore::in_memory();
    let late = take(&store, 0, 10).await;
    let usurper = take(&store, 20, 80).await;
    let update = StateUpdate {
        provision: Some(provision()),
        ..Default::default()
    };
    let error = store
        .save_and_release(late.lease, update)
        .await
        .unwrap_err();
    assert!(matches!(error, StateError::LeaseLost { .. }), "{error}");
    // Its release neither fails nor frees the usurper's lease.
    let snapshot = store.read(&key()).await.unwrap();
    assert_eq!(snapshot.state.provision, None);
    assert_eq!(
        snapshot.lease.map(|l| l.owner),
        Some(usurper.lease.owner().to_string())
    );
}

#[tokio::test]
async fn a_late_release_leaves_the_new_holders_lease() {
    let store = StateStore::in_memory();
    let late = take(&store, 0, 10).await;
    let usurper = take(&store, 20, 80).await;
    store.release(late.lease).await.unwrap();
    let Acquired::Taken(taken) = store.acquire_at(&key(), at(30), at(90)).await.unwrap() else {
        panic!("the late release freed someone else's lease");
    };
    assert_eq!(taken.owner, usurper.lease.owner());
}

#[tokio::test]
async fn a_state_over_the_item_limit_is_refused_with_the_counts() {
    let store = StateStore::in_memory();
    let held = take(&store, 0, 60).await;
    let huge = ProvisionState {
        assigned_users: (0..30_000u128)
            .map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string())
            .collect(),
        ..Default::default()
    };
    let update = StateUpdate {
        provision: Some(huge),
        ..Default::default()
    };
    let error = store
        .save_and_release(held.lease, update)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("30000 assigned users"), "{text}");
    assert!(matches!(error, StateError::TooLarge { .. }));
}

#[test]
fn jobs_of_one_app_have_their_own_items() {
    assert_ne!(JobKey::new("sp", "a").pk(), JobKey::new("sp", "b").pk());
    assert_eq!(JobKey::new("sp", "a").pk(), "job#sp#a");
}
