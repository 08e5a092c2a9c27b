//! What every property module shares: the proptest configuration and arbitrary JSON.

use entra_idc_sync::REQUEST_FIELDS;
use proptest::prelude::*;
use serde_json::{Number, Value};

const CASES: u32 = 256;

/// The secret id every parse is given (errors must name it).
pub const SECRET_ID: &str = "entra/creds";

pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // A failure is shrunk to a small input; no need to keep regression files in the repo.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Short strings that are sometimes plain, sometimes full of control, quote and non-ASCII
/// characters.
pub fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{0,12}",
        any::<String>().prop_map(|text| text.chars().take(24).collect()),
        Just(String::new()),
        Just("   ".to_string()),
    ]
}

pub fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0u64..1000).prop_map(Value::from),
    ]
}

pub fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_text().prop_map(Value::String),
    ]
}

/// Any JSON value, at most 4 levels deep and about 64 nodes.
pub fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Keys as an admin might type them: right, nearly right, or anything.
pub fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(REQUEST_FIELDS.to_vec()).prop_map(str::to_string),
        1 => prop::sample::select(vec![
            "dry_run", "Action", "reset_scope", "actoin", "waitLimit", "detail", "source",
            "detail-type", "",
        ])
        .prop_map(str::to_string),
        1 => arb_text(),
    ]
}
