//! Certificate credentials: the signed client assertion that Microsoft's "certificate
//! credentials" document describes (a PS256 JWT naming the certificate by its SHA-256
//! thumbprint), made with aws-lc-rs, the crypto provider the TLS stack already carries.
//!
//! Everything that can be wrong with the certificate or key is found when the secret is read,
//! before any token request, and reported without quoting the key.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PSS_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use thiserror::Error;
use x509_cert::der::Decode;
use zeroize::Zeroizing;

use crate::sensitive::Sensitive;

/// Microsoft advises an assertion lifetime of 5 to 10 minutes; it is used at once.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// What is wrong with the secret's certificate or key, as an instruction to the admin.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CertificateError {
    #[error(
        "`certificate` is not a PEM X.509 certificate ({problem}): store the certificate as PEM \
         text beginning with -----BEGIN CERTIFICATE-----, line breaks written as \\n in the JSON"
    )]
    BadCertificate { problem: String },
    #[error(
        "`private_key` is not a PEM private key ({problem}): store the unencrypted PKCS#8 key \
         (-----BEGIN PRIVATE KEY-----, e.g. from `openssl genpkey -algorithm RSA`), line breaks \
         written as \\n in the JSON"
    )]
    BadKey { problem: String },
    #[error(
        "`private_key` is encrypted (protected by a passphrase, which the function does not \
         have): store it unencrypted, e.g. `openssl pkcs8 -topk8 -nocrypt -in key.pem -out \
         plain-key.pem`; Secrets Manager encrypts the secret with its KMS key"
    )]
    EncryptedKey,
    #[error(
        "the {what} is not an RSA key: Entra certificate credentials here use RSA (PS256); make \
         an RSA key of at least 2048 bits and a certificate for it"
    )]
    NotRsa { what: &'static str },
    #[error(
        "`private_key` is an RSA key shorter than 2048 bits, which neither Entra nor the signer \
         accepts: make a key of 2048 bits or more (`openssl req -x509 -newkey rsa:2048 ...`) and a \
         certificate for it"
    )]
    KeyTooSmall,
    #[error(
        "`private_key` does not belong to `certificate` (their public keys differ): store the \
         key the certificate was made from, or the certificate made from this key"
    )]
    Mismatch,
    #[error(
        "the certificate (thumbprint {thumbprint}) expired on {not_after}: make a new one, upload \
         it to the app registration's Certificates & secrets, and store it with its key in the secret"
    )]
    Expired {
        thumbprint: String,
        not_after: String,
    },
    #[error(
        "the certificate (thumbprint {thumbprint}) is not valid before {not_before}: store a \
         certificate that is valid now (with its key), or wait until then"
    )]
    NotYetValid {
        thumbprint: String,
        not_before: String,
    },
    #[error("signing the client assertion failed: {0}")]
    Signing(String),
}

impl CertificateError {
    /// The secret field to blame.
    pub fn field(&self) -> &'static str {
        match self {
            Self::BadKey { .. } | Self::EncryptedKey | Self::KeyTooSmall | Self::Mismatch => {
                "private_key"
            }
            Self::NotRsa { what } if what.contains("private") => "private_key",
            _ => "certificate",
        }
    }
}

/// A certificate and its RSA key, checked to belong together. `Debug` shows only the
/// thumbprint: the key never leaves this type except as signatures.
pub struct CertificateCredential {
    key: RsaKeyPair,
    /// base64url SHA-256 of the certificate's DER: the assertion's `x5t#S256`.
    thumbprint: String,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CertificateCredential {{ x5t#S256: {} }}",
            self.thumbprint
        )
    }
}

impl PartialEq for CertificateCredential {
    fn eq(&self, other: &Self) -> bool {
        self.thumbprint == other.thumbprint
            && self.key.public_key().as_ref() == other.key.public_key().as_ref()
    }
}

impl Eq for CertificateCredential {}

impl CertificateCredential {
    /// Reads the PEM certificate and key, and checks that they match and that the
    /// certificate is valid `now`.
    pub fn from_pem(
        certificate: &str,
        private_key: &str,
        now: SystemTime,
    ) -> Result<Self, CertificateError> {
        let certificate = unescaped_newlines(certificate);
        let der = CertificateDer::from_pem_slice(certificate.as_bytes()).map_err(|error| {
            CertificateError::BadCertificate {
                problem: pem_problem(&error),
            }
        })?;
        let parsed = x509_cert::Certificate::from_der(der.as_ref()).map_err(|error| {
            CertificateError::BadCertificate {
                problem: format!("its DER does not parse: {error}"),
            }
        })?;
        let key = rsa_key(private_key)?;
        let tbs = parsed.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
            return Err(CertificateError::NotRsa {
                what: "certificate's public key",
            });
        }
        if spki.subject_public_key.raw_bytes() != key.public_key().as_ref() {
            return Err(CertificateError::Mismatch);
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der.as_ref());
        let credential = Self {
            key,
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            not_before: UNIX_EPOCH + tbs.validity().not_before.to_unix_duration(),
            not_after: UNIX_EPOCH + tbs.validity().not_after.to_unix_duration(),
        };
        credential.check_validity(now)?;
        Ok(credential)
    }

    /// The certificate's `x5t#S256` thumbprint, safe to show.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// When the certificate stops being valid: the check action's expiry date for it.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    fn check_validity(&self, now: SystemTime) -> Result<(), CertificateError> {
        if now > self.not_after {
            return Err(CertificateError::Expired {
                thumbprint: self.thumbprint.clone(),
                not_after: rfc3339(self.not_after),
            });
        }
        if now < self.not_before {
            return Err(CertificateError::NotYetValid {
                thumbprint: self.thumbprint.clone(),
                not_before: rfc3339(self.not_before),
            });
        }
        Ok(())
    }

    /// A fresh client assertion for one token request to `token_url` (the `aud`).
    pub fn assertion(
        &self,
        client_id: &str,
        token_url: &str,
        now: SystemTime,
    ) -> Result<Sensitive, CertificateError> {
        self.check_validity(now)?;
        let issued = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.thumbprint});
        let claims = json!({
            "aud": token_url,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": issued,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PSS_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|error| CertificateError::Signing(error.to_string()))?;
        Ok(Sensitive::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// The RSA key from PKCS#8 PEM (or the older PKCS#1 `RSA PRIVATE KEY`, which openssl 1.x wrote).
fn rsa_key(pem: &str) -> Result<RsaKeyPair, CertificateError> {
    let pem = Zeroizing::new(unescaped_newlines(pem).into_owned());
    // The PEM reader skips blocks it does not know, so an encrypted key would read as "no
    // key found": name the real problem.
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || pem.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(CertificateError::EncryptedKey);
    }
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|error| {
        CertificateError::BadKey {
            problem: pem_problem(&error),
        }
    })?;
    let parsed = match &der {
        PrivateKeyDer::Pkcs8(key) => RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(key) => RsaKeyPair::from_der(key.secret_pkcs1_der()),
        _ => {
            return Err(CertificateError::NotRsa {
                what: "private key",
            });
        }
    };
    parsed.map_err(|rejected| match rejected.description_() {
        "WrongAlgorithm" => CertificateError::NotRsa {
            what: "private key",
        },
        "TooSmall" => CertificateError::KeyTooSmall,
        reason => CertificateError::BadKey {
            problem: format!("the key was rejected: {reason}"),
        },
    })
}

/// PEM text whose line breaks arrived as the two characters `\n` (a secret stored through a
/// shell or console that escaped them twice), with real line breaks; other text unchanged.
fn unescaped_newlines(pem: &str) -> Cow<'_, str> {
    if pem.contains('\n') || !pem.contains("\\n") {
        return Cow::Borrowed(pem);
    }
    Cow::Owned(pem.replace("\\r\\n", "\n").replace("\\n", "\n"))
}

/// The PEM reader's error, without echoing any of the input.
fn pem_problem(error: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match error {
        Error::NoItemsFound => "no PEM block of the expected kind was found".into(),
        Error::MissingSectionEnd { .. } => "a PEM block has no END line".into(),
        Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".into(),
        Error::Base64Decode(_) => "a PEM block is not valid base64".into(),
        _ => "the PEM text could not be read".into(),
    }
}

fn rfc3339(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} (unix time)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};

    const CERT: &str = include_str!("../tests/fixtures/certificates/cert.pem");
    const EXPIRED_CERT: &str = include_str!("../tests/fixtures/certificates/expired-cert.pem");
    const EC_CERT: &str = include_str!("../tests/fixtures/certificates/ec-cert.pem");
    const KEY: &str = include_str!("../tests/fixtures/certificates/key.pem");
    const KEY_PKCS1: &str = include_str!("../tests/fixtures/certificates/key-pkcs1.pem");
    const OTHER_KEY: &str = include_str!("../tests/fixtures/certificates/other-key.pem");
    const EC_KEY: &str = include_str!("../tests/fixtures/certificates/ec-key.pem");
    const CLIENT: &str = "66666666-7777-8888-9999-000000000000";
    const TOKEN_URL: &str =
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";

    fn now() -> SystemTime {
        // The fixtures are valid from 2025-12-31 for a century; the expired one ended in 2025.
        UNIX_EPOCH + Duration::from_secs(1_790_000_000)
    }

    fn part(token: &str, index: usize) -> serde_json::Value {
        let text = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
    }

    #[test]
    fn assertion_follows_microsofts_document_and_verifies() {
        let credential = CertificateCredential::from_pem(CERT, KEY, now()).unwrap();
        let token = credential.assertion(CLIENT, TOKEN_URL, now()).unwrap();
        let token = token.expose();
        let header = part(token, 0);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["typ"], "JWT");
        let der = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
        let expected = URL_SAFE_NO_PAD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der.as_ref()).as_ref());
        assert_eq!(header["x5t#S256"], expected.as_str());
        let claims = part(token, 1);
        assert_eq!(claims["aud"], TOKEN_URL);
        assert_eq!(claims["iss"], CLIENT);
        assert_eq!(claims["sub"], CLIENT);
        let issued = claims["iat"].as_u64().unwrap();
        assert_eq!(issued, 1_790_000_000);
        assert_eq!(claims["nbf"].as_u64(), Some(issued));
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > issued && exp <= issued + 600, "{exp}");
        assert!(uuid::Uuid::try_parse(claims["jti"].as_str().unwrap()).is_ok());

        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let public = UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, credential.key.public_key());
        public
            .verify(
                signing_input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .unwrap();
        let again = credential.assertion(CLIENT, TOKEN_URL, now()).unwrap();
        assert_ne!(
            part(again.expose(), 1)["jti"],
            claims["jti"],
            "jti must be fresh"
        );
    }

    #[test]
    fn pkcs1_keys_are_accepted_too() {
        let credential = CertificateCredential::from_pem(CERT, KEY_PKCS1, now()).unwrap();
        assert!(format!("{credential:?}").contains(credential.thumbprint()));
    }

    #[test]
    fn local_problems_are_named_and_never_quote_the_key() {
        let garbled_key = KEY.replace("MII", "M*I");
        let cases: [(&str, &str, &str); 7] = [
            (CERT, OTHER_KEY, "does not belong"),
            (EXPIRED_CERT, KEY, "expired on 2025-"),
            (CERT, EC_KEY, "not an RSA key"),
            (EC_CERT, KEY, "not an RSA key"),
            ("not a certificate", KEY, "BEGIN CERTIFICATE"),
            (CERT, "not a key", "BEGIN PRIVATE KEY"),
            (CERT, &garbled_key, "private key"),
        ];
        for (certificate, key, expected) in cases {
            let error = CertificateCredential::from_pem(certificate, key, now()).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(expected), "{expected}: {text}");
            for line in key.lines().filter(|line| !line.starts_with("-----")) {
                assert!(!text.contains(line), "quoted the key: {text}");
            }
        }
    }

    #[test]
    fn line_breaks_escaped_twice_are_read_as_line_breaks() {
        let escaped = |pem: &str| pem.replace("\r\n", "\n").replace('\n', "\\n");
        let credential =
            CertificateCredential::from_pem(&escaped(CERT), &escaped(KEY), now()).unwrap();
        assert_eq!(
            credential,
            CertificateCredential::from_pem(CERT, KEY, now()).unwrap()
        );
    }

    #[test]
    fn an_encrypted_key_is_named_as_such() {
        for key in [
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0w\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nMIIE\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let error = CertificateCredential::from_pem(CERT, key, now()).unwrap_err();
            assert_eq!(error, CertificateError::EncryptedKey);
            assert_eq!(error.field(), "private_key");
            assert!(error.to_string().contains("-nocrypt"), "{error}");
        }
    }

    #[test]
    fn a_certificate_not_valid_yet_says_what_to_do() {
        let early = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let error = CertificateCredential::from_pem(CERT, KEY, early).unwrap_err();
        assert!(
            matches!(error, CertificateError::NotYetValid { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("valid now"), "{error}");
    }

    #[test]
    fn an_expired_certificate_signs_nothing() {
        let credential = CertificateCredential::from_pem(CERT, KEY, now()).unwrap();
        let later = UNIX_EPOCH + Duration::from_secs(5_000_000_000);
        let error = credential.assertion(CLIENT, TOKEN_URL, later).unwrap_err();
        assert!(matches!(error, CertificateError::Expired { .. }), "{error}");
    }
}
