//! Entra's refusals of a token request, turned into what the admin must do. The fix depends on
//! how the app signed in: the same AADSTS code means "upload the certificate" for certificate
//! credentials and "fix the federated credential's issuer" for AWS federation.

use serde::Deserialize;

use super::EntraError;
use crate::federation::ENTRA_AUDIENCE;

/// How the app proved its identity, as far as the advice needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofKind {
    ClientSecret,
    /// `thumbprint`: the certificate's `x5t#S256`.
    Certificate {
        thumbprint: String,
    },
    /// The STS token's issuer and subject: exactly what the federated credential must name.
    AwsFederation {
        issuer: String,
        subject: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct TokenErrorBody {
    pub error: String,
    pub error_description: String,
    pub error_codes: Vec<u64>,
    pub trace_id: String,
    pub correlation_id: String,
}

pub(super) fn rejected(body: TokenErrorBody, proof: &ProofKind) -> EntraError {
    let code = body
        .error_codes
        .first()
        .map(|code| format!("AADSTS{code}"))
        .or_else(|| code_in(&body.error_description));
    // The first sentence says what happened; the rest is trace noise we report separately.
    let first_line = body.error_description.lines().next().unwrap_or_default();
    let first_sentence = first_line.split(". ").next().unwrap_or_default();
    let summary = strip_code(first_sentence).trim_end_matches('.').to_string();
    let fix = match proof {
        ProofKind::ClientSecret => secret_fix(code.as_deref()).to_string(),
        ProofKind::Certificate { thumbprint } => certificate_fix(code.as_deref(), thumbprint),
        ProofKind::AwsFederation { issuer, subject } => {
            federation_fix(code.as_deref(), issuer, subject)
        }
    };
    EntraError::Rejected {
        advice: match &code {
            Some(code) => format!("{code}: {summary}: {fix}"),
            None => format!("{summary}: {fix}"),
        },
        code,
        error: body.error,
        trace_id: body.trace_id,
        correlation_id: body.correlation_id,
    }
}

/// The code an `error_description` starts with, for an answer without `error_codes`.
fn code_in(description: &str) -> Option<String> {
    let digits = description.strip_prefix("AADSTS")?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    (end > 0).then(|| format!("AADSTS{}", &digits[..end]))
}

/// `AADSTS7000215: Invalid client secret provided` -> `Invalid client secret provided`.
fn strip_code(sentence: &str) -> &str {
    match sentence.split_once(": ") {
        Some((code, rest)) if code.starts_with("AADSTS") => rest,
        _ => sentence,
    }
}

/// Codes whose fix does not depend on the kind of credential.
fn common_fix(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "AADSTS700016" => {
            "the application (client_id) was not found in this tenant. Check client_id and tenant_id, and AZURE_CLOUD"
        }
        "AADSTS90002" => {
            "the tenant was not found. Check tenant_id, and AZURE_CLOUD (a US Government or China tenant needs its cloud)"
        }
        "AADSTS900023" => {
            "the tenant id is malformed. Use the Directory (tenant) ID GUID or a verified domain as tenant_id"
        }
        "AADSTS7000112" => {
            "the application is disabled. Enable it in Entra ID > Enterprise applications > your app > Properties"
        }
        "AADSTS1002012" | "AADSTS500011" | "AADSTS70011" => {
            "the Graph scope was refused. Check AZURE_CLOUD matches the tenant's cloud"
        }
        _ => return None,
    })
}

fn secret_fix(code: Option<&str>) -> &'static str {
    match code.unwrap_or_default() {
        "AADSTS7000215" => {
            "the client secret is wrong. Store the secret's VALUE (shown once when it is created), not its Secret ID, as client_secret in the Secrets Manager secret"
        }
        "AADSTS7000222" => {
            "the client secret has expired. Create a new one under App registrations > your app > Certificates & secrets and put its value in the Secrets Manager secret"
        }
        "AADSTS7000216" => {
            "no client secret was sent. Set client_secret in the Secrets Manager secret"
        }
        _ => common_fix(code).unwrap_or(
            "check tenant_id, client_id and client_secret in the Secrets Manager secret",
        ),
    }
}

fn certificate_fix(code: Option<&str>, thumbprint: &str) -> String {
    match code.unwrap_or_default() {
        "AADSTS700027" => format!(
            "Entra does not accept this certificate (x5t#S256 {thumbprint}) for the app: upload the \
             secret's certificate (not its key) under App registrations > your app > Certificates \
             & secrets > Certificates, or store the key and certificate that are uploaded there"
        ),
        "AADSTS700024" => "the client assertion was outside its validity when Entra checked it: \
                           the function's clock is off; the next run signs a new one"
            .into(),
        "AADSTS700021" | "AADSTS700023" => "Entra refused the assertion's client id or audience: \
                                            check client_id and tenant_id in the Secrets Manager secret"
            .into(),
        _ => common_fix(code)
            .unwrap_or("check tenant_id, client_id, certificate and private_key in the Secrets Manager secret")
            .into(),
    }
}

fn federation_fix(code: Option<&str>, issuer: &str, subject: &str) -> String {
    // An STS token we could not read still has an issuer and a subject: say where to find them.
    let issuer = match issuer {
        "" => "(the IssuerIdentifier `aws iam get-outbound-web-identity-federation-info` shows)",
        issuer => issuer,
    };
    let subject = match subject {
        "" => "(the function's role ARN)",
        subject => subject,
    };
    let credential = format!(
        "a federated identity credential on the app registration (App registrations > your \
         app > Certificates & secrets > Federated credentials > Add credential, scenario Other \
         issuer) with issuer {issuer}, subject {subject} and audience {ENTRA_AUDIENCE}"
    );
    match code.unwrap_or_default() {
        "AADSTS70021" | "AADSTS700211" | "AADSTS700212" | "AADSTS700213" => format!(
            "no federated identity credential matches the AWS token: add {credential}. A new \
             credential can take a few minutes to propagate"
        ),
        "AADSTS700024" => format!(
            "the AWS token was expired or not yet valid when Entra checked it: the next run \
             gets a new one; if this repeats, check the clock. Entra needs {credential}"
        ),
        "AADSTS700027" => format!(
            "Entra could not verify the AWS token's signature: the credential's issuer must be \
             exactly {issuer} (`aws iam get-outbound-web-identity-federation-info`). Entra needs \
             {credential}"
        ),
        _ => format!(
            "{} Entra needs {credential}",
            common_fix(code).unwrap_or("check ENTRA_TENANT_ID and ENTRA_CLIENT_ID.")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> TokenErrorBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn aadsts_errors_become_instructions() {
        let error = rejected(
            body(
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: t1 Correlation ID: c1 Timestamp: 2026-11-28 09:00:00Z","error_codes":[7000215],"trace_id":"t1","correlation_id":"c1"}"#,
            ),
            &ProofKind::ClientSecret,
        );
        assert!(error.is_credential_rejection());
        let text = error.to_string();
        for expected in [
            "AADSTS7000215",
            "VALUE",
            "Secret ID",
            "trace id t1",
            "correlation id c1",
        ] {
            assert!(text.contains(expected), "{text}");
        }
    }

    #[test]
    fn the_code_is_read_from_the_description_when_error_codes_is_missing() {
        let error = rejected(
            body(
                r#"{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed signature validation."}"#,
            ),
            &ProofKind::Certificate {
                thumbprint: "t".into(),
            },
        );
        assert!(error.is_credential_rejection());
        assert!(error.to_string().contains("AADSTS700027: "), "{error}");
        assert_eq!(code_in("AADSTS: x"), None);
        assert_eq!(code_in("Tenant not found"), None);
    }

    #[test]
    fn entra_line_breaks_end_the_summary() {
        let error = rejected(
            body(
                r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[90002]}"#,
            ),
            &ProofKind::ClientSecret,
        );
        let text = error.to_string();
        assert!(
            text.contains("AADSTS90002: Tenant 'x' not found: the tenant"),
            "{text}"
        );
        assert!(!text.contains("Trace ID: t"), "{text}");
    }

    #[test]
    fn an_unknown_certificate_names_its_thumbprint_and_where_to_upload_it() {
        let error = rejected(
            body(
                r#"{"error":"invalid_client","error_description":"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.","error_codes":[700027]}"#,
            ),
            &ProofKind::Certificate {
                thumbprint: "abc_DEF".into(),
            },
        );
        assert!(
            error.is_credential_rejection(),
            "a rotated certificate is worth a re-read"
        );
        let text = error.to_string();
        assert!(
            text.contains("abc_DEF") && text.contains("Certificates & secrets"),
            "{text}"
        );
    }

    #[test]
    fn federation_refusals_name_issuer_subject_and_audience() {
        let proof = ProofKind::AwsFederation {
            issuer: "https://abc.tokens.sts.global.api.aws".into(),
            subject: "arn:aws:iam::123456789012:role/sync".into(),
        };
        for code in [70021, 700211, 700024, 700027, 90002] {
            let error = rejected(
                body(&format!(
                    r#"{{"error":"invalid_request","error_description":"AADSTS{code}: Something. Trace ID: t","error_codes":[{code}]}}"#
                )),
                &proof,
            );
            let text = error.to_string();
            for expected in [
                "https://abc.tokens.sts.global.api.aws",
                "arn:aws:iam::123456789012:role/sync",
                ENTRA_AUDIENCE,
            ] {
                assert!(text.contains(expected), "{code}: {text}");
            }
        }
        let text = rejected(
            body(r#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'x'.","error_codes":[70021]}"#),
            &proof,
        )
        .to_string();
        assert!(text.contains("propagate"), "{text}");
        let unreadable = ProofKind::AwsFederation {
            issuer: String::new(),
            subject: String::new(),
        };
        let text = rejected(
            body(r#"{"error":"invalid_request","error_description":"AADSTS70021: No match.","error_codes":[70021]}"#),
            &unreadable,
        )
        .to_string();
        assert!(
            text.contains("get-outbound-web-identity-federation-info") && text.contains("role ARN"),
            "{text}"
        );
    }
}
