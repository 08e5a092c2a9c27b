use super::*;

const CANARY: &str = "canary-client-secret-7Q~x";

fn parse(text: &str) -> Result<EntraCredentials, SecretError> {
    EntraCredentials::parse("entra/creds", text)
}

#[test]
fn reads_every_accepted_spelling() {
    let tenant = "11111111-2222-3333-4444-555555555555";
    let client = "66666666-7777-8888-9999-000000000000";
    for text in [
        format!(
            r#"{{"tenant_id":"{tenant}","client_id":"{client}","client_secret":"{CANARY}","extra":1}}"#
        ),
        format!(r#"{{"tenantId":"{tenant}","clientId":"{client}","clientSecret":"{CANARY}"}}"#),
        format!(
            r#"{{"tenant":"{tenant}","appId":"{client}","password":"{CANARY}","displayName":"x"}}"#
        ),
    ] {
        let credentials = parse(&text).unwrap();
        assert_eq!(credentials.tenant_id.as_str(), tenant);
        assert_eq!(credentials.client_id, client);
        assert_eq!(
            credentials.client_secret().map(Sensitive::expose),
            Some(CANARY)
        );
    }
}

#[test]
fn a_certificate_wins_over_a_client_secret_and_privatekey_is_accepted() {
    let certificate = include_str!("../../tests/fixtures/certificates/cert.pem");
    let key = include_str!("../../tests/fixtures/certificates/key.pem");
    let other_key = include_str!("../../tests/fixtures/certificates/other-key.pem");
    let ids = r#""tenant_id":"contoso.onmicrosoft.com","client_id":"66666666-7777-8888-9999-000000000000""#;
    let json = |fields: serde_json::Value| {
        let mut text = fields.to_string();
        text.insert_str(1, &format!("{ids},"));
        text
    };
    for key_field in ["private_key", "privateKey"] {
        let text = json(serde_json::json!({
            "client_secret": CANARY, "certificate": certificate, key_field: key,
        }));
        let credentials = parse(&text).unwrap();
        assert!(matches!(
            credentials.credential,
            ClientCredential::Certificate(_)
        ));
        assert_eq!(credentials.client_secret(), None);
        assert!(!format!("{credentials:?}").contains("PRIVATE KEY"));
    }
    let missing = parse(&json(serde_json::json!({"certificate": certificate}))).unwrap_err();
    assert!(
        matches!(
            missing,
            SecretError::MissingField {
                field: "private_key",
                ..
            }
        ),
        "{missing}"
    );
    let mismatch = parse(&json(
        serde_json::json!({"certificate": certificate, "private_key": other_key}),
    ))
    .unwrap_err();
    let text = mismatch.to_string();
    assert!(
        text.contains("private_key") && text.contains("does not belong"),
        "{text}"
    );
    assert_eq!(
        crate::error::SyncError::from(mismatch).error_type(),
        "InvalidSecret"
    );
    let body = other_key.lines().nth(1).unwrap();
    assert!(!text.contains(body), "quoted the key: {text}");
}

#[test]
fn a_byte_order_mark_before_the_json_is_accepted() {
    let json = format!(
        r#"{{"tenant_id":"contoso.onmicrosoft.com","client_id":"66666666-7777-8888-9999-000000000000","client_secret":"{CANARY}"}}"#
    );
    let credentials = parse(&format!("\u{feff}{json}")).unwrap();
    assert_eq!(
        credentials.client_secret().map(Sensitive::expose),
        Some(CANARY)
    );
}

#[test]
fn optional_target_fields_and_domains() {
    let credentials = parse(&format!(
        r#"{{"tenant_id":" Contoso.onmicrosoft.com ","client_id":"66666666-7777-8888-9999-000000000000",
           "client_secret":"{CANARY}","appDisplayName":"AWS IAM Identity Center",
           "service_principal_id":"AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee"}}"#
    ))
    .unwrap();
    assert_eq!(credentials.tenant_id.as_str(), "contoso.onmicrosoft.com");
    assert_eq!(
        credentials.app_display_name.as_deref(),
        Some("AWS IAM Identity Center")
    );
    assert_eq!(
        credentials.service_principal_id.as_deref(),
        Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    );
}

#[test]
fn aws_error_codes_become_instructions() {
    let classify = |code, detail| classify_aws_error("entra/creds", code, detail);
    let not_found = classify(Some("ResourceNotFoundException"), "");
    assert!(matches!(not_found, SecretError::NotFound { .. }));
    for code in [
        "AccessDeniedException",
        "DecryptionFailure",
        "ExpiredTokenException",
    ] {
        let error = classify(Some(code), "");
        assert!(matches!(error, SecretError::AccessDenied { .. }), "{code}");
        let text = error.to_string();
        assert!(
            text.contains("secretsmanager:GetSecretValue") && text.contains("kms:Decrypt"),
            "{text}"
        );
    }
    let text = classify(
        None,
        "dispatch failure: io error: client error (Connect): tcp connect error: Connection \
         refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError }))",
    )
    .to_string();
    assert!(text.contains("could not be reached"), "{text}");
    assert!(
        text.ends_with("Connection refused (os error 111)"),
        "{text}"
    );
    let text = classify(None, "dispatch failure: other: missing signing region (ConnectorError { source: MissingSigningRegion })").to_string();
    assert!(text.contains("set AWS_REGION"), "{text}");
    let text = classify(None, "dispatch failure (CredentialsNotLoaded(..))").to_string();
    assert!(text.contains("AWS_ACCESS_KEY_ID"), "{text}");
}

#[test]
fn bad_secrets_name_the_field_and_never_the_value() {
    let ok_ids = r#""tenant_id":"11111111-2222-3333-4444-555555555555","client_id":"66666666-7777-8888-9999-000000000000""#;
    for (text, expected) in [
        (format!("{{\"client_secret\": \"{CANARY}\""), "invalid JSON"),
        (format!("[\"{CANARY}\"]"), "not an object"),
        (format!("{{{ok_ids}}}"), "client_secret"),
        (
            format!("{{{ok_ids},\"client_secret\":\"  \"}}"),
            "client_secret",
        ),
        (
            format!("{{{ok_ids},\"client_secret\":12345}}"),
            "client_secret",
        ),
        (
            format!(
                "{{\"tenant_id\":\"not a tenant\",\"client_id\":\"66666666-7777-8888-9999-000000000000\",\"client_secret\":\"{CANARY}\"}}"
            ),
            "tenant_id",
        ),
        (
            format!(
                "{{\"tenant_id\":\"contoso.com\",\"client_id\":\"{CANARY}\",\"client_secret\":\"{CANARY}\"}}"
            ),
            "client_id",
        ),
    ] {
        let message = parse(&text).unwrap_err().to_string();
        assert!(message.contains(expected), "{text} -> {message}");
        assert!(message.contains("entra/creds"), "{message}");
        assert!(!message.contains(CANARY), "leaked: {message}");
        assert!(!message.contains("12345"), "leaked: {message}");
    }
}
