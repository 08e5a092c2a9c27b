//! The `permissions` check: the access token's `roles` against what the configured actions
//! need (the table in [`crate::permissions`]).

use crate::domain::Action;
use crate::permissions::{self, Necessity, Need};

use crate::checks::{CheckResult, PERMISSIONS};

const CONSENT: &str = "App registrations > the function's app > API permissions > Add a \
                       permission > Microsoft Graph > Application permissions, then Grant admin \
                       consent";

/// What the app was granted, judged against `actions` (the configured ones).
pub fn judge(roles: &[String], actions: &[Action], target_by_name: bool) -> CheckResult {
    let needs: Vec<&Need> = permissions::applicable(actions, target_by_name).collect();
    let granted = |need: &&Need| need.any_of.iter().any(|p| roles.iter().any(|r| r == p));
    let missing: Vec<&Need> = needs
        .iter()
        .copied()
        .filter(|need| need.necessity == Necessity::Required && !granted(need))
        .collect();
    let optional_missing: Vec<&Need> = needs
        .iter()
        .copied()
        .filter(|need| matches!(need.necessity, Necessity::CheckOnly(_)) && !granted(need))
        .collect();
    let unneeded: Vec<&String> = roles
        .iter()
        .filter(|role| {
            !needs
                .iter()
                .any(|need| need.any_of.contains(&role.as_str()))
        })
        .collect();
    let names = actions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let result = if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|need| format!("{} (to {})", permissions::describe(need), need.purpose))
            .collect::<Vec<_>>()
            .join("; ");
        let grant = missing
            .iter()
            .map(|need| need.any_of[0])
            .collect::<Vec<_>>()
            .join(", ");
        CheckResult::failed(
            PERMISSIONS,
            format!("the function's app lacks what the actions {names} need: {list}"),
            format!("grant the application permission(s) {grant}: {CONSENT}"),
        )
    } else if !unneeded.is_empty() {
        let list = unneeded
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        CheckResult::warning(
            PERMISSIONS,
            format!("granted but not needed by the actions {names}: {list}"),
            format!(
                "remove {list} from the app's API permissions (least privilege): App \
                 registrations > the function's app > API permissions"
            ),
        )
    } else {
        CheckResult::ok(
            PERMISSIONS,
            format!("the app has what the actions {names} need"),
        )
    };
    result
        .with("granted", roles)
        .with(
            "missing",
            missing
                .iter()
                .map(|need| need.any_of[0])
                .collect::<Vec<_>>(),
        )
        .with("unneeded", &unneeded)
        .with(
            "optionalMissing",
            optional_missing
                .iter()
                .map(|need| need.any_of[0])
                .collect::<Vec<_>>(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckStatus;

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    const CONFIGURED: &[Action] = &[Action::Restart, Action::Check];

    #[test]
    fn the_default_grant_is_enough_for_restart_by_name() {
        let check = judge(
            &roles(&["Synchronization.ReadWrite.All", "Application.Read.All"]),
            CONFIGURED,
            true,
        );
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
    }

    #[test]
    fn a_missing_role_is_named_with_admin_consent() {
        let check = judge(&roles(&["Application.Read.All"]), CONFIGURED, true);
        assert_eq!(check.status, CheckStatus::Failed);
        assert!(
            check.detail.contains("Synchronization.ReadWrite.All"),
            "{}",
            check.detail
        );
        let fix = check.fix.unwrap();
        assert!(fix.contains("Synchronization.ReadWrite.All") && fix.contains("admin consent"));
    }

    #[test]
    fn owned_by_is_an_accepted_alternative() {
        let check = judge(&roles(&["Application.ReadWrite.OwnedBy"]), CONFIGURED, true);
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
    }

    #[test]
    fn an_unneeded_role_is_a_warning() {
        let check = judge(
            &roles(&["Synchronization.ReadWrite.All", "User.ReadWrite.All"]),
            CONFIGURED,
            false,
        );
        assert_eq!(check.status, CheckStatus::Warning);
        assert!(check.detail.contains("User.ReadWrite.All"));
        assert_eq!(
            check.facts["unneeded"],
            serde_json::json!(["User.ReadWrite.All"])
        );
    }

    #[test]
    fn the_checks_own_reads_are_neither_missing_nor_unneeded() {
        let check = judge(
            &roles(&["Synchronization.ReadWrite.All"]),
            CONFIGURED,
            false,
        );
        assert_eq!(check.status, CheckStatus::Ok);
        assert_eq!(
            check.facts["optionalMissing"],
            serde_json::json!(["Application.Read.All", "AuditLog.Read.All"])
        );
        let check = judge(
            &roles(&["Synchronization.ReadWrite.All", "AuditLog.Read.All"]),
            CONFIGURED,
            false,
        );
        assert_eq!(check.status, CheckStatus::Ok);
    }

    #[test]
    fn provision_needs_directory_reads() {
        let check = judge(
            &roles(&["Synchronization.ReadWrite.All", "Application.Read.All"]),
            &[Action::Provision, Action::Check],
            false,
        );
        assert_eq!(check.status, CheckStatus::Failed);
        for name in ["GroupMember.Read.All", "User.Read.All"] {
            assert!(check.detail.contains(name), "{}", check.detail);
        }
        let check = judge(
            &roles(&[
                "Synchronization.ReadWrite.All",
                "Application.Read.All",
                "GroupMember.Read.All",
                "User.Read.All",
            ]),
            &[Action::Provision, Action::Check],
            true,
        );
        assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
    }
}
