"""The directory endpoint family: users, groups and their members, an enterprise app's
assignments (`appRoleAssignedTo`) and the user/group delta queries, in Microsoft Graph v1.0
shapes (see /work/shared/graph-next-apis.md section 2).

State is a scenario's optional `directory` section; tests change it between runs through
`/_sim/directory/...` controls, and every change is recorded so delta queries report it.
Delta tokens are server-side: a deltaLink names a token that remembers the query (kind, id
filter, $select) and where in the change log it stands. Tokens expire after
`delta_token_lifetime_seconds`, or at once through `/_sim/directory/expire-delta-tokens`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .graph import GraphError

USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
#: Graph's documented limit for `$filter=id eq … or …` on delta queries.
DELTA_FILTER_LIMIT = 50
USER_FIELDS = ("id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "accountEnabled",
               "jobTitle", "department")
GROUP_FIELDS = ("id", "displayName", "description", "securityEnabled", "mailEnabled", "mailNickname")
DIRECTORY_KEYS = ("users", "groups", "assignments", "delta_token_lifetime_seconds", "delta_page_size",
                  "members_per_delta_page")
AWS_APP_ROLE_ID = "8774f594-1d59-4279-b9d9-59ef09a23530"

READ_USER_ROLES = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
READ_GROUP_ROLES = frozenset({"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
                              "Directory.ReadWrite.All"})
READ_ASSIGNMENT_ROLES = frozenset({"Application.Read.All", "Application.ReadWrite.All",
                                   "Application.ReadWrite.OwnedBy", "Directory.Read.All"})

ID_CLAUSE_RE = re.compile(r"^\s*id\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)


class ControlError(ValueError):
    """A bad `/_sim/directory` control request (answered 400)."""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_guid() -> str:
    return str(uuid.uuid4())


def require_roles(roles: frozenset, needed: frozenset) -> None:
    if not roles & needed:
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


@dataclass
class Event:
    """One change in the directory, as delta queries report it."""

    seq: int
    kind: str                  # "users" | "groups"
    object_id: str
    member_id: str | None = None
    removed: bool = False      # the member left, or (without member_id) the object was deleted


@dataclass
class DeltaToken:
    kind: str
    ids: tuple[str, ...] | None
    select: str | None
    seq: int
    issued: float
    expired: tuple[int, str] | None = None


@dataclass
class Directory:
    users: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)        # each with "members": [ids]
    assignments: dict[str, list[dict]] = field(default_factory=dict)  # sp id -> appRoleAssignments
    token_lifetime: float = 7 * 24 * 3600
    delta_page_size: int = 100
    members_per_page: int = 20
    events: list[Event] = field(default_factory=list)
    tokens: dict[str, DeltaToken] = field(default_factory=dict)
    pages: dict[str, tuple[list, str]] = field(default_factory=dict)
    seq: int = 0

    # -- scenario -----------------------------------------------------------------------------

    @staticmethod
    def parse(raw: Any, default_sp: str | None) -> "Directory":
        directory = Directory()
        if raw is None:
            return directory
        if not isinstance(raw, dict):
            raise ControlError("directory must be an object")
        unknown = [k for k in raw if k not in DIRECTORY_KEYS and not k.startswith("_")]
        if unknown:
            raise ControlError(f"directory has unknown keys {unknown}; known: {', '.join(DIRECTORY_KEYS)}")
        directory.token_lifetime = float(raw.get("delta_token_lifetime_seconds") or directory.token_lifetime)
        directory.delta_page_size = int(raw.get("delta_page_size") or directory.delta_page_size)
        directory.members_per_page = int(raw.get("members_per_delta_page") or directory.members_per_page)
        for user in raw.get("users") or []:
            directory.put_user(user, record=False)
        for group in raw.get("groups") or []:
            directory.put_group(group, record=False)
        for assignment in raw.get("assignments") or []:
            directory.assign(assignment, default_sp, now=0.0)
        return directory

    def put_user(self, raw: Any, record: bool = True) -> dict:
        if not isinstance(raw, dict):
            raise ControlError("a user must be an object")
        unknown = [k for k in raw if k not in USER_FIELDS]
        if unknown:
            raise ControlError(f"user has unknown fields {unknown}; known: {', '.join(USER_FIELDS)}")
        uid = (raw.get("id") or new_guid()).lower()
        user = self.users.setdefault(uid, {"id": uid, "accountEnabled": True})
        user.update({k: v for k, v in raw.items() if k != "id"})
        if not user.get("userPrincipalName"):
            raise ControlError(f"user {uid} needs a userPrincipalName")
        user.setdefault("displayName", user["userPrincipalName"].split("@")[0])
        if record:
            self.record("users", uid)
        return user

    def put_group(self, raw: Any, record: bool = True) -> dict:
        if not isinstance(raw, dict):
            raise ControlError("a group must be an object")
        unknown = [k for k in raw if k not in GROUP_FIELDS + ("members",)]
        if unknown:
            raise ControlError(f"group has unknown fields {unknown}")
        gid = (raw.get("id") or new_guid()).lower()
        group = self.groups.setdefault(gid, {"id": gid, "securityEnabled": True, "mailEnabled": False,
                                             "members": []})
        group.update({k: v for k, v in raw.items() if k not in ("id", "members")})
        if not group.get("displayName"):
            raise ControlError(f"group {gid} needs a displayName")
        if record and any(k not in ("id", "members") for k in raw):
            self.record("groups", gid)
        if "members" in raw:
            wanted = [m.lower() for m in raw["members"]]
            self.change_members(gid, [m for m in wanted if m not in group["members"]],
                                [m for m in group["members"] if m not in wanted], record)
        return group

    def change_members(self, gid: str, add: list[str], remove: list[str], record: bool = True) -> None:
        group = self.groups.get(gid.lower())
        if group is None:
            raise ControlError(f"no group {gid}")
        for member in (m.lower() for m in add):
            if member not in self.users and member not in self.groups:
                raise ControlError(f"no user or group {member} to add to group {gid}")
            if member not in group["members"]:
                group["members"].append(member)
                if record:
                    self.record("groups", group["id"], member, removed=False)
        for member in (m.lower() for m in remove):
            if member in group["members"]:
                group["members"].remove(member)
                if record:
                    self.record("groups", group["id"], member, removed=True)

    def delete_user(self, uid: str) -> None:
        uid = uid.lower()
        if self.users.pop(uid, None) is None:
            raise ControlError(f"no user {uid}")
        for group in self.groups.values():
            if uid in group["members"]:
                group["members"].remove(uid)
                self.record("groups", group["id"], uid, removed=True)
        # A deleted user's app role assignments go with it (appRoleAssignedTo stops listing them).
        for sp, assignments in self.assignments.items():
            self.assignments[sp] = [a for a in assignments if a["principalId"] != uid]
        self.record("users", uid, removed=True)

    def assign(self, raw: Any, default_sp: str | None, now: float) -> dict:
        if not isinstance(raw, dict) or not isinstance(raw.get("principalId"), str):
            raise ControlError("an assignment needs a principalId")
        sp = (raw.get("service_principal_id") or default_sp or "").lower()
        pid = raw["principalId"].lower()
        kind = raw.get("principalType") or ("Group" if pid in self.groups else "User")
        principal = self.groups.get(pid) if kind == "Group" else self.users.get(pid)
        if principal is None:
            raise ControlError(f"no {kind.lower()} {pid} to assign")
        assignment = {
            "id": new_guid().replace("-", "")[:43],
            "deletedDateTime": None,
            "appRoleId": raw.get("appRoleId", AWS_APP_ROLE_ID),
            "createdDateTime": iso(now),
            "principalDisplayName": principal.get("displayName"),
            "principalId": pid,
            "principalType": kind,
            "resourceDisplayName": raw.get("resourceDisplayName", "AWS IAM Identity Center"),
            "resourceId": sp,
        }
        self.assignments.setdefault(sp, [])
        self.assignments[sp] = [a for a in self.assignments[sp] if a["principalId"] != pid] + [assignment]
        return assignment

    def unassign(self, sp: str, pid: str) -> None:
        sp, pid = sp.lower(), pid.lower()
        before = self.assignments.get(sp, [])
        self.assignments[sp] = [a for a in before if a["principalId"] != pid]
        if len(before) == len(self.assignments[sp]):
            raise ControlError(f"{pid} is not assigned to {sp}")

    def record(self, kind: str, object_id: str, member_id: str | None = None, removed: bool = False) -> None:
        self.seq += 1
        self.events.append(Event(self.seq, kind, object_id, member_id, removed))

    # -- reads --------------------------------------------------------------------------------

    def user(self, key: str) -> dict:
        key = key.lower()
        found = self.users.get(key) or next(
            (u for u in self.users.values() if u["userPrincipalName"].lower() == key), None)
        if found is None:
            raise GraphError(404, "Request_ResourceNotFound",
                                 f"Resource '{key}' does not exist or one of its queried reference-property "
                                 "objects are not present.")
        return found

    def group(self, gid: str) -> dict:
        found = self.groups.get(gid.lower())
        if found is None:
            raise GraphError(404, "Request_ResourceNotFound",
                                 f"Resource '{gid}' does not exist or one of its queried reference-property "
                                 "objects are not present.")
        return found

    def user_view(self, user: dict, select: str | None = None) -> dict:
        view = {"@odata.type": USER_TYPE, **{k: user.get(k) for k in USER_FIELDS if k in user}}
        return selected(view, select)

    def group_view(self, group: dict, select: str | None = None) -> dict:
        view = {"@odata.type": GROUP_TYPE, **{k: group.get(k) for k in GROUP_FIELDS if k in group}}
        return selected(view, select)

    def members(self, gid: str) -> list[dict]:
        group = self.group(gid)
        out = []
        for member in group["members"]:
            if member in self.users:
                out.append(self.user_view(self.users[member]))
            elif member in self.groups:
                out.append(self.group_view(self.groups[member]))
        return out

    # -- delta --------------------------------------------------------------------------------

    def delta(self, kind: str, options: dict, now: float, link_base: str) -> dict:
        """One page of `/{kind}/delta`. `options` are the OData options, lower-cased keys."""
        if "$skiptoken" in options:
            return self.next_page(options["$skiptoken"], link_base)
        token_text = options.get("$deltatoken")
        if token_text is not None and token_text.lower() != "latest" and token_text != "":
            token = self.token(token_text, now, link_base, kind)
            items = self.changes_since(token)
            query = DeltaToken(kind, token.ids, token.select, self.seq, now)
        else:
            ids = parse_id_filter(options.get("$filter"))
            query = DeltaToken(kind, ids, options.get("$select"), self.seq, now)
            items = [] if token_text and token_text.lower() == "latest" else self.current(query)
        return self.first_page(items, query, link_base)

    def token(self, text: str, now: float, link_base: str, kind: str) -> DeltaToken:
        token = self.tokens.get(text)
        if token is None or token.kind != kind:
            raise GraphError(400, "BadRequest", "The delta token is not valid for this query.")
        if token.expired is None and now - token.issued > self.token_lifetime:
            token.expired = (400, "syncStateNotFound")
        if token.expired:
            status, code = token.expired
            headers = [("Location", f"{link_base}?$deltatoken=")] if status == 410 else []
            message = ("The delta token is no longer valid." if code == "resyncRequired"
                       else "The delta token is expired and data must be synchronized again.")
            raise GraphError(status, code, message, headers)
        return token

    def expire_tokens(self, status: int, code: str) -> int:
        for token in self.tokens.values():
            token.expired = (status, code)
        return len(self.tokens)

    def in_filter(self, query: DeltaToken, object_id: str) -> bool:
        return query.ids is None or object_id in query.ids

    def current(self, query: DeltaToken) -> list[dict]:
        """The initial round: every object in the filter, groups with all their members."""
        if query.kind == "users":
            return [self.user_view(u, query.select) for uid, u in self.users.items() if self.in_filter(query, uid)]
        items = []
        for gid, group in self.groups.items():
            if self.in_filter(query, gid):
                members = [(m, False) for m in group["members"]]
                items.extend(self.group_items(group, members, query.select))
        return items

    def changes_since(self, token: DeltaToken) -> list[dict]:
        touched: dict[str, dict[str, bool]] = {}
        deleted: set[str] = set()
        for event in self.events:
            if event.seq <= token.seq or event.kind != token.kind or not self.in_filter(token, event.object_id):
                continue
            members = touched.setdefault(event.object_id, {})
            if event.member_id is not None:
                members[event.member_id] = event.removed
            elif event.removed:
                deleted.add(event.object_id)
        items = []
        for object_id, members in touched.items():
            if object_id in deleted:
                items.append({"id": object_id, "@removed": {"reason": "deleted"}})
            elif token.kind == "users":
                items.append(self.user_view(self.users[object_id], token.select))
            else:
                items.extend(self.group_items(self.groups[object_id], list(members.items()), token.select))
        return items

    def group_items(self, group: dict, members: list[tuple[str, bool]], select: str | None) -> list[dict]:
        """A group for a delta page; many member changes spread the group over several items
        (Graph pages a large group the same way: clients merge by id)."""
        base = self.group_view(group, select)
        base.pop("@odata.type", None)
        wants_members = select is None or "members" in [s.strip().lower() for s in select.split(",")]
        if not wants_members or not members:
            return [base]
        items = []
        for start in range(0, len(members), self.members_per_page):
            item = dict(base)
            item["members@delta"] = [self.member_delta(m, removed)
                                     for m, removed in members[start:start + self.members_per_page]]
            items.append(item)
        return items

    def member_delta(self, member: str, removed: bool) -> dict:
        kind = GROUP_TYPE if member in self.groups else USER_TYPE
        entry = {"@odata.type": kind, "id": member}
        if removed:
            entry["@removed"] = {"reason": "deleted"}
        return entry

    def first_page(self, items: list, query: DeltaToken, link_base: str) -> dict:
        final = uuid.uuid4().hex
        self.tokens[final] = query
        return self.page(items, final, link_base)

    def next_page(self, skiptoken: str, link_base: str) -> dict:
        if skiptoken not in self.pages:
            raise GraphError(400, "BadRequest", "Invalid $skiptoken: follow @odata.nextLink as given.")
        items, final = self.pages.pop(skiptoken)
        return self.page(items, final, link_base)

    def page(self, items: list, final: str, link_base: str) -> dict:
        body: dict[str, Any] = {"value": items[:self.delta_page_size]}
        rest = items[self.delta_page_size:]
        if rest:
            skip = uuid.uuid4().hex
            self.pages[skip] = (rest, final)
            body["@odata.nextLink"] = f"{link_base}?$skiptoken={skip}"
        else:
            body["@odata.deltaLink"] = f"{link_base}?$deltatoken={final}"
        return body

    def state(self) -> dict:
        return {
            "users": list(self.users.values()),
            "groups": list(self.groups.values()),
            "assignments": self.assignments,
            "changes_recorded": self.seq,
            "delta_tokens": len(self.tokens),
        }


def selected(view: dict, select: str | None) -> dict:
    """$select on a directory object: the named properties (case-insensitively) plus id."""
    if not select:
        return view
    names = {s.strip().lower() for s in select.split(",") if s.strip()} | {"id", "@odata.type"}
    return {k: v for k, v in view.items() if k.lower() in names}


def parse_id_filter(text: str | None) -> tuple[str, ...] | None:
    """`id eq '…' or id eq '…'`, the only $filter delta queries take (at most 50 ids)."""
    if text is None:
        return None
    ids, rest = [], text
    while True:
        m = ID_CLAUSE_RE.match(rest)
        if not m:
            raise GraphError(400, "Request_UnsupportedQuery",
                                 f"Unsupported query: delta supports only $filter=id eq '...' joined with or, "
                                 f"not '{text}'.")
        ids.append(m.group(1).replace("''", "'").lower())
        rest = rest[m.end():]
        if not rest.strip():
            break
        if not rest.lower().startswith("or "):
            raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported filter clause in '{text}'.")
        rest = rest[3:]
    if len(ids) > DELTA_FILTER_LIMIT:
        raise GraphError(400, "Request_UnsupportedQuery",
                             f"The filter has {len(ids)} ids; delta queries accept at most {DELTA_FILTER_LIMIT}.")
    return tuple(ids)
