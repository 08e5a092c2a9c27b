//! Changes -> provision-on-demand calls. Microsoft accepts one user, or one group with at most
//! five members, per call; this module is the only place that knows it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::graph::directory::{GroupChange, UserChange};

/// Microsoft's limit: "a single group with up to 5 members at a time".
pub const MEMBERS_PER_CALL: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    User,
    Group,
}

/// A group member sent in `links.members`; `removed` members are sent too, so the provisioning
/// service removes them from the group in IAM Identity Center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: String,
    pub removed: bool,
}

impl Member {
    pub fn current(id: &str) -> Self {
        Self {
            id: id.to_string(),
            removed: false,
        }
    }
}

/// Why an object is provisioned: reported, and used to decide which state a success advances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// Named in the request.
    Requested,
    /// Newly assigned to the enterprise app.
    Assigned,
    /// Seen in a delta query (attributes or members changed).
    Changed,
    /// A user no longer assigned to the enterprise app: provision on demand disables it.
    Unassigned,
}

/// One provision-on-demand call: one subject (a user, or a group with up to five members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub kind: Kind,
    pub id: String,
    /// A user's userPrincipalName, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// A group's (or, when its UPN is unknown, a user's) displayName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    pub reason: Reason,
}

impl Call {
    pub fn user(id: &str, upn: Option<&str>, display_name: Option<&str>, reason: Reason) -> Self {
        Self {
            kind: Kind::User,
            id: id.to_string(),
            user_principal_name: upn.map(str::to_string),
            display_name: display_name.map(str::to_string),
            members: Vec::new(),
            reason,
        }
    }

    /// The calls for a group and its (changed or current) members, five members per call;
    /// a group without members is still one call, so the group itself is provisioned.
    pub fn group(id: &str, name: Option<&str>, members: &[Member], reason: Reason) -> Vec<Self> {
        let make = |members: &[Member]| Self {
            kind: Kind::Group,
            id: id.to_string(),
            user_principal_name: None,
            display_name: name.map(str::to_string),
            members: members.to_vec(),
            reason: reason.clone(),
        };
        if members.is_empty() {
            return vec![make(&[])];
        }
        members.chunks(MEMBERS_PER_CALL).map(make).collect()
    }

    /// The request body: `{"parameters":[{"ruleId":…,"subjects":[…]}]}`.
    pub fn body(&self, rule_id: &str) -> Value {
        let mut subject = json!({
            "objectId": self.id,
            "objectTypeName": match self.kind {
                Kind::User => "User",
                Kind::Group => "Group",
            },
        });
        if !self.members.is_empty() {
            let members: Vec<Value> = self
                .members
                .iter()
                .map(|member| json!({"objectId": member.id, "objectTypeName": "User"}))
                .collect();
            subject["links"] = json!({ "members": members });
        }
        json!({"parameters": [{"ruleId": rule_id, "subjects": [subject]}]})
    }

    /// "user alice@contoso.com (id)" / "group "Admins" (id) with 3 members".
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            Kind::User => "user",
            Kind::Group => "group",
        };
        let name = self
            .user_principal_name
            .as_ref()
            .or(self.display_name.as_ref())
            .map(|name| format!(" {name:?}"))
            .unwrap_or_default();
        let members = match self.members.len() {
            0 => String::new(),
            1 => " with 1 member".into(),
            n => format!(" with {n} members"),
        };
        format!("{kind}{name} ({}){members}", self.id)
    }
}

/// Changed directly assigned users: one call each (deleted users are left to the cycle:
/// provision on demand does not delete).
pub fn user_calls(
    changes: Vec<UserChange>,
    assigned: &BTreeMap<String, Option<String>>,
    new_users: &BTreeSet<String>,
    calls: &mut Vec<Call>,
) -> usize {
    let mut merged: BTreeMap<String, UserChange> = BTreeMap::new();
    for change in changes {
        let id = change.id.to_ascii_lowercase();
        if change.removed.is_some() || !assigned.contains_key(&id) || new_users.contains(&id) {
            continue;
        }
        let entry = merged.entry(id).or_default();
        entry.user_principal_name = change
            .user_principal_name
            .or(entry.user_principal_name.take());
        entry.display_name = change.display_name.or(entry.display_name.take());
        entry.id = change.id;
    }
    let count = merged.len();
    for user in merged.values() {
        calls.push(Call::user(
            &user.id,
            user.user_principal_name.as_deref(),
            user.display_name.as_deref(),
            Reason::Changed,
        ));
    }
    count
}

/// Changed assigned groups: the user members that came or went, five per call; a group whose
/// own attributes changed (no member changes) is one call without members. Members that are
/// not users (nested groups, devices) are out of Microsoft's scope and ignored.
pub fn group_calls(
    changes: Vec<GroupChange>,
    assigned: &BTreeMap<String, Option<String>>,
    new_groups: &BTreeSet<String>,
    calls: &mut Vec<Call>,
) -> usize {
    struct Changed {
        id: String,
        name: Option<String>,
        members: Vec<Member>,
        attributes: bool,
    }
    let mut merged: BTreeMap<String, Changed> = BTreeMap::new();
    for change in changes {
        let key = change.id.to_ascii_lowercase();
        if change.removed.is_some() || !assigned.contains_key(&key) || new_groups.contains(&key) {
            continue;
        }
        let entry = merged.entry(key.clone()).or_insert_with(|| Changed {
            id: change.id.clone(),
            name: assigned.get(&key).cloned().flatten(),
            members: Vec::new(),
            attributes: false,
        });
        if change.display_name.is_some() {
            entry.name = change.display_name;
        }
        match change.members_delta {
            Some(members) if !members.is_empty() => {
                for member in members.iter().filter(|m| m.is_user() && !m.id.is_empty()) {
                    entry
                        .members
                        .retain(|m| !m.id.eq_ignore_ascii_case(&member.id));
                    entry.members.push(Member {
                        id: member.id.clone(),
                        removed: member.removed.is_some(),
                    });
                }
            }
            _ => entry.attributes = true,
        }
    }
    let mut count = 0;
    for group in merged.values() {
        if group.members.is_empty() && !group.attributes {
            continue; // only non-user members changed
        }
        count += group.members.len().max(1);
        calls.extend(Call::group(
            &group.id,
            group.name.as_deref(),
            &group.members,
            Reason::Changed,
        ));
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::directory::MemberChange;

    fn members(n: usize) -> Vec<Member> {
        (0..n).map(|i| Member::current(&format!("u{i}"))).collect()
    }

    #[test]
    fn a_group_is_chunked_by_five_members() {
        let calls = Call::group("g", Some("Admins"), &members(12), Reason::Requested);
        let sizes: Vec<usize> = calls.iter().map(|call| call.members.len()).collect();
        assert_eq!(sizes, [5, 5, 2]);
        let sent: Vec<&str> = calls
            .iter()
            .flat_map(|call| call.members.iter().map(|m| m.id.as_str()))
            .collect();
        assert_eq!(sent.len(), 12);
        assert_eq!(
            Call::group("g", None, &[], Reason::Assigned).len(),
            1,
            "an empty group is still provisioned"
        );
    }

    #[test]
    fn bodies_follow_microsofts_documented_shape() {
        let user = Call::user("u1", Some("a@b.c"), None, Reason::Requested);
        assert_eq!(
            user.body("03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8"),
            json!({"parameters":[{"ruleId":"03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8",
                   "subjects":[{"objectId":"u1","objectTypeName":"User"}]}]})
        );
        let mut gone = Member::current("u2");
        gone.removed = true;
        let group = &Call::group("g1", None, &[Member::current("u1"), gone], Reason::Changed)[0];
        assert_eq!(
            group.body("r"),
            json!({"parameters":[{"ruleId":"r","subjects":[{"objectId":"g1","objectTypeName":"Group",
                "links":{"members":[{"objectId":"u1","objectTypeName":"User"},
                                    {"objectId":"u2","objectTypeName":"User"}]}}]}]})
        );
    }

    fn assigned(ids: &[&str]) -> BTreeMap<String, Option<String>> {
        ids.iter().map(|id| (id.to_string(), None)).collect()
    }

    fn member(id: &str, removed: bool) -> MemberChange {
        MemberChange {
            odata_type: Some("#microsoft.graph.user".into()),
            id: id.into(),
            removed: removed.then(|| serde_json::json!({"reason": "deleted"})),
        }
    }

    #[test]
    fn group_member_changes_merge_across_pages_and_keep_removals() {
        let assigned = assigned(&["g1", "g2"]);
        let changes = vec![
            GroupChange {
                id: "g1".into(),
                display_name: Some("Admins".into()),
                members_delta: Some(vec![member("u1", false), member("u2", true)]),
                removed: None,
            },
            GroupChange {
                id: "g1".into(),
                members_delta: Some((3..10).map(|i| member(&format!("u{i}"), false)).collect()),
                ..Default::default()
            },
            GroupChange {
                id: "g9".into(), // not assigned
                members_delta: Some(vec![member("u1", false)]),
                ..Default::default()
            },
            GroupChange {
                id: "g2".into(),
                members_delta: Some(vec![MemberChange {
                    odata_type: Some("#microsoft.graph.group".into()),
                    id: "nested".into(),
                    removed: None,
                }]),
                ..Default::default()
            },
        ];
        let mut calls = Vec::new();
        let count = group_calls(changes, &assigned, &BTreeSet::new(), &mut calls);
        assert_eq!(count, 9);
        assert_eq!(
            calls.len(),
            2,
            "9 members of g1 in two calls; g2's nested group ignored"
        );
        assert!(
            calls
                .iter()
                .all(|c| c.id == "g1" && c.display_name.as_deref() == Some("Admins"))
        );
        assert!(calls[0].members.iter().any(|m| m.id == "u2" && m.removed));
    }

    #[test]
    fn a_group_attribute_change_is_one_call_without_members() {
        let assigned = assigned(&["g1"]);
        let changes = vec![GroupChange {
            id: "g1".into(),
            display_name: Some("Renamed".into()),
            ..Default::default()
        }];
        let mut calls = Vec::new();
        assert_eq!(
            group_calls(changes, &assigned, &BTreeSet::new(), &mut calls),
            1
        );
        assert!(calls[0].members.is_empty());
    }

    #[test]
    fn user_changes_skip_deleted_unassigned_and_newly_assigned_users() {
        let assigned = assigned(&["u1", "u2", "u3"]);
        let user = |id: &str, removed: bool| UserChange {
            id: id.into(),
            user_principal_name: Some(format!("{id}@contoso.com")),
            removed: removed.then(|| serde_json::json!({"reason": "changed"})),
            ..Default::default()
        };
        let changes = vec![
            user("u1", false),
            user("u2", true),
            user("u3", false),
            user("u9", false),
        ];
        let new: BTreeSet<String> = ["u3".to_string()].into();
        let mut calls = Vec::new();
        assert_eq!(user_calls(changes, &assigned, &new, &mut calls), 1);
        assert_eq!(
            calls[0].user_principal_name.as_deref(),
            Some("u1@contoso.com")
        );
    }

    #[test]
    fn descriptions_name_the_object() {
        let call = &Call::group("g1", Some("Admins"), &members(2), Reason::Requested)[0];
        assert_eq!(call.describe(), "group \"Admins\" (g1) with 2 members");
    }
}
