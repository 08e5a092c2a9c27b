//! The credentials secret: `EntraCredentials::parse`, and the `Sensitive` wrapper that keeps
//! the client secret out of every rendering.

use entra_idc_sync::{EntraCredentials, SECRET_KEYS, Sensitive};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common::{SECRET_ID, arb_json, arb_text, config};

/// A recognisable client secret: found in any output, it is a leak.
fn arb_canary() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{8,20}".prop_map(|tail| format!("CANARY-{tail}"))
}

fn arb_guid_text() -> impl Strategy<Value = String> {
    (any::<u128>(), any::<bool>(), any::<bool>()).prop_map(|(bits, upper, padded)| {
        let id = uuid::Uuid::from_u128(bits).hyphenated().to_string();
        let id = if upper { id.to_uppercase() } else { id };
        if padded { format!(" {id}\t") } else { id }
    })
}

/// A value for an id-like key: valid, blank, a near miss, or any JSON at all.
fn arb_id_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => arb_guid_text().prop_map(Value::String),
        1 => prop::sample::select(vec![
            "contoso.onmicrosoft.com", "Contoso.COM", "-bad-.com", "not a tenant", "a..b", "",
            "  ",
        ])
        .prop_map(Value::from),
        1 => arb_json(),
    ]
}

/// The client secret as stored: the canary (maybe padded), or the canary in the wrong type.
fn arb_secret_value(canary: String) -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => Just(Value::String(canary.clone())),
        1 => Just(Value::String(format!("  {canary}\n"))),
        1 => Just(json!([canary.clone()])),
        1 => Just(json!({ "value": canary.clone() })),
        1 => Just(Value::Null),
        1 => Just(json!("   ")),
    ]
}

/// Secret texts made of the accepted keys (each spelling present or not) with any values,
/// extra keys, and sometimes cut short so the JSON is invalid right after the secret.
fn arb_secret_text() -> impl Strategy<Value = (String, String)> {
    arb_canary().prop_flat_map(|canary| {
        let present = |keys: &[&'static str], value: BoxedStrategy<Value>| {
            prop::collection::btree_map(prop::sample::select(keys.to_vec()), value, 0..=keys.len())
        };
        let optional_keys = [
            SECRET_KEYS.app_display_name,
            SECRET_KEYS.service_principal_id,
        ]
        .concat();
        (
            present(SECRET_KEYS.tenant_id, arb_id_value().boxed()),
            present(SECRET_KEYS.client_id, arb_id_value().boxed()),
            present(
                SECRET_KEYS.client_secret,
                arb_secret_value(canary.clone()).boxed(),
            ),
            present(&optional_keys, arb_id_value().boxed()),
            prop::collection::btree_map(arb_text(), arb_json(), 0..3),
            prop_oneof![3 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)],
            Just(canary),
        )
            .prop_map(|(tenant, client, secret, optional, extra, cut, canary)| {
                let mut fields = Map::new();
                for (key, value) in extra {
                    fields.insert(key, value);
                }
                for (key, value) in [tenant, client, secret, optional].into_iter().flatten() {
                    fields.insert(key.to_string(), value);
                }
                let mut text = Value::Object(fields).to_string();
                if let Some(cut) = cut {
                    let mut at = cut.index(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    text.truncate(at);
                }
                (canary, text)
            })
    })
}

fn assert_no_canary(canary: &str, text: &str, what: &str, input: &str) {
    assert!(
        !text.contains(canary),
        "{what} leaked the client secret for {input}: {text}"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_secret_text_gives_credentials_or_an_error(text in prop_oneof![
        any::<String>(),
        arb_json().prop_map(|value| value.to_string()),
    ]) {
        match EntraCredentials::parse(SECRET_ID, &text) {
            Ok(credentials) => {
                let _ = format!("{credentials:?}");
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains(SECRET_ID), "{message}");
            }
        }
    }

    #[test]
    fn the_client_secret_never_appears_in_errors_or_debug_output(
        (canary, text) in arb_secret_text()
    ) {
        match EntraCredentials::parse(SECRET_ID, &text) {
            Ok(credentials) => {
                prop_assert_eq!(credentials.client_secret().map(Sensitive::expose).unwrap_or_default(), canary.as_str());
                assert_no_canary(&canary, &format!("{credentials:?}"), "Debug", &text);
                assert_no_canary(&canary, &format!("{credentials:#?}"), "pretty Debug", &text);
                assert_no_canary(&canary, &credentials.client_secret().map(ToString::to_string).unwrap_or_default(), "Display", &text);
            }
            Err(error) => {
                assert_no_canary(&canary, &error.to_string(), "the error message", &text);
                assert_no_canary(&canary, &format!("{error:?}"), "the error's Debug", &text);
                assert_no_canary(&canary, &format!("{error:#?}"), "the error's pretty Debug", &text);
            }
        }
    }

    #[test]
    fn well_formed_secrets_parse_whatever_else_they_hold(
        canary in arb_canary(),
        tenant_key in prop::sample::select(SECRET_KEYS.tenant_id.to_vec()),
        client_key in prop::sample::select(SECRET_KEYS.client_id.to_vec()),
        secret_key in prop::sample::select(SECRET_KEYS.client_secret.to_vec()),
        tenant in arb_guid_text(),
        client in arb_guid_text(),
        extra in prop::collection::btree_map("x[a-z]{1,8}", arb_json(), 0..4),
    ) {
        let mut fields: Map<String, Value> = extra.into_iter().collect();
        fields.insert(tenant_key.into(), json!(tenant));
        fields.insert(client_key.into(), json!(client));
        fields.insert(secret_key.into(), json!(canary));
        let text = Value::Object(fields).to_string();
        let credentials = EntraCredentials::parse(SECRET_ID, &text)
            .map_err(|error| TestCaseError::fail(format!("{text} -> {error}")))?;
        prop_assert_eq!(credentials.tenant_id.as_str(), tenant.trim().to_lowercase());
        prop_assert_eq!(&credentials.client_id, &client.trim().to_lowercase());
        prop_assert_eq!(credentials.client_secret().map(Sensitive::expose).unwrap_or_default(), canary.as_str());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sensitive_values_render_redacted_everywhere(
        canary in arb_canary(),
        padding in "[ \t\n]{0,2}",
    ) {
        let value = format!("{padding}{canary}{padding}");
        let secret = Sensitive::new(value.clone());
        let renderings = [
            secret.to_string(),
            format!("{secret:?}"),
            format!("{secret:#?}"),
            format!("{:?}", Some(secret.clone())),
            format!("{:?}", vec![secret.clone()]),
            serde_json::to_string(&secret).unwrap_or_default(),
            serde_json::to_value(&secret).map(|v| v.to_string()).unwrap_or_default(),
            serde_json::to_string_pretty(&json!({ "token": serde_json::to_value(&secret).ok() }))
                .unwrap_or_default(),
        ];
        for rendering in renderings {
            prop_assert!(!rendering.contains(&canary), "leaked: {}", rendering);
            prop_assert!(rendering.contains("[redacted]"), "{}", rendering);
        }
        prop_assert_eq!(secret.expose(), value.as_str());
    }
}
