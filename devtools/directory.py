"""A directory for provision tests and benchmarks: users, groups and assignments in the Graph
simulator's `directory` section, and the `/_sim/directory` and `/_sim/provisioning` controls
that change it between runs."""

from __future__ import annotations

import copy

from devtools.services import GraphSimulator, demo_scenario

#: Application permissions the provision action needs besides the synchronization ones.
PROVISION_ROLES = ["Synchronization.ReadWrite.All", "Application.Read.All", "GroupMember.Read.All",
                   "User.Read.All"]
AWS_RULE_ID = "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8"


def user_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def group_id(n: int) -> str:
    return f"10000000-0000-4000-8000-{n:012d}"


def upn(n: int) -> str:
    return f"user{n}@contoso.com"


def user(n: int, **fields) -> dict:
    return {"id": user_id(n), "userPrincipalName": upn(n), "displayName": f"User {n}",
            "givenName": "User", "surname": str(n), "mail": upn(n), **fields}


def provision_scenario(users: int = 10, groups: dict[int, list[int]] | None = None,
                       assigned_groups: list[int] | None = None, assigned_users: list[int] | None = None,
                       scenario: dict | None = None, **provisioning) -> dict:
    """The demo scenario plus a directory: `users` users (1..users), `groups` {n: [member ns]}
    (default: group 1 with users 1-3, group 2 "AWS Developers" with users 4-5), the named
    groups/users assigned to the IAM Identity Center app (default: every group), and the app
    holding the permissions provision needs. `provisioning` goes to the `provisioning` section
    (window_seconds, limit, failures, schema_rules)."""
    scenario = copy.deepcopy(scenario or demo_scenario())
    scenario["tenants"][0]["apps"][0]["roles"] = list(PROVISION_ROLES)
    groups = {1: [1, 2, 3], 2: [4, 5]} if groups is None else groups
    names = {1: "AWS Admins", 2: "AWS Developers"}
    assigned_groups = list(groups) if assigned_groups is None else assigned_groups
    assignments = [{"principalId": group_id(n), "principalType": "Group"} for n in assigned_groups]
    assignments += [{"principalId": user_id(n), "principalType": "User"} for n in assigned_users or []]
    scenario["directory"] = {
        "users": [user(n) for n in range(1, users + 1)],
        "groups": [{"id": group_id(n), "displayName": names.get(n, f"AWS Group {n}"),
                    "members": [user_id(m) for m in members]} for n, members in groups.items()],
        "assignments": assignments,
    }
    if provisioning:
        scenario["provisioning"] = provisioning
    return scenario


class Directory:
    """The simulator's directory controls, for tests that change it between runs."""

    def __init__(self, sim: GraphSimulator):
        self.sim = sim

    def _post(self, path: str, body: dict) -> dict:
        return self.sim._call("POST", path, body)

    def add_members(self, group: int, *users: int) -> None:
        self._post("/_sim/directory/members", {"group": group_id(group), "add": [user_id(n) for n in users]})

    def remove_members(self, group: int, *users: int) -> None:
        self._post("/_sim/directory/members", {"group": group_id(group), "remove": [user_id(n) for n in users]})

    def put_user(self, n: int, **fields) -> None:
        self._post("/_sim/directory/users", {"id": user_id(n), "userPrincipalName": upn(n), **fields})

    def rename_group(self, group: int, name: str) -> None:
        self._post("/_sim/directory/groups", {"id": group_id(group), "displayName": name})

    def assign(self, groups: tuple[int, ...] = (), users: tuple[int, ...] = ()) -> None:
        add = [{"principalId": group_id(n), "principalType": "Group"} for n in groups]
        add += [{"principalId": user_id(n), "principalType": "User"} for n in users]
        self._post("/_sim/directory/assignments", {"add": add})

    def unassign(self, groups: tuple[int, ...] = (), users: tuple[int, ...] = ()) -> None:
        remove = [group_id(n) for n in groups] + [user_id(n) for n in users]
        self._post("/_sim/directory/assignments", {"remove": remove})

    def expire_delta_tokens(self, status: int = 400, code: str | None = None) -> None:
        self._post("/_sim/directory/expire-delta-tokens", {"status": status, **({"code": code} if code else {})})

    def provisioning(self, **settings) -> dict:
        return self._post("/_sim/provisioning", settings)

    def calls(self) -> list[dict]:
        """The provision-on-demand calls the simulator answered (not the throttled ones)."""
        return self.sim._call("GET", "/_sim/provisioning")["calls"]

