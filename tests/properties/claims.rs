//! What the check action reads from outside: the access token's payload (`roles`), the app
//! registration's credentials and the provisioning log, parsed from any input without a panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_idc_sync::{ApplicationCredentials, ProvisioningEntry, decode_token_claims};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{arb_json, arb_text, config};

proptest! {
    #![proptest_config(config())]

    /// Any text as a token: claims or an error, and the error never quotes the token.
    #[test]
    fn any_token_text_gives_claims_or_an_error(token in any::<String>()) {
        if let Err(error) = decode_token_claims(&token) {
            let text = error.to_string();
            prop_assert!(token.len() < 8 || !text.contains(&token));
        }
    }

    /// Any JSON payload in a well-formed JWT: roles are read when they are a list of strings,
    /// and anything else is an error, never a panic.
    #[test]
    fn any_payload_gives_claims_or_an_error(payload in arb_json(), roles in prop::collection::vec(arb_text(), 0..4)) {
        let token = |body: &Value| format!("eyJhbGciOiJub25lIn0.{}.c2ln", URL_SAFE_NO_PAD.encode(body.to_string()));
        let _ = decode_token_claims(&token(&payload));
        let claims = decode_token_claims(&token(&json!({"roles": roles, "tid": "t"})));
        prop_assert_eq!(claims.map(|claims| claims.roles), Ok(roles));
    }

    /// Graph's shapes for the application and the provisioning log accept any JSON object
    /// leniently or refuse it, never panic.
    #[test]
    fn any_json_gives_credentials_or_log_entries_or_an_error(value in arb_json()) {
        let _ = serde_json::from_value::<ApplicationCredentials>(value.clone());
        let _ = serde_json::from_value::<ProvisioningEntry>(value);
    }
}
