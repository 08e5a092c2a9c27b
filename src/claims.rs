//! What an Entra access token says about the app it was issued to: its application
//! permissions (`roles`). The token is a JWT; only its payload is decoded. No signature check
//! is needed: the token came over TLS straight from the token endpoint, and nothing here grants
//! access, it only reports what Entra put in the token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use thiserror::Error;

/// Why the claims could not be read. Never quotes the token.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ClaimsError {
    #[error("the access token is not a JWT (it has no header.payload.signature form)")]
    NotAJwt,
    #[error("the access token's payload is not base64url-encoded JSON")]
    UnreadablePayload,
}

/// The claims this function reads from an application (client-credentials) token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenClaims {
    /// Application permissions granted with admin consent, e.g. `Synchronization.ReadWrite.All`.
    /// Absent when the app has none.
    pub roles: Vec<String>,
    /// The tenant the token was issued in.
    pub tid: Option<String>,
    /// The client id (v1.0 tokens).
    pub appid: Option<String>,
    /// The client id (v2.0 tokens).
    pub azp: Option<String>,
}

/// Decodes the payload (second segment) of a JWS compact serialisation.
pub fn decode(token: &str) -> Result<TokenClaims, ClaimsError> {
    let mut segments = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(ClaimsError::NotAJwt);
    };
    // Some encoders pad; base64url as JWTs use it does not.
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClaimsError::UnreadablePayload)?;
    serde_json::from_slice(&bytes).map_err(|_| ClaimsError::UnreadablePayload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS256"}"#);
        format!("{header}.{}.c2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn roles_are_read_from_the_payload() {
        let token = jwt(
            r#"{"aud":"https://graph.microsoft.com","tid":"t","azp":"c","roles":["Synchronization.ReadWrite.All","Application.Read.All"]}"#,
        );
        let claims = decode(&token).unwrap();
        assert_eq!(
            claims.roles,
            ["Synchronization.ReadWrite.All", "Application.Read.All"]
        );
        assert_eq!(claims.tid.as_deref(), Some("t"));
    }

    #[test]
    fn a_token_without_roles_has_none() {
        assert!(decode(&jwt(r#"{"tid":"t"}"#)).unwrap().roles.is_empty());
    }

    #[test]
    fn opaque_or_broken_tokens_are_errors_that_never_quote_the_token() {
        for (token, expected) in [
            ("simtok-0123456789abcdef", ClaimsError::NotAJwt),
            ("a.b", ClaimsError::NotAJwt),
            ("a.b.c.d", ClaimsError::NotAJwt),
            ("eyJ.!!!.c2ln", ClaimsError::UnreadablePayload),
            ("eyJ.bm90IGpzb24.c2ln", ClaimsError::UnreadablePayload),
        ] {
            let error = decode(token).unwrap_err();
            assert_eq!(error, expected, "{token}");
            assert!(!error.to_string().contains(token));
        }
    }
}
