//! The directory endpoints provision needs: users, groups and their members, the app's
//! assignments (its provisioning scope) and the user/group delta queries.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{GraphClient, GraphError, Operation, Traced, odata_quoted, parse_json, query_value};
use crate::transport::Deadline;

/// Graph's limit for `$filter=id eq … or id eq …` on a delta query.
pub const DELTA_FILTER_IDS: usize = 50;
/// The largest page appRoleAssignedTo serves: fewer round trips for a big scope.
const ASSIGNMENTS_PAGE: &str = "999";

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct DirectoryObject {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
}

impl DirectoryObject {
    pub fn is_user(&self) -> bool {
        is_user_type(self.odata_type.as_deref())
    }
}

/// A user, or an entry whose type Graph did not say (read as a user: only users are
/// members that matter, and Graph always types directoryObject collections).
fn is_user_type(odata_type: Option<&str>) -> bool {
    odata_type.is_none_or(|kind| kind.eq_ignore_ascii_case("#microsoft.graph.user"))
}

/// An `appRoleAssignment` of the enterprise app (`appRoleAssignedTo`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub principal_id: String,
    pub principal_type: Option<String>,
    pub principal_display_name: Option<String>,
}

/// A group as `groups/delta` reports it; the same group may come on several pages.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupChange {
    pub id: String,
    pub display_name: Option<String>,
    #[serde(rename = "members@delta")]
    pub members_delta: Option<Vec<MemberChange>>,
    #[serde(rename = "@removed")]
    pub removed: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MemberChange {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: String,
    #[serde(rename = "@removed")]
    pub removed: Option<serde_json::Value>,
}

impl MemberChange {
    pub fn is_user(&self) -> bool {
        is_user_type(self.odata_type.as_deref())
    }
}

/// A user as `users/delta` reports it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct UserChange {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    #[serde(rename = "@removed")]
    pub removed: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    Groups,
    Users,
}

impl DeltaKind {
    fn segment(self) -> &'static str {
        match self {
            Self::Groups => "groups",
            Self::Users => "users",
        }
    }

    fn operation(self) -> Operation {
        match self {
            Self::Groups => Operation::GroupDelta,
            Self::Users => Operation::UserDelta,
        }
    }
}

/// Where a delta read starts.
#[derive(Debug, Clone, Copy)]
pub enum DeltaStart<'a> {
    /// A saved `@odata.deltaLink`: the changes since it was issued.
    Link(&'a str),
    /// A new baseline for these ids: `$deltatoken=latest` ("sync from now").
    Baseline(&'a [String]),
}

/// Everything a delta read returned, and the link for the next read.
#[derive(Debug, Clone)]
pub struct DeltaRead<T> {
    pub changes: Vec<T>,
    pub delta_link: String,
    pub request_ids: Vec<String>,
}

/// A delta read failed: either the token is no longer valid (re-baseline), or Graph failed.
#[derive(Debug, Clone)]
pub enum DeltaError {
    /// The token is no longer valid (Graph's error is kept for the report).
    Expired(GraphError),
    Graph(GraphError),
}

impl From<GraphError> for DeltaError {
    fn from(error: GraphError) -> Self {
        match &error {
            GraphError::Failed { status, code, .. } if token_expired(*status, code.as_deref()) => {
                Self::Expired(error)
            }
            _ => Self::Graph(error),
        }
    }
}

/// Microsoft: an expired token is `syncStateNotFound` (or `resyncRequired`), tenant
/// maintenance a `410 Gone`.
fn token_expired(status: Option<u16>, code: Option<&str>) -> bool {
    status == Some(410)
        || code.is_some_and(|code| {
            code.eq_ignore_ascii_case("syncStateNotFound")
                || code.eq_ignore_ascii_case("resyncRequired")
        })
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct DeltaPage<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
}

impl GraphClient {
    /// `GET /users/{id-or-userPrincipalName}`.
    pub async fn get_user(
        &self,
        id_or_upn: &str,
        deadline: &Deadline,
    ) -> Result<Traced<DirectoryObject>, GraphError> {
        let url = self.url(&["users", id_or_upn]);
        self.get_one(url, Operation::ReadUser, deadline).await
    }

    /// `GET /groups/{id}`.
    pub async fn get_group(
        &self,
        id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<DirectoryObject>, GraphError> {
        let url = self.url(&["groups", id]);
        self.get_one(url, Operation::ReadGroup, deadline).await
    }

    /// Groups whose displayName equals `name` (`$filter`, quote-escaped and percent-encoded).
    pub async fn find_groups(
        &self,
        name: &str,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<DirectoryObject>>, GraphError> {
        let mut url = self.url(&["groups"]);
        let filter = format!("displayName eq {}", odata_quoted(name));
        url.set_query(Some(&format!("$filter={}", query_value(&filter))));
        self.collect(url, Operation::FindGroup, deadline).await
    }

    /// The group's direct members, all pages, users only.
    pub async fn group_user_members(
        &self,
        group_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<DirectoryObject>>, GraphError> {
        let url = self.url(&["groups", group_id, "members"]);
        let mut members: Traced<Vec<DirectoryObject>> = self
            .collect(url, Operation::ListGroupMembers, deadline)
            .await?;
        members
            .value
            .retain(|member| member.is_user() && !member.id.is_empty());
        Ok(members)
    }

    /// Who is assigned to the enterprise app: its provisioning scope.
    pub async fn app_role_assignments(
        &self,
        service_principal_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<AppRoleAssignment>>, GraphError> {
        let mut url = self.url(&[
            "servicePrincipals",
            service_principal_id,
            "appRoleAssignedTo",
        ]);
        url.set_query(Some(&format!("$top={ASSIGNMENTS_PAGE}")));
        let mut assignments: Traced<Vec<AppRoleAssignment>> = self
            .collect(url, Operation::ListAssignments, deadline)
            .await?;
        assignments.value.retain(|a| !a.principal_id.is_empty());
        Ok(assignments)
    }

    /// Reads a delta query to its end: every page, then the new `@odata.deltaLink`.
    pub async fn delta<T: DeserializeOwned>(
        &self,
        kind: DeltaKind,
        start: DeltaStart<'_>,
        deadline: &Deadline,
    ) -> Result<DeltaRead<T>, DeltaError> {
        let operation = kind.operation();
        let mut next = Some(match start {
            DeltaStart::Link(link) => self.same_origin(link, operation)?,
            DeltaStart::Baseline(ids) => self.baseline_url(kind, ids),
        });
        let mut changes = Vec::new();
        let mut request_ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            // A link already read would loop until the deadline.
            if !seen.insert(url.as_str().to_string()) {
                return Err(DeltaError::Graph(super::unexpected(
                    operation,
                    "Graph sent a delta next link to a page already read; stopping rather \
                     than reading it again. Try again later"
                        .into(),
                )));
            }
            let (response, request_id) = self
                .call(Method::GET, url, None, operation, deadline)
                .await?;
            request_ids.extend(request_id);
            let page: DeltaPage<T> = parse_json(response, operation).await?;
            changes.extend(page.value);
            match (page.next_link, page.delta_link) {
                (Some(link), _) => next = Some(self.same_origin(&link, operation)?),
                (None, Some(delta_link)) => {
                    return Ok(DeltaRead {
                        changes,
                        delta_link,
                        request_ids,
                    });
                }
                (None, None) => {
                    return Err(DeltaError::Graph(super::unexpected(
                        operation,
                        "Graph's delta page had neither @odata.nextLink nor @odata.deltaLink"
                            .into(),
                    )));
                }
            }
        }
        Err(DeltaError::Graph(super::unexpected(
            operation,
            "the delta query ended without a link".into(),
        )))
    }

    /// `GET /{groups|users}/delta?$filter=id eq '…' or …&$deltatoken=latest`.
    fn baseline_url(&self, kind: DeltaKind, ids: &[String]) -> Url {
        let mut url = self.url(&[kind.segment(), "delta"]);
        let mut query = format!("$filter={}", query_value(&id_filter(ids)));
        if kind == DeltaKind::Groups {
            // members@delta comes only with members selected (or no $select at all).
            query.push_str("&$select=displayName,members");
        }
        query.push_str("&$deltatoken=latest");
        url.set_query(Some(&query));
        url
    }
}

/// `id eq 'a' or id eq 'b'`, the only filter delta queries support.
pub fn id_filter(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("id eq {}", odata_quoted(id)))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_filter_is_an_or_chain_of_quoted_ids() {
        let ids = ["a".to_string(), "b'c".to_string()];
        assert_eq!(id_filter(&ids), "id eq 'a' or id eq 'b''c'");
    }

    #[test]
    fn expired_tokens_are_recognised_by_status_or_code() {
        assert!(token_expired(Some(410), None));
        assert!(token_expired(Some(400), Some("syncStateNotFound")));
        assert!(token_expired(Some(400), Some("ResyncRequired")));
        assert!(!token_expired(Some(400), Some("BadRequest")));
        assert!(!token_expired(Some(503), None));
    }

    #[test]
    fn group_changes_read_members_delta_and_removals() {
        let page: DeltaPage<GroupChange> = serde_json::from_str(
            r##"{"value":[{"id":"g1","displayName":"Admins","members@delta":[
                {"@odata.type":"#microsoft.graph.user","id":"u1"},
                {"@odata.type":"#microsoft.graph.user","id":"u2","@removed":{"reason":"deleted"}},
                {"@odata.type":"#microsoft.graph.group","id":"g9"}]}],
               "@odata.deltaLink":"https://graph/v1.0/groups/delta?$deltatoken=x"}"##,
        )
        .unwrap();
        let group = &page.value[0];
        let members = group.members_delta.as_ref().unwrap();
        assert_eq!(members.len(), 3);
        assert!(members[1].removed.is_some() && members[0].removed.is_none());
        assert!(!members[2].is_user());
        assert!(page.delta_link.is_some() && page.next_link.is_none());
    }
}
