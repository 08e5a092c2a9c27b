use super::*;

#[test]
fn short_lived_tokens_refresh_at_half_life() {
    let token = fresh_token(TokenResponse {
        access_token: "t".into(),
        expires_in: Some(2),
    });
    assert!(token.is_fresh());
    assert!(token.refresh_at <= Instant::now() + Duration::from_secs(1));
}

#[test]
fn expires_in_may_be_a_string() {
    let token: TokenResponse = serde_json::from_str(
        r#"{"token_type":"Bearer","expires_in":"3599","access_token":"eyJ0"}"#,
    )
    .unwrap();
    assert_eq!(token.expires_in, Some(3599));
    let token: TokenResponse =
        serde_json::from_str(r#"{"expires_in":null,"access_token":"eyJ0"}"#).unwrap();
    assert_eq!(token.expires_in, None);
}

#[test]
fn empty_or_control_character_tokens_are_unusable() {
    assert!(unusable_token("").is_some());
    assert!(unusable_token("eyJ0\r\nX-Injected: 1").is_some());
    assert!(unusable_token("eyJ0 eyJ1").is_some());
    assert!(unusable_token("eyJ0eXAi.eyJhdWQi.c2ln-_~+/=").is_none());
}

#[test]
fn an_echoed_request_never_puts_the_proof_in_the_error() {
    let secret = "Zx9~canary.secret";
    for proof in [
        Proof::client_secret(Sensitive::new(secret)),
        Proof::assertion(Sensitive::new(secret), ProofKind::ClientSecret),
    ] {
        let body = TokenErrorBody {
            error: "invalid_request".into(),
            error_description: format!(
                "AADSTS90100: Bad request client_id=x&client_secret={secret}&grant_type=client_credentials {}",
                "x".repeat(5000)
            ),
            error_codes: vec![90100],
            ..TokenErrorBody::default()
        };
        let text = rejected(redacted(body, &proof), &proof.kind).to_string();
        assert!(!text.contains(secret), "{text}");
        assert!(text.len() < 3000, "{}", text.len());
    }
}

#[test]
fn a_retried_certificate_request_carries_a_new_assertion() {
    let credential = Arc::new(
        CertificateCredential::from_pem(
            include_str!("../../tests/fixtures/certificates/cert.pem"),
            include_str!("../../tests/fixtures/certificates/key.pem"),
            SystemTime::now(),
        )
        .unwrap(),
    );
    let audience = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
    let first = credential
        .assertion("c", audience, SystemTime::now())
        .unwrap();
    let proof = Proof::certificate(first.clone(), credential, "c", audience);
    let sent = |attempt| proof.form_fields(attempt)[1].1.clone().into_owned();
    assert_eq!(sent(0), first.expose());
    let retry = sent(1);
    assert_ne!(retry, first.expose(), "a retry must not replay the jti");
    assert_ne!(sent(2), retry);
}

#[test]
fn an_assertion_replaces_the_client_secret_in_the_form() {
    let proof = Proof::assertion(Sensitive::new("a.b.c"), ProofKind::ClientSecret);
    let fields = |proof: &Proof, attempt| {
        proof
            .form_fields(attempt)
            .into_iter()
            .map(|(name, value)| (name, value.into_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields(&proof, 1),
        [
            ("client_assertion_type", JWT_BEARER.to_string()),
            ("client_assertion", "a.b.c".to_string())
        ]
    );
    let secret = Proof::client_secret(Sensitive::new("s"));
    assert_eq!(fields(&secret, 0), [("client_secret", "s".to_string())]);
    assert!(!format!("{proof:?} {secret:?}").contains("a.b.c"));
}
