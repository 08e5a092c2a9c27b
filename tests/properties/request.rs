//! The invocation payload: `SyncRequest::from_event` and `from_payload`.

use std::time::Duration;

use entra_idc_sync::{Payload, REQUEST_FIELDS, SyncRequest};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{arb_json, arb_key, arb_text, config};

/// The fields that take a boolean, and the one that takes a count; the others take text.
const REQUEST_BOOL_FIELDS: &[&str] = &["dryRun", "wait", "force"];
const REQUEST_COUNT_FIELD: &str = "waitLimitSeconds";
/// Lists of names (the provision action's `users` and `groups`).
const REQUEST_LIST_FIELDS: &[&str] = &["users", "groups"];

fn is_request_field(key: &str) -> bool {
    REQUEST_FIELDS.contains(&key)
}

fn is_text_field(key: &str) -> bool {
    is_request_field(key)
        && !REQUEST_BOOL_FIELDS.contains(&key)
        && key != REQUEST_COUNT_FIELD
        && !REQUEST_LIST_FIELDS.contains(&key)
}

/// A value of the type the field wants, sometimes with a meaningful content.
fn well_typed_value(key: &str) -> BoxedStrategy<Value> {
    if REQUEST_BOOL_FIELDS.contains(&key) {
        prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool)].boxed()
    } else if key == REQUEST_COUNT_FIELD {
        prop_oneof![Just(Value::Null), any::<u64>().prop_map(Value::from)].boxed()
    } else if REQUEST_LIST_FIELDS.contains(&key) {
        let names = prop::collection::vec(arb_text().prop_map(Value::String), 0..4);
        prop_oneof![Just(Value::Null), names.prop_map(Value::Array)].boxed()
    } else {
        prop_oneof![
            Just(Value::Null),
            arb_text().prop_map(Value::String),
            prop::sample::select(vec![
                "restart",
                "Start",
                " status ",
                "Watermark, Escrows",
                "Full",
                "None",
                "AWSSCIM.abc.def",
                "0d1c2b3a-4f5e-6789-abcd-ef0123456789",
                "AWS IAM Identity Center",
            ])
            .prop_map(Value::from),
        ]
        .boxed()
    }
}

/// Request objects over the known field names, each with a well-typed or an arbitrary value,
/// sometimes with an unknown key mixed in.
fn arb_request_object() -> impl Strategy<Value = Value> {
    let field = arb_key().prop_flat_map(|key| {
        let value = if is_request_field(&key) {
            prop_oneof![3 => well_typed_value(&key), 1 => arb_json()].boxed()
        } else {
            arb_json().boxed()
        };
        (Just(key), value)
    });
    prop::collection::vec(field, 0..10)
        .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>()))
}

fn is_well_typed(key: &str, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(_) => REQUEST_BOOL_FIELDS.contains(&key),
        Value::String(_) => is_text_field(key),
        Value::Number(number) => key == REQUEST_COUNT_FIELD && number.is_u64(),
        Value::Array(items) => {
            REQUEST_LIST_FIELDS.contains(&key) && items.iter().all(Value::is_string)
        }
        _ => false,
    }
}

fn is_envelope(fields: &Map<String, Value>) -> bool {
    fields.contains_key("source") && fields.contains_key("detail-type")
}

/// The object whose keys are the request's fields, if the event has one.
fn request_object(event: &Value) -> Option<&Map<String, Value>> {
    match event {
        Value::Object(fields) if is_envelope(fields) => match fields.get("detail") {
            Some(Value::Object(detail)) => Some(detail),
            _ => None,
        },
        Value::Object(fields) => Some(fields),
        _ => None,
    }
}

/// What `from_event` promises for any event; returns nothing, panics with the broken promise.
fn check_request_promises(event: &Value) {
    let result = SyncRequest::from_event(event);
    let Some(fields) = request_object(event) else {
        match event {
            Value::Null => assert_eq!(result, Ok(SyncRequest::default())),
            Value::Object(envelope) => match envelope.get("detail") {
                None | Some(Value::Null) => assert_eq!(result, Ok(SyncRequest::default())),
                Some(_) => {
                    let text = result
                        .expect_err("a non-object detail was accepted")
                        .to_string();
                    assert!(text.contains("detail"), "{event} -> {text}");
                }
            },
            _ => {
                let text = result
                    .expect_err("a non-object payload was accepted")
                    .to_string();
                assert!(text.contains("JSON object"), "{event} -> {text}");
            }
        }
        return;
    };
    let unknown: Vec<&String> = fields.keys().filter(|key| !is_request_field(key)).collect();
    match &result {
        Ok(request) => {
            assert!(
                unknown.is_empty(),
                "accepted unknown keys {unknown:?} in {event}"
            );
            let flag = |key| fields.get(key) == Some(&Value::Bool(true));
            assert_eq!(request.dry_run, flag("dryRun"), "{event}");
            assert_eq!(request.force, flag("force"), "{event}");
            assert_eq!(
                request.wait_limit,
                fields
                    .get(REQUEST_COUNT_FIELD)
                    .and_then(Value::as_u64)
                    .map(Duration::from_secs),
                "{event}"
            );
        }
        Err(error) => {
            let all_known_well_typed = fields
                .iter()
                .filter(|(key, _)| is_request_field(key))
                .all(|(key, value)| is_well_typed(key, value));
            // The first problem in key order is reported; an unknown key is that problem
            // when every known field has a value of the right type.
            if !unknown.is_empty() && all_known_well_typed {
                let text = error.to_string();
                assert!(
                    unknown.iter().any(|key| text.contains(key.as_str())),
                    "the error for {event} names none of {unknown:?}: {text}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_json_payload_gives_a_request_or_an_error(event in arb_json()) {
        check_request_promises(&event);
    }

    #[test]
    fn request_objects_accept_only_known_fields_and_name_unknown_ones(
        event in arb_request_object()
    ) {
        check_request_promises(&event);
    }

    #[test]
    fn eventbridge_envelopes_are_judged_by_their_detail(
        detail in prop_oneof![
            3 => arb_request_object().prop_map(Some),
            1 => arb_json().prop_map(Some),
            1 => Just(None),
        ],
        source in prop_oneof![Just(json!("aws.events")), arb_json()],
        detail_type in prop_oneof![Just(json!("Scheduled Event")), arb_json()],
        extra in prop::collection::btree_map(
            prop::sample::select(vec!["version", "id", "account", "time", "region", "resources"]),
            arb_json(),
            0..4,
        ),
    ) {
        let mut envelope: Map<String, Value> =
            extra.into_iter().map(|(key, value)| (key.to_string(), value)).collect();
        envelope.insert("source".into(), source);
        envelope.insert("detail-type".into(), detail_type);
        if let Some(detail) = &detail {
            envelope.insert("detail".into(), detail.clone());
        }
        let event = Value::Object(envelope);
        check_request_promises(&event);
        // An envelope's own fields never matter: it means what its detail means, read as a
        // request object (even when the detail looks like an envelope itself).
        match detail {
            Some(Value::Object(fields)) if !is_envelope(&fields) => prop_assert_eq!(
                SyncRequest::from_event(&event),
                SyncRequest::from_event(&Value::Object(fields))
            ),
            None | Some(Value::Null) => {
                prop_assert_eq!(SyncRequest::from_event(&event), Ok(SyncRequest::default()))
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn payloads_read_as_the_runtime_reads_them_decide_as_their_json_does(
        bytes in prop_oneof![
            2 => arb_json().prop_map(|value| value.to_string().into_bytes()),
            1 => arb_request_object().prop_map(|value| value.to_string().into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..128),
            1 => (1usize..200).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        ]
    ) {
        // As lambda_runtime reads it: a value, no check for what follows it.
        let mut reader = serde_json::Deserializer::from_slice(&bytes);
        let payload = Payload::deserialize(&mut reader);
        prop_assert!(payload.is_ok(), "reading a payload failed: {:?}", payload.err());
        let Ok(payload) = payload else { return Ok(()) };
        let result = SyncRequest::from_payload(&payload);
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            prop_assert_eq!(result, SyncRequest::from_event(&value));
        }
    }
}
