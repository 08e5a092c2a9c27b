//! The `clientSecretExpiry` check: which of the app registration's credentials the function
//! signs in with, and how long it has left.

use time::OffsetDateTime;

use crate::graph::health::{ApplicationCredentials, PasswordCredential};
use crate::graph::model::parse_time;

use crate::checks::{CLIENT_SECRET_EXPIRY, CheckResult};

/// How the function proves who it is to Entra, as far as expiry is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialInUse {
    /// A client secret; `hint` is its first three characters, as Graph's `hint` shows them.
    ClientSecret { hint: String },
    /// A certificate from the secret: its own end of validity is authoritative (Entra's
    /// keyCredential for it ends at the same moment); `thumbprint` is its `x5t#S256`.
    Certificate {
        thumbprint: String,
        not_after: OffsetDateTime,
    },
    /// Workload identity federation: nothing stored, nothing expires.
    Federated,
}

/// One credential's validity window, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    kind: &'static str,
    name: String,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    matches: bool,
}

impl Window {
    fn is_active(&self, now: OffsetDateTime) -> bool {
        self.start.is_none_or(|start| start <= now) && self.end.is_some_and(|end| end > now)
    }

    fn describe(&self) -> String {
        format!("the {} {}", self.kind, self.name)
    }
}

fn name_of(display_name: &Option<String>, key_id: &Option<String>) -> String {
    match (display_name.as_deref(), key_id.as_deref()) {
        (Some(name), Some(id)) if !name.is_empty() => format!("{name:?} (key id {id})"),
        (_, Some(id)) => format!("with key id {id}"),
        (Some(name), None) => format!("{name:?}"),
        (None, None) => "without a name".into(),
    }
}

fn secret_window(credential: &PasswordCredential, hint: &str) -> Window {
    Window {
        kind: "client secret",
        name: name_of(&credential.display_name, &credential.key_id),
        start: credential.start_date_time.as_deref().and_then(parse_time),
        end: credential.end_date_time.as_deref().and_then(parse_time),
        matches: credential.hint.as_deref() == Some(hint),
    }
}

fn certificate_window(thumbprint: &str, not_after: OffsetDateTime) -> Window {
    Window {
        kind: "certificate",
        name: format!("with x5t#S256 thumbprint {thumbprint}"),
        start: None,
        end: Some(not_after),
        matches: true,
    }
}

/// The credential in use: the one that matches (hint or thumbprint), else the active one that
/// expires soonest; among several matches, the active one that expires soonest.
fn pick(windows: &[Window], now: OffsetDateTime) -> Option<&Window> {
    let matching = || windows.iter().filter(|w| w.matches);
    soonest_active(matching(), now)
        .or_else(|| matching().max_by_key(|w| w.end))
        .or_else(|| soonest_active(windows.iter(), now))
}

fn soonest_active<'a>(
    candidates: impl Iterator<Item = &'a Window>,
    now: OffsetDateTime,
) -> Option<&'a Window> {
    candidates
        .filter(|w| w.is_active(now))
        .min_by_key(|w| w.end)
}

/// What the admin must do to renew, by kind; `secret_location` names where the function reads
/// its credentials (the Secrets Manager secret).
fn renewal(kind: &str, secret_location: &str) -> String {
    match kind {
        "certificate" => format!(
            "upload a new certificate under App registrations > the function's app > \
             Certificates & secrets > Certificates, put it and its private key in {secret_location}, \
             then remove the old certificate"
        ),
        _ => format!(
            "create a new client secret under App registrations > the function's app > \
             Certificates & secrets > Client secrets, store its Value as client_secret in \
             {secret_location}, then delete the old secret"
        ),
    }
}

/// The check, and the days left on the credential in use (for the `ClientSecretDaysLeft`
/// metric) when there is one.
pub fn judge(
    app: &ApplicationCredentials,
    in_use: &CredentialInUse,
    now: OffsetDateTime,
    warn_days: u32,
    secret_location: &str,
) -> (CheckResult, Option<i64>) {
    let windows: Vec<Window> = match in_use {
        CredentialInUse::Federated => {
            return (
                CheckResult::ok(
                    CLIENT_SECRET_EXPIRY,
                    "no client secret in use: the function signs in with a federated identity \
                     credential, which does not expire",
                ),
                None,
            );
        }
        CredentialInUse::ClientSecret { hint } => app
            .password_credentials
            .iter()
            .map(|credential| secret_window(credential, hint))
            .collect(),
        CredentialInUse::Certificate {
            thumbprint,
            not_after,
        } => vec![certificate_window(thumbprint, *not_after)],
    };
    let kind = match in_use {
        CredentialInUse::Certificate { .. } => "certificate",
        _ => "client secret",
    };
    let Some(window) = pick(&windows, now) else {
        return (none_in_use(kind, &windows, now, secret_location), None);
    };
    let Some(end) = window.end else {
        return (
            CheckResult::unavailable(
                CLIENT_SECRET_EXPIRY,
                format!("{} has no readable endDateTime", window.describe()),
                "look at its expiry under App registrations > the function's app > \
                 Certificates & secrets",
            ),
            None,
        );
    };
    let days_left = days_left(end, now);
    let end_text = end
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let check = if end <= now {
        CheckResult::failed(
            CLIENT_SECRET_EXPIRY,
            format!("{} expired on {end_text}", window.describe()),
            renewal(kind, secret_location),
        )
    } else if days_left < i64::from(warn_days) {
        CheckResult::warning(
            CLIENT_SECRET_EXPIRY,
            format!(
                "{} expires on {end_text}, in {days_left} days (warning below {warn_days} days)",
                window.describe()
            ),
            renewal(kind, secret_location),
        )
    } else {
        CheckResult::ok(
            CLIENT_SECRET_EXPIRY,
            format!(
                "{} expires on {end_text}, in {days_left} days",
                window.describe()
            ),
        )
    };
    (
        check
            .with("credentialType", kind)
            .with("endDateTime", &end_text)
            .with("daysLeft", days_left),
        Some(days_left),
    )
}

/// Whole days left, a started day counting as one: 10 days minus a second is still "10 days",
/// and anything still valid has at least 1 day left.
fn days_left(end: OffsetDateTime, now: OffsetDateTime) -> i64 {
    let seconds = (end - now).whole_seconds();
    seconds.div_euclid(86_400) + i64::from(seconds.rem_euclid(86_400) > 0)
}

fn none_in_use(
    kind: &str,
    windows: &[Window],
    now: OffsetDateTime,
    secret_location: &str,
) -> CheckResult {
    if windows.is_empty() {
        return CheckResult::unavailable(
            CLIENT_SECRET_EXPIRY,
            format!("the function's app registration lists no {kind}"),
            "check that client_id in the secret is the function's own app registration",
        );
    }
    let latest = windows.iter().filter_map(|w| w.end).max();
    if latest.is_some_and(|latest| latest <= now) {
        return CheckResult::failed(
            CLIENT_SECRET_EXPIRY,
            format!("every {kind} of the function's app registration has expired"),
            renewal(kind, secret_location),
        );
    }
    CheckResult::unavailable(
        CLIENT_SECRET_EXPIRY,
        format!("none of the app registration's {kind}s is valid now"),
        "look at the credentials' start and end dates under App registrations > the \
         function's app > Certificates & secrets",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckStatus;
    use time::Duration;

    fn now() -> OffsetDateTime {
        parse_time("2026-11-28T10:00:00Z").unwrap()
    }

    fn at(offset: Duration) -> String {
        (now() + offset)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    fn secret(hint: &str, ends_in: Duration) -> PasswordCredential {
        PasswordCredential {
            display_name: Some(format!("{hint} secret")),
            end_date_time: Some(at(ends_in)),
            hint: Some(hint.into()),
            key_id: Some(format!("key-{hint}")),
            start_date_time: Some(at(-Duration::days(300))),
        }
    }

    fn app(secrets: Vec<PasswordCredential>) -> ApplicationCredentials {
        ApplicationCredentials {
            password_credentials: secrets,
            key_credentials: vec![],
        }
    }

    fn check(app: &ApplicationCredentials, hint: &str) -> (CheckResult, Option<i64>) {
        let in_use = CredentialInUse::ClientSecret { hint: hint.into() };
        judge(app, &in_use, now(), 30, "secret \"entra\"")
    }

    #[test]
    fn the_secret_whose_hint_matches_is_the_one_in_use() {
        let app = app(vec![
            secret("old", Duration::days(5)),
            secret("new", Duration::days(400)),
        ]);
        let (result, days) = check(&app, "new");
        assert_eq!(result.status, CheckStatus::Ok, "{result:?}");
        assert_eq!(days, Some(400));
        let (result, days) = check(&app, "old");
        assert_eq!(result.status, CheckStatus::Warning);
        assert_eq!(days, Some(5));
        assert!(result.detail.contains("in 5 days"), "{}", result.detail);
    }

    #[test]
    fn without_a_match_the_active_secret_expiring_soonest_counts() {
        let app = app(vec![
            secret("aaa", Duration::days(-3)),
            secret("bbb", Duration::days(10)),
            secret("ccc", Duration::days(90)),
        ]);
        let (result, days) = check(&app, "zzz");
        assert_eq!(result.status, CheckStatus::Warning);
        assert_eq!(days, Some(10));
        assert!(result.detail.contains("bbb secret"), "{}", result.detail);
    }

    #[test]
    fn an_expired_secret_fails_with_the_renewal_steps() {
        let (result, days) = check(&app(vec![secret("abc", Duration::days(-2))]), "abc");
        assert_eq!(result.status, CheckStatus::Failed);
        assert_eq!(days, Some(-2));
        assert!(result.fix.unwrap().contains("Certificates & secrets"));
        let (result, _) = check(&app(vec![secret("abc", Duration::days(-2))]), "zzz");
        assert_eq!(result.status, CheckStatus::Failed, "{result:?}");
    }

    #[test]
    fn the_warning_threshold_is_configurable() {
        let app = app(vec![secret("abc", Duration::days(40))]);
        let in_use = CredentialInUse::ClientSecret { hint: "abc".into() };
        let (result, _) = judge(&app, &in_use, now(), 60, "x");
        assert_eq!(result.status, CheckStatus::Warning);
        assert!(result.detail.contains("below 60 days"));
    }

    #[test]
    fn certificates_and_federation_report_what_applies() {
        let in_use = CredentialInUse::Certificate {
            thumbprint: "x5t".into(),
            not_after: now() + Duration::days(200),
        };
        let (result, days) = judge(&app(vec![]), &in_use, now(), 30, "x");
        assert_eq!(result.status, CheckStatus::Ok);
        assert!(
            result
                .detail
                .contains("certificate with x5t#S256 thumbprint x5t")
        );
        assert_eq!(days, Some(200));
        let soon = CredentialInUse::Certificate {
            thumbprint: "x5t".into(),
            not_after: now() + Duration::days(3),
        };
        let (result, _) = judge(&app(vec![]), &soon, now(), 30, "x");
        assert_eq!(result.status, CheckStatus::Warning);
        assert!(result.fix.unwrap().contains("certificate"));
        let (result, days) = judge(&app(vec![]), &CredentialInUse::Federated, now(), 30, "x");
        assert_eq!(result.status, CheckStatus::Ok);
        assert!(result.detail.contains("no client secret"));
        assert_eq!(days, None);
    }

    #[test]
    fn an_app_without_secrets_is_unavailable_not_a_crash() {
        let (result, days) = check(&app(vec![]), "abc");
        assert_eq!(result.status, CheckStatus::Unavailable);
        assert_eq!(days, None);
    }
}
