//! Which Microsoft Graph application permissions each action needs: one table, read by the
//! `permissions` check, by the advice on a Graph 403, and checked against docs/DEPLOY.md by a
//! test, so the three never disagree.

use crate::domain::Action;

/// Why a permission is needed, and what happens without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Necessity {
    /// The action cannot work without it: missing is a failed check.
    Required,
    /// Only the named check uses it; without it that check is `unavailable`, nothing fails.
    CheckOnly(&'static str),
}

/// When a need applies beyond the actions it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// Only when the target app is named by display name (a lookup); an object id needs none.
    TargetByName,
}

/// One thing the function does with Graph and the permissions that allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Stable key, for the 403 advice.
    pub key: &'static str,
    /// What the permission is used for, in an admin's words.
    pub purpose: &'static str,
    /// Any one of these is enough; the first is the one to grant (the least privileged that
    /// always works).
    pub any_of: &'static [&'static str],
    /// The actions, by name (`restart`, ...), that need it.
    pub actions: &'static [&'static str],
    pub necessity: Necessity,
    pub condition: Condition,
}

/// `Application.ReadWrite.OwnedBy` works only on service principals and applications the
/// function's own app owns: Microsoft lists it as the least privileged choice for the
/// synchronization calls, and it needs the app added as an owner of the enterprise app.
pub const OWNED_BY: &str = "Application.ReadWrite.OwnedBy";

/// Every action; by name, so the table also covers actions built separately (`provision`).
pub const ACTION_NAMES: &[&str] = &["restart", "start", "status", "check", "provision"];
const SYNC_ACTIONS: &[&str] = ACTION_NAMES;

/// The needs table.
pub const NEEDS: &[Need] = &[
    Need {
        key: "jobs",
        purpose: "read, restart and start the provisioning jobs, and test their SCIM connection",
        any_of: &["Synchronization.ReadWrite.All", OWNED_BY],
        actions: SYNC_ACTIONS,
        necessity: Necessity::Required,
        condition: Condition::Always,
    },
    Need {
        key: "findApp",
        purpose: "find the enterprise app by its display name",
        any_of: &[
            "Application.Read.All",
            OWNED_BY,
            "Application.ReadWrite.All",
            "Directory.Read.All",
        ],
        actions: SYNC_ACTIONS,
        necessity: Necessity::Required,
        condition: Condition::TargetByName,
    },
    Need {
        key: "assignments",
        purpose: "read who is assigned to the enterprise app",
        any_of: &["Application.Read.All", "Application.ReadWrite.All"],
        actions: &["provision"],
        necessity: Necessity::Required,
        condition: Condition::Always,
    },
    Need {
        key: "groups",
        purpose: "read assigned groups, their members and their changes",
        any_of: &[
            "GroupMember.Read.All",
            "Group.Read.All",
            "Directory.Read.All",
        ],
        actions: &["provision"],
        necessity: Necessity::Required,
        condition: Condition::Always,
    },
    Need {
        key: "users",
        purpose: "read assigned users and their changes",
        any_of: &["User.Read.All", "Directory.Read.All"],
        actions: &["provision"],
        necessity: Necessity::Required,
        condition: Condition::Always,
    },
    Need {
        key: "ownApplication",
        purpose: "read the expiry of the function's own client secret or certificate",
        any_of: &[
            "Application.Read.All",
            OWNED_BY,
            "Application.ReadWrite.All",
        ],
        actions: &["check"],
        necessity: Necessity::CheckOnly("clientSecretExpiry"),
        condition: Condition::Always,
    },
    Need {
        key: "provisioningLog",
        purpose: "read the provisioning log's recent failures",
        any_of: &["AuditLog.Read.All"],
        actions: &["check"],
        necessity: Necessity::CheckOnly("provisioningErrors"),
        condition: Condition::Always,
    },
];

/// The needs that apply to these actions and this kind of target.
pub fn applicable(actions: &[Action], target_by_name: bool) -> impl Iterator<Item = &'static Need> {
    let names: Vec<String> = actions.iter().map(ToString::to_string).collect();
    NEEDS.iter().filter(move |need| {
        need.actions
            .iter()
            .any(|action| names.iter().any(|name| name == action))
            && (need.condition == Condition::Always || target_by_name)
    })
}

/// The need with this key. Every key used in the code is in the table (a unit test says so).
pub fn need(key: &str) -> Option<&'static Need> {
    NEEDS.iter().find(|need| need.key == key)
}

/// "X (or Y, Z)": the permission to grant and its accepted alternatives, for messages.
pub fn describe(need: &Need) -> String {
    match need.any_of {
        [] => String::new(),
        [only] => (*only).to_string(),
        [first, rest @ ..] => {
            let owned_by = if rest.contains(&OWNED_BY) || *first == OWNED_BY {
                " (Application.ReadWrite.OwnedBy only when the function's app is an owner of the \
                 enterprise app)"
            } else {
                ""
            };
            format!("{first} (or {}){owned_by}", rest.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_needs_the_synchronization_permission() {
        for action in [
            Action::Restart,
            Action::Start,
            Action::Status,
            Action::Check,
        ] {
            let needs: Vec<_> = applicable(&[action], false).map(|n| n.key).collect();
            assert!(needs.contains(&"jobs"), "{action:?}: {needs:?}");
            assert!(ACTION_NAMES.contains(&action.to_string().as_str()));
        }
    }

    #[test]
    fn the_deploy_guide_names_every_permission_of_the_table() {
        let guide = include_str!("../docs/DEPLOY.md");
        for need in NEEDS {
            for permission in need.any_of {
                assert!(
                    guide.contains(permission),
                    "docs/DEPLOY.md lacks {permission}"
                );
            }
        }
    }

    #[test]
    fn a_display_name_adds_the_lookup_and_provision_adds_directory_reads() {
        let keys = |actions: &[Action], by_name| {
            applicable(actions, by_name)
                .map(|n| n.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&[Action::Restart], false), ["jobs"]);
        assert_eq!(keys(&[Action::Restart], true), ["jobs", "findApp"]);
        let provision: Vec<_> = NEEDS
            .iter()
            .filter(|need| need.actions.contains(&"provision"))
            .map(|need| need.key)
            .collect();
        assert_eq!(
            provision,
            ["jobs", "findApp", "assignments", "groups", "users"]
        );
        assert_eq!(
            keys(&[Action::Check], false),
            ["jobs", "ownApplication", "provisioningLog"]
        );
    }

    #[test]
    fn keys_are_unique_and_every_need_names_a_permission() {
        for (index, need) in NEEDS.iter().enumerate() {
            assert!(!need.any_of.is_empty(), "{}", need.key);
            assert!(
                NEEDS[..index].iter().all(|other| other.key != need.key),
                "{}",
                need.key
            );
        }
        for key in ["jobs", "findApp", "ownApplication", "provisioningLog"] {
            assert!(need(key).is_some(), "{key}");
        }
    }

    #[test]
    fn descriptions_name_the_alternatives_and_the_owner_condition() {
        let text = describe(need("jobs").unwrap());
        assert!(
            text.starts_with("Synchronization.ReadWrite.All (or Application.ReadWrite.OwnedBy)")
        );
        assert!(text.contains("owner"));
        assert_eq!(
            describe(need("provisioningLog").unwrap()),
            "AuditLog.Read.All"
        );
    }
}
