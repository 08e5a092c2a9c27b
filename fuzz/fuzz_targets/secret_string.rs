//! The credentials secret: bytes (as lossy UTF-8) -> `EntraCredentials::parse`.
//! Never panics, and a client secret that looks like `CANARY-<8+ letters or digits>` never
//! appears in the error (`Display` or `Debug`) or in the `Debug` of the parsed credentials.
//! The seeds in fuzz/seeds/secret_string carry such canaries for the fuzzer to mutate around.
#![no_main]

use entra_idc_sync::{EntraCredentials, SECRET_KEYS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Canary secrets that occur in the text only as secret values, so any other place they show
/// up in the output is a leak (and not, say, an app display name that happens to hold one).
fn canaries(text: &str) -> Vec<String> {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        // Invalid JSON: every canary-shaped token is the secret as far as we can tell.
        return text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|token| is_canary(token) && text.matches(*token).count() == 1)
            .map(str::to_string)
            .collect();
    };
    let values: Vec<&str> = SECRET_KEYS
        .client_secret
        .iter()
        .filter_map(|key| fields.get(*key)?.as_str())
        .map(str::trim)
        .filter(|value| is_canary(value))
        .collect();
    values
        .iter()
        .filter(|value| {
            let as_secret = values.iter().filter(|other| other == value).count();
            text.matches(**value).count() == as_secret
        })
        .map(|value| value.to_string())
        .collect()
}

fn is_canary(token: &str) -> bool {
    token
        .strip_prefix("CANARY-")
        .is_some_and(|tail| tail.len() >= 8 && tail.chars().all(|c| c.is_ascii_alphanumeric()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let rendered = match EntraCredentials::parse("entra/creds", &text) {
        Ok(credentials) => format!("{credentials:?} {credentials:#?}"),
        Err(error) => format!("{error} {error:?}"),
    };
    for canary in canaries(&text) {
        assert!(
            !rendered.contains(&canary),
            "the client secret leaked: {rendered}"
        );
    }
});
