//! Changes -> provision-on-demand calls. Microsoft accepts one user, or one group with at most
//! five members, per call; this module is the only place that knows it.

use serde::Serialize;
use serde_json::{Value, json};

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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn descriptions_name_the_object() {
        let call = &Call::group("g1", Some("Admins"), &members(2), Reason::Requested)[0];
        assert_eq!(call.describe(), "group \"Admins\" (g1) with 2 members");
    }
}
