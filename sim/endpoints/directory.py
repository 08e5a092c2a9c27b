"""Graph v1.0 directory reads for provisioning: users, groups (with `$filter=displayName eq`),
group members, an enterprise app's `appRoleAssignedTo`, and `users/delta` / `groups/delta`
with id filters, `$deltatoken=latest` and expiring tokens. State: the scenario's `directory`
section (sim/directory_state.py); tests change it through `/_sim/directory/...`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .. import control, scenario
from ..common import Response, json_response
from ..context import RequestContext
from ..directory_state import (READ_ASSIGNMENT_ROLES, READ_GROUP_ROLES, READ_USER_ROLES, ControlError, Directory,
                               require_roles)
from ..graph import Caller, GraphError, graph_json, graph_route, page
from .service_principals import authorized_service_principal, odata_string_literal, sp_key

if TYPE_CHECKING:
    from ..simulator import Simulator

SECTION = "directory"
DELTA_OPTIONS = ("$filter", "$select", "$deltatoken", "$skiptoken")


def directory(sim: "Simulator") -> Directory:
    return sim.world.section(SECTION)


def parse(raw: Any, world, now: float) -> Directory:
    default_sp = world.service_principals[0].id if world.service_principals else None
    try:
        return Directory.parse(raw, default_sp)
    except (ControlError, TypeError, ValueError, KeyError) as e:
        raise scenario.ScenarioError(f"directory: {e}") from e


scenario.register_section(SECTION, parse, lambda d: d.state())


def entity(sim: "Simulator", kind: str, resource: dict) -> Response:
    return graph_json({"@odata.context": f"{sim.base_url}/v1.0/$metadata#{kind}/$entity", **resource})


# -- users and groups ------------------------------------------------------------------------

@graph_route("GET", "/v1.0/users/{user}", ("$select",))
def get_user(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    require_roles(caller.roles, READ_USER_ROLES)
    d = directory(sim)
    view = d.user_view(d.user(params["user"]), options.get("$select"))
    view.pop("@odata.type", None)
    return entity(sim, "users", view)


@graph_route("GET", "/v1.0/groups/{group}", ("$select",))
def get_group(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    require_roles(caller.roles, READ_GROUP_ROLES)
    d = directory(sim)
    view = d.group_view(d.group(params["group"]), options.get("$select"))
    view.pop("@odata.type", None)
    return entity(sim, "groups", view)


@graph_route("GET", "/v1.0/groups", ("$filter", "$select", "$top", "$skiptoken"))
def list_groups(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    require_roles(caller.roles, READ_GROUP_ROLES)
    d = directory(sim)
    groups = list(d.groups.values())
    if "$filter" in options:
        name = display_name_filter(options["$filter"])
        groups = [g for g in groups if g["displayName"].casefold() == name.casefold()]
    items = []
    for group in groups:
        view = d.group_view(group, options.get("$select"))
        view.pop("@odata.type", None)
        items.append(view)
    return graph_json(page(sim, ctx, items, options, f"{sim.base_url}/v1.0/$metadata#groups"))


def display_name_filter(text: str) -> str:
    head, _, rest = text.strip().partition(" ")
    operator, _, literal = rest.strip().partition(" ")
    if head.lower() != "displayname" or operator.lower() != "eq":
        raise GraphError(400, "Request_UnsupportedQuery",
                         f"Unsupported filter '{text}': the simulator filters groups by displayName eq only.")
    value, tail = odata_string_literal(literal)
    if tail.strip():
        raise GraphError(400, "BadRequest", f"Invalid filter clause: syntax error at '{tail.strip()}'.")
    return value


@graph_route("GET", "/v1.0/groups/{group}/members", ("$select", "$top", "$skiptoken"))
def list_members(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    require_roles(caller.roles, READ_GROUP_ROLES)
    d = directory(sim)
    items = [d.user_view(m, options.get("$select")) if m["@odata.type"].endswith("user")
             else d.group_view(m, options.get("$select")) for m in d.members(params["group"])]
    return graph_json(page(sim, ctx, items, options, f"{sim.base_url}/v1.0/$metadata#directoryObjects"))


@graph_route("GET", "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo", ("$select", "$top", "$skiptoken"))
def app_role_assigned_to(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                         options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "id"), READ_ASSIGNMENT_ROLES)
    items = list(directory(sim).assignments.get(sp.id.lower(), []))
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals('{sp.id}')/appRoleAssignedTo"
    return graph_json(page(sim, ctx, items, options, context))


# -- delta ------------------------------------------------------------------------------------

@graph_route("GET", "/v1.0/groups/delta", DELTA_OPTIONS)
def groups_delta(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    require_roles(caller.roles, READ_GROUP_ROLES)
    return delta(sim, ctx, "groups", options)


@graph_route("GET", "/v1.0/users/delta", DELTA_OPTIONS)
def users_delta(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    require_roles(caller.roles, READ_USER_ROLES)
    return delta(sim, ctx, "users", options)


def delta(sim: "Simulator", ctx: RequestContext, kind: str, options: dict) -> Response:
    link_base = f"{sim.base_url}/v1.0/{kind}/delta"
    body = directory(sim).delta(kind, options, ctx.now, link_base)
    return graph_json({"@odata.context": f"{sim.base_url}/v1.0/$metadata#{kind}", **body})


# -- controls ---------------------------------------------------------------------------------

def change(sim: "Simulator", body: bytes, apply) -> Response:
    try:
        raw = json.loads(body or b"{}")
        with sim.lock:
            d = directory(sim)
            result = apply(d, raw, sim)
            return json_response(200, {"ok": True, **(result or {})})
    except (ValueError, ControlError, TypeError, KeyError, AttributeError) as e:
        return json_response(400, {"error": f"invalid directory change: {e}"})


def put_users(d: Directory, raw: Any, sim) -> dict:
    users = raw.get("users", [raw]) if isinstance(raw, dict) else raw
    return {"ids": [d.put_user(user)["id"] for user in users]}


def put_groups(d: Directory, raw: Any, sim) -> dict:
    groups = raw.get("groups", [raw]) if isinstance(raw, dict) else raw
    return {"ids": [d.put_group(group)["id"] for group in groups]}


def members(d: Directory, raw: dict, sim) -> None:
    d.change_members(raw["group"], raw.get("add", []), raw.get("remove", []))


def delete_user(d: Directory, raw: dict, sim) -> None:
    d.delete_user(raw["id"])


def assignments(d: Directory, raw: dict, sim) -> dict:
    default_sp = raw.get("service_principal_id") or sim.world.service_principals[0].id
    added = [d.assign(a, default_sp, time.time()) for a in raw.get("add", [])]
    for principal in raw.get("remove", []):
        d.unassign(default_sp, principal)
    return {"added": [a["principalId"] for a in added]}


def expire(d: Directory, raw: dict, sim) -> dict:
    status = int(raw.get("status", 400))
    code = raw.get("code") or ("resyncRequired" if status == 410 else "syncStateNotFound")
    return {"expired": d.expire_tokens(status, code)}


control.register("GET", "/_sim/directory", lambda sim, _: control.locked_json(sim, lambda: directory(sim).state()))
control.register("POST", "/_sim/directory/users", lambda sim, body: change(sim, body, put_users))
control.register("POST", "/_sim/directory/delete-user", lambda sim, body: change(sim, body, delete_user))
control.register("POST", "/_sim/directory/groups", lambda sim, body: change(sim, body, put_groups))
control.register("POST", "/_sim/directory/members", lambda sim, body: change(sim, body, members))
control.register("POST", "/_sim/directory/assignments", lambda sim, body: change(sim, body, assignments))
control.register("POST", "/_sim/directory/expire-delta-tokens", lambda sim, body: change(sim, body, expire))
