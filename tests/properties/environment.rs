//! The environment: `Settings::from_lookup` over every variable the function reads.

use std::collections::BTreeMap;

use entra_idc_sync::{
    ConfigError, Credentials, DEVELOPMENT_ENVIRONMENT, FUNCTION_ENVIRONMENT, Settings,
};
use proptest::prelude::*;

use crate::common::{arb_text, config};

/// Values an operator might set: plausible ones for each kind of variable, or anything.
fn arb_env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>().prop_map(|text| text.chars().take(40).collect()),
        1 => arb_text(),
        2 => prop::sample::select(vec![
            "entra/creds", "AWS IAM Identity Center", "0d1c2b3a-4f5e-6789-abcd-ef0123456789",
            "restart", "start", "status", "reboot", "Watermark,Escrows", "None", "global",
            "usgov-dod", "mars", "true", "no", "maybe", "600", "10m", "1h", "0", "99999999999h",
            "18446744073709551615", "18446744073709551616", "5 min", "https://graph.microsoft.com",
            "http://127.0.0.1:8080", "http://[::1]:1/base", "http://evil.example", "https://h?q=1",
            "ftp://x", "https://user@h", "not a url", "  ",
        ])
        .prop_map(str::to_string),
    ]
}

const AWS_ENDPOINT_VARIABLES: &[&str] = &[
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
];

/// A value the variable accepts, so that many generated environments are valid as a whole.
fn valid_env_value(name: &str) -> Vec<&'static str> {
    match name {
        "SECRET_ID" => vec!["entra/creds", "arn:aws:secretsmanager:us-east-1:1:secret:x"],
        "CREDENTIAL_SOURCE" => vec!["secret", "aws-federation", " AWS-Federation "],
        "ENTRA_TENANT_ID" => vec![
            "0D1C2B3A-4F5E-6789-ABCD-EF0123456789",
            "Contoso.onmicrosoft.com",
        ],
        "ENTRA_CLIENT_ID" => vec!["0d1c2b3a-4f5e-6789-abcd-ef0123456789"],
        "APP_DISPLAY_NAME" => vec!["AWS IAM Identity Center", " AWS SSO "],
        "SERVICE_PRINCIPAL_ID" => vec!["0D1C2B3A-4F5E-6789-ABCD-EF0123456789"],
        "SYNC_ACTION" => vec!["restart", "Start", " status "],
        "RESET_SCOPE" => vec!["Watermark,Escrows", "full", ",", ""],
        "AZURE_CLOUD" => vec!["global", "usgov", "usgov-dod", "China", "AzurePublicCloud"],
        "WAIT_FOR_COMPLETION" => vec!["true", "no", "1"],
        "WAIT_LIMIT_SECONDS" | "MIN_TRIGGER_INTERVAL" | "HTTP_TIMEOUT_SECONDS" => {
            vec!["600", "10m", "1h", "0", "5 min", "18446744073709551615"]
        }
        _ => vec![
            "https://graph.microsoft.com",
            "https://sim.example/base",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:1/base/",
        ],
    }
}

/// Each variable unset or set (SECRET_ID usually set), to a valid value or to anything.
fn arb_environment() -> impl Strategy<Value = BTreeMap<&'static str, String>> {
    let names = FUNCTION_ENVIRONMENT
        .iter()
        .chain(DEVELOPMENT_ENVIRONMENT)
        .chain(AWS_ENDPOINT_VARIABLES)
        .copied();
    let variables: Vec<_> = names
        .map(|name| {
            let value = prop_oneof![
                3 => prop::sample::select(valid_env_value(name)).prop_map(str::to_string),
                1 => arb_env_value(),
            ];
            let presence = if name == "SECRET_ID" { 0.9 } else { 0.3 };
            prop::option::weighted(presence, value).prop_map(move |value| (name, value))
        })
        .collect();
    variables.prop_map(|pairs| {
        pairs
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect()
    })
}

/// https, or plain http to a loopback host (simulators): nothing else may carry a token.
fn is_safe_endpoint(url: &url::Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_environment_gives_settings_or_an_error_naming_a_variable(env in arb_environment()) {
        let result = Settings::from_lookup(|name| env.get(name).cloned());
        match result {
            Ok(settings) => {
                let federated = env
                    .get("CREDENTIAL_SOURCE")
                    .is_some_and(|value| value.trim().eq_ignore_ascii_case("aws-federation"));
                match &settings.credentials {
                    Credentials::Secret { secret_id } => {
                        prop_assert!(!federated);
                        let secret = env.get("SECRET_ID").map(|value| value.trim());
                        prop_assert_eq!(Some(secret_id.as_str()), secret);
                        prop_assert!(!secret_id.is_empty());
                    }
                    Credentials::AwsFederation { client_id, .. } => {
                        prop_assert!(federated);
                        prop_assert!(env.contains_key("ENTRA_TENANT_ID"));
                        prop_assert_eq!(client_id.len(), 36);
                    }
                }
                prop_assert!(is_safe_endpoint(&settings.endpoints.graph), "{:?}", settings);
                prop_assert!(is_safe_endpoint(&settings.endpoints.authority), "{:?}", settings);
                prop_assert!(!settings.http_timeout.is_zero());
            }
            Err(ConfigError::Invalid { variable, .. }) => {
                prop_assert!(env.contains_key(variable), "blamed unset {} in {:?}", variable, env);
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
}
