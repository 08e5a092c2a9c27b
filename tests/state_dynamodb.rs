//! The state store against DynamoDB's API, served by moto_server on 127.0.0.1 (from the repo's
//! .venv, which `make test` creates): the same rules src/state/tests.rs proves in memory, plus
//! what only a real table shows (conditional writes racing, the item layout, AWS errors).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use entra_idc_sync::{
    Acquired, AwsClients, Deadline, Held, JobKey, ProvisionState, StateError, StateStore,
    StateUpdate,
};
use time::OffsetDateTime;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// moto_server under the repo's watchdog: it stops when this test process exits, however.
struct Moto {
    endpoint: String,
    process: Child,
}

impl Moto {
    fn start() -> Self {
        let venv = PathBuf::from(REPO).join(".venv/bin");
        let moto = venv.join("moto_server");
        assert!(
            moto.exists(),
            "{} is missing: run `make .venv/.installed` (make test does)",
            moto.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .map(|address| address.port())
            .expect("a free port");
        let moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            process: Command::new(venv.join("python"))
                .args(["-m", "devtools.watchdog", "--max-lifetime", "600", "--"])
                .arg(&moto)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .current_dir(REPO)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server did not start on {}", moto.endpoint);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin makes the watchdog stop moto_server, then exit.
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}

/// One moto for the whole binary; the store reads its endpoint from the standard variables.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let moto = Moto::start();
        for (name, value) in [
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            // SAFETY: set once, under the OnceLock, before any SDK client reads them.
            unsafe { std::env::set_var(name, value) };
        }
        moto
    })
}

async fn admin_client() -> aws_sdk_dynamodb::Client {
    moto();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// A fresh table, as template.yaml declares it: `pk` string key, on-demand.
async fn new_table() -> StateStore {
    let name = format!("state-{}", uuid::Uuid::new_v4().simple());
    admin_client()
        .await
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the table");
    StateStore::dynamodb(name, Arc::new(AwsClients::new()))
}

fn key() -> JobKey {
    JobKey::new(
        "8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94",
        "AWSSCIM.4f9a2c1b8e7d4f60a1b2c3d4e5f60718.8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94",
    )
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(60))
}

async fn take(store: &StateStore) -> Held {
    match store.acquire(&key(), &deadline()).await.unwrap() {
        Acquired::Held(held) => held,
        Acquired::Taken(taken) => panic!("lease taken: {taken:?}"),
    }
}

fn guids(count: u128, offset: u128) -> BTreeSet<String> {
    (offset..offset + count)
        .map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string())
        .collect()
}

fn provision() -> ProvisionState {
    let mut users = guids(3, 1);
    users.insert("not-a-guid@contoso.com".into());
    ProvisionState {
        delta_links: [
            (
                "groups/0".to_string(),
                "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=abc".to_string(),
            ),
            (
                "users/0".to_string(),
                "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=def".to_string(),
            ),
        ]
        .into(),
        assigned_users: users,
        assigned_groups: guids(2, 100),
    }
}

/// Whole seconds at millisecond precision, as the table stores them.
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap()
}

#[tokio::test]
async fn state_round_trips_and_advances_only_through_the_save() {
    let store = new_table().await;
    let held = take(&store).await;
    assert_eq!(held.state.provision, None, "a new job has no baseline");
    assert_eq!(held.state.last_trigger, None);
    let triggered = now_ms();
    let update = StateUpdate {
        last_trigger: Some(triggered),
        provision: Some(provision()),
    };
    store.save_and_release(held.lease, update).await.unwrap();

    let held = take(&store).await;
    assert_eq!(held.state.provision, Some(provision()));
    assert_eq!(held.state.last_trigger, Some(triggered));
    // The failure path: released, nothing advanced.
    store.release(held.lease).await.unwrap();
    let snapshot = store.read(&key()).await.unwrap();
    assert_eq!(snapshot.lease, None);
    assert_eq!(snapshot.state.provision, Some(provision()));

    // A later save replaces the sets whole: emptied sets come back empty.
    let held = take(&store).await;
    let emptied = ProvisionState::default();
    let update = StateUpdate {
        provision: Some(emptied.clone()),
        ..Default::default()
    };
    store.save_and_release(held.lease, update).await.unwrap();
    let snapshot = store.read(&key()).await.unwrap();
    assert_eq!(snapshot.state.provision, Some(emptied));
    assert_eq!(
        snapshot.state.last_trigger,
        Some(triggered),
        "kept when not updated"
    );
}

#[tokio::test]
async fn overlapping_acquisitions_grant_the_lease_once_and_name_the_holder() {
    let store = new_table().await;
    let (key, deadline) = (key(), deadline());
    let attempts =
        futures_util::future::join_all((0..6).map(|_| store.acquire(&key, &deadline))).await;
    let mut held = Vec::new();
    let mut taken = Vec::new();
    for attempt in attempts {
        match attempt.unwrap() {
            Acquired::Held(h) => held.push(h),
            Acquired::Taken(t) => taken.push(t),
        }
    }
    assert_eq!(held.len(), 1, "exactly one invocation may act");
    let holder = held.pop().unwrap();
    for other in &taken {
        assert_eq!(other.owner, holder.lease.owner());
        assert!(other.reason().contains(holder.lease.owner()));
    }
    store.release(holder.lease).await.unwrap();
    let again = take(&store).await;
    store.release(again.lease).await.unwrap();
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_late_owner_cannot_save() {
    let store = new_table().await;
    let start = OffsetDateTime::now_utc();
    let Acquired::Held(late) = store
        .acquire_at(&key(), start, start + time::Duration::seconds(1))
        .await
        .unwrap()
    else {
        panic!("a new job's lease was taken");
    };
    let later = start + time::Duration::seconds(2);
    let Acquired::Held(usurper) = store
        .acquire_at(&key(), later, later + time::Duration::seconds(60))
        .await
        .unwrap()
    else {
        panic!("an expired lease was not taken over");
    };
    let update = StateUpdate {
        provision: Some(provision()),
        ..Default::default()
    };
    let error = store
        .save_and_release(late.lease, update)
        .await
        .unwrap_err();
    assert!(matches!(error, StateError::LeaseLost { .. }), "{error}");
    assert!(error.to_string().contains("next run repeats it"), "{error}");
    let snapshot = store.read(&key()).await.unwrap();
    assert_eq!(
        snapshot.state.provision, None,
        "the late save wrote nothing"
    );
    assert_eq!(
        snapshot.lease.map(|lease| lease.owner),
        Some(usurper.lease.owner().to_string())
    );
    store.release(usurper.lease).await.unwrap();
}

#[tokio::test]
async fn the_largest_allowed_state_fits_one_item_and_a_larger_one_is_refused() {
    let store = new_table().await;
    let held = take(&store).await;
    let fits = ProvisionState {
        assigned_users: guids(15_000, 0),
        assigned_groups: guids(5_000, 1_000_000),
        delta_links: (0..100)
            .map(|chunk| {
                (
                    format!("groups/{chunk}"),
                    format!(
                        "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken={}",
                        "x".repeat(400)
                    ),
                )
            })
            .collect(),
    };
    let update = StateUpdate {
        provision: Some(fits.clone()),
        ..Default::default()
    };
    store.save_and_release(held.lease, update).await.unwrap();
    let held = take(&store).await;
    assert_eq!(
        held.state
            .provision
            .as_ref()
            .map(|p| p.assigned_users.len()),
        Some(15_000)
    );
    assert_eq!(held.state.provision, Some(fits));

    let too_many = ProvisionState {
        assigned_users: guids(30_000, 0),
        ..Default::default()
    };
    let update = StateUpdate {
        provision: Some(too_many),
        ..Default::default()
    };
    let error = store
        .save_and_release(held.lease, update)
        .await
        .unwrap_err();
    assert!(matches!(error, StateError::TooLarge { .. }), "{error}");
    assert!(
        error.to_string().contains("30000 assigned users"),
        "{error}"
    );
    assert_eq!(
        store.read(&key()).await.unwrap().lease,
        None,
        "the refused save released the lease"
    );
}

#[tokio::test]
async fn a_missing_table_names_state_table() {
    moto();
    let store = StateStore::dynamodb("no-such-table".into(), Arc::new(AwsClients::new()));
    let error = store.acquire(&key(), &deadline()).await.unwrap_err();
    assert!(matches!(error, StateError::TableNotFound { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("STATE_TABLE") && text.contains("no-such-table"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unreadable_item_is_named_and_its_lease_given_back() {
    let store = new_table().await;
    let admin = admin_client().await;
    admin
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(key().pk()))
        .item("last_trigger", AttributeValue::S("yesterday".into()))
        .send()
        .await
        .unwrap();
    let error = store.acquire(&key(), &deadline()).await.unwrap_err();
    assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("last_trigger") && text.contains("delete the item"),
        "{text}"
    );
    let item = admin
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(key().pk()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        !item.contains_key("lease_owner"),
        "the lease was given back"
    );
}
