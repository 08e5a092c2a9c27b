use super::*;
use std::collections::HashMap;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| env.get(name).cloned())
}

#[test]
fn defaults_are_a_plain_restart_against_the_global_cloud() {
    let s = settings(&[
        ("SECRET_ID", "entra/creds"),
        ("APP_DISPLAY_NAME", "AWS SSO"),
    ])
    .unwrap();
    assert_eq!(s.action, Action::Restart);
    assert!(s.reset_scope.is_plain());
    assert_eq!(s.endpoints.graph.as_str(), "https://graph.microsoft.com/");
    assert_eq!(
        s.endpoints.authority.as_str(),
        "https://login.microsoftonline.com/"
    );
    assert_eq!(s.endpoints.scope, "https://graph.microsoft.com/.default");
    assert_eq!(s.target, Some(Target::DisplayName("AWS SSO".into())));
    assert!(!s.wait.enabled);
    assert_eq!(s.state_table, None);
}

#[test]
fn state_table_takes_a_name_or_an_arn_and_names_a_bad_one() {
    let with = |table| settings(&[("SECRET_ID", "s"), ("STATE_TABLE", table)]);
    for good in [
        "entra-idc-sync-StateTable-1ABC2DEF3GH4",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/my_state.v1",
    ] {
        assert_eq!(with(good).unwrap().state_table.as_deref(), Some(good));
    }
    assert_eq!(with("  ").unwrap().state_table, None, "blank means unset");
    for bad in ["ab", "my table", "arn:aws:dynamodb:eu-west-1:1:table/x y"] {
        let text = with(bad).unwrap_err().to_string();
        assert!(
            text.contains("STATE_TABLE") && text.contains("StateTable"),
            "{text}"
        );
    }
}

#[test]
fn missing_or_blank_secret_id_says_what_to_set() {
    for pairs in [vec![], vec![("SECRET_ID", "  ")]] {
        let error = settings(&pairs).unwrap_err();
        assert_eq!(error, ConfigError::MissingSecretId);
        assert!(error.to_string().contains("SECRET_ID"));
    }
}

#[test]
fn federation_needs_no_secret_but_the_tenant_and_the_client() {
    let tenant = ("ENTRA_TENANT_ID", "Contoso.onmicrosoft.com");
    let client = ("ENTRA_CLIENT_ID", "66666666-7777-8888-9999-000000000000");
    let source = ("CREDENTIAL_SOURCE", "aws-federation");
    let s = settings(&[source, tenant, client]).unwrap();
    let Credentials::AwsFederation {
        tenant_id,
        client_id,
    } = s.credentials
    else {
        panic!("{:?}", s.credentials)
    };
    assert_eq!(tenant_id.as_str(), "contoso.onmicrosoft.com");
    assert_eq!(client_id, "66666666-7777-8888-9999-000000000000");
    for (pairs, missing) in [
        (vec![source, client], "ENTRA_TENANT_ID"),
        (
            vec![source, tenant, ("SECRET_ID", "ignored")],
            "ENTRA_CLIENT_ID",
        ),
    ] {
        let error = settings(&pairs).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::MissingFederationSetting { .. }
        ));
        assert!(error.to_string().contains(missing), "{error}");
    }
    let bad = settings(&[source, tenant, ("ENTRA_CLIENT_ID", "app")]).unwrap_err();
    assert!(bad.to_string().contains("ENTRA_CLIENT_ID"), "{bad}");
    let unknown = settings(&[("CREDENTIAL_SOURCE", "password")]).unwrap_err();
    assert!(unknown.to_string().contains("aws-federation"), "{unknown}");
    let default = settings(&[("SECRET_ID", "entra/creds")]).unwrap();
    assert_eq!(
        default.credentials,
        Credentials::Secret {
            secret_id: "entra/creds".into()
        }
    );
}

#[test]
fn service_principal_id_wins_over_display_name() {
    let s = settings(&[
        ("SECRET_ID", "x"),
        ("APP_DISPLAY_NAME", "AWS SSO"),
        (
            "SERVICE_PRINCIPAL_ID",
            " 0D1C2B3A-4F5E-6789-ABCD-EF0123456789 ",
        ),
    ])
    .unwrap();
    assert_eq!(
        s.target,
        Some(Target::ServicePrincipalId(
            "0d1c2b3a-4f5e-6789-abcd-ef0123456789".into()
        ))
    );
}

#[test]
fn clouds_keep_their_real_scope_when_graph_is_overridden() {
    let s = settings(&[
        ("SECRET_ID", "x"),
        ("AZURE_CLOUD", "usgov-dod"),
        ("GRAPH_ENDPOINT", "http://127.0.0.1:8080"),
    ])
    .unwrap();
    assert_eq!(s.endpoints.scope, "https://dod-graph.microsoft.us/.default");
    assert_eq!(s.endpoints.graph.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(
        s.endpoints.authority.as_str(),
        "https://login.microsoftonline.us/"
    );
}

#[test]
fn plain_http_is_refused_off_loopback() {
    for (variable, value) in [
        ("GRAPH_ENDPOINT", "http://graph.example.com"),
        ("AZURE_AUTHORITY_HOST", "http://10.0.0.1:8080"),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "http://secrets.example.com",
        ),
        ("GRAPH_ENDPOINT", "ftp://127.0.0.1"),
        ("GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0"),
    ] {
        let error = settings(&[("SECRET_ID", "x"), (variable, value)]).unwrap_err();
        let text = error.to_string();
        assert!(text.contains(variable) && text.contains(value), "{text}");
    }
    for value in ["http://localhost:9", "http://127.0.0.2:9", "http://[::1]:9"] {
        assert!(settings(&[("SECRET_ID", "x"), ("GRAPH_ENDPOINT", value)]).is_ok());
    }
}

#[test]
fn bad_values_quote_the_value_and_the_fix() {
    for (variable, value, hint) in [
        ("SYNC_ACTION", "reboot", "restart"),
        ("RESET_SCOPE", "Watermark,None", "start"),
        ("RESET_SCOPE", "ConnectorDataStore", "not to use"),
        ("RESET_SCOPE", "Everything", "Escrows"),
        ("AZURE_CLOUD", "mars", "usgov"),
        ("SERVICE_PRINCIPAL_ID", "not-a-guid", "GUID"),
        ("WAIT_LIMIT_SECONDS", "ten", "seconds"),
        ("SECRET_EXPIRY_WARN_DAYS", "0", "1 to 730"),
        ("SECRET_EXPIRY_WARN_DAYS", "soon", "whole number of days"),
        ("WAIT_FOR_COMPLETION", "maybe", "true"),
    ] {
        let text = settings(&[("SECRET_ID", "x"), (variable, value)])
            .unwrap_err()
            .to_string();
        assert!(text.contains(variable), "{text}");
        assert!(text.contains(hint), "{text}");
    }
}

#[test]
fn durations_take_seconds_or_a_unit() {
    assert_eq!(parse_duration("600"), Some(Duration::from_secs(600)));
    assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("-5"), None);
    assert_eq!(parse_duration("5 days"), None);
}
