//! What changed in the app's scope since the last run, as calls, with the state to store once
//! they are all done.
//!
//! Scope is `appRoleAssignedTo` (directly assigned users and groups; Microsoft provisions only
//! direct members of assigned groups). Assigned ids are sorted and cut into chunks of at most
//! 50 (Graph's `$filter` limit); each chunk has its delta link, named `groups/<n>` or
//! `users/<n>`. When assignments change the chunks are cut anew: a chunk whose ids changed gets
//! a fresh baseline *before* its old link is read, so a change made in between is seen twice
//! (harmless: provision on demand is idempotent), never missed.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{self, Call, Member, Reason};
use crate::error::SyncError;
use crate::graph::directory::{
    AppRoleAssignment, DELTA_FILTER_IDS, DeltaError, DeltaKind, DeltaStart,
};
use crate::graph::{GraphClient, GraphErrorKind, usable_id};
use crate::state::ProvisionState;
use crate::transport::Deadline;

/// The directly assigned principals: id -> display name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scope {
    pub users: BTreeMap<String, Option<String>>,
    pub groups: BTreeMap<String, Option<String>>,
}

impl Scope {
    pub fn from_assignments(assignments: &[AppRoleAssignment]) -> Self {
        let mut scope = Self::default();
        for assignment in assignments {
            let kind = assignment.principal_type.as_deref().unwrap_or_default();
            let name = assignment.principal_display_name.clone();
            let id = assignment.principal_id.to_ascii_lowercase();
            if kind.eq_ignore_ascii_case("User") {
                scope.users.insert(id, name);
            } else if kind.eq_ignore_ascii_case("Group") {
                scope.groups.insert(id, name);
            }
        }
        scope
    }

    fn ids(&self, kind: DeltaKind) -> Vec<String> {
        match kind {
            DeltaKind::Groups => self.groups.keys().cloned().collect(),
            DeltaKind::Users => self.users.keys().cloned().collect(),
        }
    }
}

/// What change tracking found.
#[derive(Debug)]
pub enum Tracked {
    /// First run for the job: links and assignments to record; nothing to provision.
    Baseline(ProvisionState),
    /// A delta token is no longer valid: `fresh` is a new baseline; a restart must carry
    /// whatever changed meanwhile.
    Expired {
        fresh: ProvisionState,
        detail: String,
    },
    /// The calls to make; `next` is stored once they are all done.
    Changes {
        calls: Vec<Call>,
        changes: usize,
        next: ProvisionState,
    },
}

pub struct Detection {
    pub tracked: Tracked,
    pub request_ids: Vec<String>,
}

const KINDS: [DeltaKind; 2] = [DeltaKind::Groups, DeltaKind::Users];

fn kind_name(kind: DeltaKind) -> &'static str {
    match kind {
        DeltaKind::Groups => "groups",
        DeltaKind::Users => "users",
    }
}

fn link_name(kind: DeltaKind, index: usize) -> String {
    format!("{}/{index}", kind_name(kind))
}

fn chunks(ids: &[String]) -> Vec<Vec<String>> {
    ids.chunks(DELTA_FILTER_IDS)
        .map(<[String]>::to_vec)
        .collect()
}

/// Which chunks get a fresh baseline and which stored links are read.
#[derive(Debug, Default, PartialEq, Eq)]
struct ChunkPlan {
    /// (link name, kind, ids): a new or re-cut chunk.
    rebaseline: Vec<(String, DeltaKind, Vec<String>)>,
    /// (stored link, kind, the name it keeps when the chunk's ids are unchanged).
    reads: Vec<(String, DeltaKind, Option<String>)>,
    /// A chunk of the stored assignments has no stored link: its changes cannot be read.
    missing: Option<String>,
}

fn plan_chunks(stored: &ProvisionState, scope: &Scope) -> ChunkPlan {
    let mut plan = ChunkPlan::default();
    for kind in KINDS {
        let stored_ids: Vec<String> = match kind {
            DeltaKind::Groups => stored.assigned_groups.iter().cloned().collect(),
            DeltaKind::Users => stored.assigned_users.iter().cloned().collect(),
        };
        let old = chunks(&stored_ids);
        let new = chunks(&scope.ids(kind));
        for (index, ids) in new.iter().enumerate() {
            let name = link_name(kind, index);
            match (old.get(index), stored.delta_links.get(&name)) {
                (Some(old_ids), Some(link)) if old_ids == ids => {
                    plan.reads.push((link.clone(), kind, Some(name)));
                }
                _ => plan.rebaseline.push((name, kind, ids.clone())),
            }
        }
        for (index, ids) in old.iter().enumerate() {
            let name = link_name(kind, index);
            match stored.delta_links.get(&name) {
                // Unchanged chunks were read above, keeping their name.
                Some(_) if new.get(index) == Some(ids) => {}
                Some(link) => plan.reads.push((link.clone(), kind, None)),
                None => plan.missing = Some(name),
            }
        }
    }
    plan
}

/// Reads what changed since `stored` (or records a baseline when there is none).
pub async fn detect(
    graph: &GraphClient,
    service_principal_id: &str,
    stored: Option<&ProvisionState>,
    deadline: &Deadline,
) -> Result<Detection, SyncError> {
    let assignments = graph
        .app_role_assignments(service_principal_id, deadline)
        .await?;
    let scope = Scope::from_assignments(&assignments.value);
    let mut reader = Reader {
        graph,
        deadline,
        request_ids: assignments.request_ids,
    };
    let tracked = match stored {
        None => Tracked::Baseline(reader.baseline_all(&scope).await?),
        Some(stored) => reader.changes(stored, &scope).await?,
    };
    Ok(Detection {
        tracked,
        request_ids: reader.request_ids,
    })
}

struct Reader<'a> {
    graph: &'a GraphClient,
    deadline: &'a Deadline,
    request_ids: Vec<String>,
}

impl Reader<'_> {
    async fn baseline(&mut self, kind: DeltaKind, ids: &[String]) -> Result<String, SyncError> {
        let read = self
            .graph
            .delta::<serde_json::Value>(kind, DeltaStart::Baseline(ids), self.deadline)
            .await
            .map_err(|(DeltaError::Graph(error) | DeltaError::Expired(error))| {
                SyncError::from(error)
            })?;
        self.request_ids.extend(read.request_ids);
        Ok(read.delta_link)
    }

    async fn baseline_all(&mut self, scope: &Scope) -> Result<ProvisionState, SyncError> {
        let mut links = BTreeMap::new();
        for kind in KINDS {
            for (index, ids) in chunks(&scope.ids(kind)).iter().enumerate() {
                links.insert(link_name(kind, index), self.baseline(kind, ids).await?);
            }
        }
        Ok(state(links, scope))
    }

    async fn changes(
        &mut self,
        stored: &ProvisionState,
        scope: &Scope,
    ) -> Result<Tracked, SyncError> {
        let plan = plan_chunks(stored, scope);
        if let Some(name) = plan.missing {
            let detail = format!("no delta link is stored for {name}");
            let fresh = self.baseline_all(scope).await?;
            return Ok(Tracked::Expired { fresh, detail });
        }
        // Fresh baselines first: a change made from here on is seen by the next run.
        let mut links = BTreeMap::new();
        for (name, kind, ids) in &plan.rebaseline {
            links.insert(name.clone(), self.baseline(*kind, ids).await?);
        }
        let mut groups = Vec::new();
        let mut users = Vec::new();
        for (link, kind, keep_as) in &plan.reads {
            let next = match kind {
                DeltaKind::Groups => self.read(*kind, link, &mut groups).await?,
                DeltaKind::Users => self.read(*kind, link, &mut users).await?,
            };
            match next {
                Ok(next) => {
                    if let Some(name) = keep_as {
                        links.insert(name.clone(), next);
                    }
                }
                Err(detail) => {
                    let fresh = self.baseline_all(scope).await?;
                    return Ok(Tracked::Expired { fresh, detail });
                }
            }
        }
        let mut calls = Vec::new();
        let mut changes = 0;
        let new_groups = added(&stored.assigned_groups, &scope.groups);
        let new_users = added(&stored.assigned_users, &scope.users);
        changes += plan::user_calls(users, &scope.users, &new_users, &mut calls);
        changes += plan::group_calls(groups, &scope.groups, &new_groups, &mut calls);
        changes += self
            .assigned_calls(scope, &new_users, &new_groups, &mut calls)
            .await?;
        changes += self.unassigned_calls(stored, scope, &mut calls).await?;
        Ok(Tracked::Changes {
            calls,
            changes,
            next: state(links, scope),
        })
    }

    /// Reads one stored link into `into`: `Ok(Ok(next link))`, or `Ok(Err(why))` when the
    /// token is no longer valid.
    async fn read<T: serde::de::DeserializeOwned>(
        &mut self,
        kind: DeltaKind,
        link: &str,
        into: &mut Vec<T>,
    ) -> Result<Result<String, String>, SyncError> {
        match self
            .graph
            .delta::<T>(kind, DeltaStart::Link(link), self.deadline)
            .await
        {
            Ok(read) => {
                self.request_ids.extend(read.request_ids);
                into.extend(read.changes);
                Ok(Ok(read.delta_link))
            }
            Err(DeltaError::Expired(error)) => Ok(Err(error.to_string())),
            Err(DeltaError::Graph(error)) => Err(error.into()),
        }
    }

    /// Users no longer directly assigned: one call each. Microsoft: "On-demand provisioning
    /// supports disabling users that have been unassigned from the application", so the user
    /// loses access to AWS now rather than at the next cycle. A user deleted from Entra (which
    /// also ends its assignments) is left to the cycle: on-demand provisioning does not disable
    /// deleted users, so a call would fail on every run. An unassigned group is left to the
    /// cycle too (provision on demand is not documented to remove groups).
    async fn unassigned_calls(
        &mut self,
        stored: &ProvisionState,
        scope: &Scope,
        calls: &mut Vec<Call>,
    ) -> Result<usize, SyncError> {
        let mut changes = 0;
        for id in unassigned_users(stored, scope) {
            let user = match self.graph.get_user(id, self.deadline).await {
                Ok(found) => {
                    self.request_ids.extend(found.request_ids);
                    found.value
                }
                Err(error) if error.kind() == Some(GraphErrorKind::NotFound) => continue,
                Err(error) => return Err(error.into()),
            };
            calls.push(Call::user(
                id,
                user.user_principal_name.as_deref(),
                user.display_name.as_deref(),
                Reason::Unassigned,
            ));
            changes += 1;
        }
        Ok(changes)
    }

    /// Newly assigned users (one call each) and groups (with their current direct members).
    async fn assigned_calls(
        &mut self,
        scope: &Scope,
        new_users: &BTreeSet<String>,
        new_groups: &BTreeSet<String>,
        calls: &mut Vec<Call>,
    ) -> Result<usize, SyncError> {
        let mut changes = 0;
        for id in new_users {
            let name = scope.users.get(id).cloned().flatten();
            calls.push(Call::user(id, None, name.as_deref(), Reason::Assigned));
            changes += 1;
        }
        for id in new_groups {
            let members = self.graph.group_user_members(id, self.deadline).await?;
            self.request_ids.extend(members.request_ids);
            let members: Vec<Member> = members
                .value
                .iter()
                .map(|m| Member::current(&m.id))
                .collect();
            changes += 1 + members.len();
            let name = scope.groups.get(id).cloned().flatten();
            calls.extend(Call::group(id, name.as_deref(), &members, Reason::Assigned));
        }
        Ok(changes)
    }
}

fn state(links: BTreeMap<String, String>, scope: &Scope) -> ProvisionState {
    ProvisionState {
        delta_links: links,
        assigned_users: scope.users.keys().cloned().collect(),
        assigned_groups: scope.groups.keys().cloned().collect(),
    }
}

/// Users no longer directly assigned (a usable id in a URL path).
fn unassigned_users<'a>(stored: &'a ProvisionState, scope: &Scope) -> Vec<&'a String> {
    stored
        .assigned_users
        .iter()
        .filter(|id| !scope.users.contains_key(*id) && usable_id(id))
        .collect()
}

fn added(stored: &BTreeSet<String>, now: &BTreeMap<String, Option<String>>) -> BTreeSet<String> {
    now.keys()
        .filter(|id| !stored.contains(*id))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:03}")).collect()
    }

    fn scope(groups: &[String], users: &[String]) -> Scope {
        Scope {
            groups: groups.iter().map(|id| (id.clone(), None)).collect(),
            users: users.iter().map(|id| (id.clone(), None)).collect(),
        }
    }

    fn stored(groups: &[String], users: &[String]) -> ProvisionState {
        let scope = scope(groups, users);
        let mut links = BTreeMap::new();
        for kind in KINDS {
            for index in 0..chunks(&scope.ids(kind)).len() {
                links.insert(
                    link_name(kind, index),
                    format!("link-{}", link_name(kind, index)),
                );
            }
        }
        state(links, &scope)
    }

    #[test]
    fn unchanged_assignments_read_every_stored_link_and_keep_its_name() {
        let groups = ids("g", 120);
        let before = stored(&groups, &ids("u", 1));
        let plan = plan_chunks(&before, &scope(&groups, &ids("u", 1)));
        assert!(plan.rebaseline.is_empty() && plan.missing.is_none());
        let kept: Vec<&str> = plan.reads.iter().filter_map(|r| r.2.as_deref()).collect();
        assert_eq!(kept, ["groups/0", "groups/1", "groups/2", "users/0"]);
    }

    #[test]
    fn a_new_assignment_rebaselines_the_recut_chunk_and_still_reads_the_old_link() {
        let before = stored(&ids("g", 2), &[]);
        let mut now = ids("g", 2);
        now.push("g000a".into());
        now.sort();
        let plan = plan_chunks(&before, &scope(&now, &[]));
        assert_eq!(plan.rebaseline.len(), 1);
        assert_eq!(plan.rebaseline[0].2, now);
        assert_eq!(
            plan.reads,
            [("link-groups/0".to_string(), DeltaKind::Groups, None)]
        );
    }

    #[test]
    fn a_missing_link_is_reported() {
        let mut before = stored(&ids("g", 1), &[]);
        before.delta_links.clear();
        assert_eq!(
            plan_chunks(&before, &scope(&ids("g", 1), &[]))
                .missing
                .as_deref(),
            Some("groups/0")
        );
    }

    #[test]
    fn unassigned_users_are_the_stored_ones_out_of_scope_and_groups_are_not_counted() {
        let before = stored(
            &["g1".to_string(), "g2".into()],
            &["u1".to_string(), "u2".into()],
        );
        let now = scope(&["g1".to_string()], &["u1".to_string()]);
        assert_eq!(unassigned_users(&before, &now), ["u2"]);
        let dotted = stored(&[], &["..".to_string()]);
        assert!(
            unassigned_users(&dotted, &now).is_empty(),
            "never a path trick"
        );
    }

    #[test]
    fn scope_reads_users_and_groups_and_ignores_other_principals() {
        let assignment = |id: &str, kind: &str| AppRoleAssignment {
            principal_id: id.into(),
            principal_type: Some(kind.into()),
            principal_display_name: Some(format!("{kind} {id}")),
        };
        let scope = Scope::from_assignments(&[
            assignment("A", "User"),
            assignment("b", "Group"),
            assignment("c", "ServicePrincipal"),
        ]);
        assert_eq!(scope.users.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(scope.groups.keys().collect::<Vec<_>>(), ["b"]);
    }
}
