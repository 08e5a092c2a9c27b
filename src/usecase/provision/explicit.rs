//! Users and groups named in the request -> calls: each name is looked up in the directory
//! (a user by object id or userPrincipalName, a group by object id or display name), and a
//! group goes with its current direct user members.

use super::error::ProvisionError;
use super::plan::{Call, Member, Reason};
use crate::domain::parse_guid;
use crate::error::SyncError;
use crate::graph::directory::DirectoryObject;
use crate::graph::{GraphClient, GraphError, GraphErrorKind};
use crate::transport::Deadline;

/// The calls for the named objects, and how many objects they cover.
pub struct Named {
    pub calls: Vec<Call>,
    pub objects: usize,
    pub request_ids: Vec<String>,
}

pub async fn resolve(
    graph: &GraphClient,
    users: &[String],
    groups: &[String],
    deadline: &Deadline,
) -> Result<Named, SyncError> {
    let mut named = Named {
        calls: Vec::new(),
        objects: 0,
        request_ids: Vec::new(),
    };
    for name in unique(users) {
        let user = user(graph, name, &mut named.request_ids, deadline).await?;
        if named.calls.iter().any(|call| call.id == user.id) {
            continue;
        }
        named.objects += 1;
        named.calls.push(Call::user(
            &user.id,
            user.user_principal_name.as_deref(),
            user.display_name.as_deref(),
            Reason::Requested,
        ));
    }
    for name in unique(groups) {
        let group = group(graph, name, &mut named.request_ids, deadline).await?;
        if named.calls.iter().any(|call| call.id == group.id) {
            continue;
        }
        let members = graph.group_user_members(&group.id, deadline).await?;
        named.request_ids.extend(members.request_ids);
        let members: Vec<Member> = members
            .value
            .iter()
            .map(|m| Member::current(&m.id))
            .collect();
        named.objects += 1 + members.len();
        let display_name = group.display_name.as_deref();
        named.calls.extend(Call::group(
            &group.id,
            display_name,
            &members,
            Reason::Requested,
        ));
    }
    Ok(named)
}

fn unique(names: &[String]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names.iter().map(|name| name.trim()) {
        if !name.is_empty() && !seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            seen.push(name);
        }
    }
    seen
}

async fn user(
    graph: &GraphClient,
    name: &str,
    request_ids: &mut Vec<String>,
    deadline: &Deadline,
) -> Result<DirectoryObject, SyncError> {
    match graph.get_user(name, deadline).await {
        Ok(found) if !found.value.id.is_empty() => {
            request_ids.extend(found.request_ids);
            Ok(found.value)
        }
        Ok(_) => Err(user_not_found(name)),
        Err(error) if is_not_found(&error) => Err(user_not_found(name)),
        Err(error) => Err(error.into()),
    }
}

async fn group(
    graph: &GraphClient,
    name: &str,
    request_ids: &mut Vec<String>,
    deadline: &Deadline,
) -> Result<DirectoryObject, SyncError> {
    let not_found = || -> SyncError {
        ProvisionError::GroupNotFound {
            name: name.to_string(),
        }
        .into()
    };
    if let Ok(id) = parse_guid(name) {
        return match graph.get_group(&id, deadline).await {
            Ok(found) if !found.value.id.is_empty() => {
                request_ids.extend(found.request_ids);
                Ok(found.value)
            }
            Ok(_) => Err(not_found()),
            Err(error) if is_not_found(&error) => Err(not_found()),
            Err(error) => Err(error.into()),
        };
    }
    let found = graph.find_groups(name, deadline).await?;
    request_ids.extend(found.request_ids);
    let mut groups = found.value;
    groups.retain(|group| !group.id.is_empty());
    match groups.len() {
        0 => Err(not_found()),
        1 => Ok(groups.remove(0)),
        count => Err(ProvisionError::AmbiguousGroup {
            name: name.to_string(),
            count,
            ids: groups
                .iter()
                .map(|group| group.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()),
    }
}

fn user_not_found(name: &str) -> SyncError {
    ProvisionError::UserNotFound {
        name: name.to_string(),
    }
    .into()
}

fn is_not_found(error: &GraphError) -> bool {
    error.kind() == Some(GraphErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_deduplicated_case_insensitively() {
        let names = vec![
            " Alice@Contoso.com".to_string(),
            "alice@contoso.com".into(),
            "".into(),
            "bob".into(),
        ];
        assert_eq!(unique(&names), ["Alice@Contoso.com", "bob"]);
    }
}
