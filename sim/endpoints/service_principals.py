"""Graph v1.0 service principals: list (with $filter), by object id, by appId; and the lookup
helpers other Graph families use (`find_service_principal`, `authorized_service_principal`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..common import READ_SP_ROLES, Response, same_id
from ..context import RequestContext
from ..graph import Caller, GraphError, denied, graph_json, graph_route, not_found, page, select
from ..routes import KeyRef
from ..world import ServicePrincipal

if TYPE_CHECKING:
    from ..simulator import Simulator


def visible_service_principals(sim: "Simulator", caller: Caller) -> list[ServicePrincipal]:
    return [sp for sp in sim.world.service_principals if same_id(sp.tenant_id, caller.tenant_id)]


def sp_key(param: "str | KeyRef", plain: str) -> tuple[str, str]:
    """("id" | "appId" | "idOrAppId", value) for a `{sp}` path parameter: `servicePrincipals(appId='…')`
    names the appId, a plain segment means `plain` ("id" for the SP itself; synchronization
    paths take either the object id or the appId)."""
    if isinstance(param, KeyRef):
        if param.prop.lower() != "appid":
            raise GraphError(404, "Request_ResourceNotFound",
                             f"Resource not found for the segment 'servicePrincipals({param.prop}=...)'.")
        return "appId", param.value
    return plain, param


def find_service_principal(sim: "Simulator", caller: Caller, key: tuple[str, str]) -> ServicePrincipal:
    kind, value = key
    for sp in visible_service_principals(sim, caller):
        by_id = kind in ("id", "idOrAppId") and same_id(sp.id, value)
        by_app_id = kind in ("appId", "idOrAppId") and same_id(sp.app_id, value)
        if by_id or by_app_id:
            return sp
    raise not_found(value)


def authorized_service_principal(sim: "Simulator", caller: Caller, key: tuple[str, str],
                                 roles: frozenset) -> ServicePrincipal:
    """Role check, lookup, then the ownership check OwnedBy needs: 403 before 404 before 403."""
    if not caller.may_try(roles):
        raise denied()
    sp = find_service_principal(sim, caller, key)
    if not caller.allowed(roles, sp):
        raise denied()
    return sp


@graph_route("GET", "/v1.0/servicePrincipals", ("$filter", "$select", "$top", "$skiptoken"))
def list_service_principals(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                            options: dict) -> Response:
    if not caller.may_try(READ_SP_ROLES):
        raise denied()
    # Microsoft: Application.ReadWrite.OwnedBy may list all service principals; ownership only
    # gates what the caller may do to them (the synchronization endpoints).
    found = visible_service_principals(sim, caller)
    if "$filter" in options:
        prop, value = parse_filter(options["$filter"])
        found = [sp for sp in found if filter_matches(sp, prop, value)]
    items = [select(sp.to_graph(), options) for sp in found]
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals"
    if "$select" in options:
        context += f"({options['$select'].replace(' ', '')})"
    return graph_json(page(sim, ctx, items, options, context))


@graph_route("GET", "/v1.0/servicePrincipals/{sp}", ("$select",))
def get_service_principal(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                          options: dict) -> Response:
    if not caller.may_try(READ_SP_ROLES):
        raise denied()
    sp = find_service_principal(sim, caller, sp_key(params["sp"], "id"))
    resource = {"@odata.context": f"{sim.base_url}/v1.0/$metadata#servicePrincipals/$entity"}
    resource.update(select(sp.to_graph(), options))
    return graph_json(resource)


FILTER_RE = re.compile(r"^\s*([A-Za-z]+)\s+([A-Za-z]+)\s+(.*)$", re.DOTALL)
FILTERABLE = {"displayname": "displayName", "appid": "appId", "id": "id"}


def parse_filter(text: str) -> tuple[str, str]:
    """`<property> eq '<OData string literal>'` for displayName, appId or id; nothing else."""
    m = FILTER_RE.match(text)
    if not m:
        raise GraphError(400, "BadRequest", f"Invalid filter clause: '{text}'.")
    prop, op, rest = m.groups()
    if prop.lower() not in FILTERABLE or op.lower() != "eq":
        raise GraphError(400, "Request_UnsupportedQuery",
                         f"Unsupported or invalid query filter clause specified for property '{prop}' of resource "
                         "'ServicePrincipal'. The simulator supports only displayName, appId or id with eq.")
    value, tail = odata_string_literal(rest)
    if tail.strip():
        if tail.split()[0].lower() in ("and", "or"):
            raise GraphError(400, "Request_UnsupportedQuery", "The simulator supports a single eq clause per $filter.")
        raise GraphError(400, "BadRequest",
                         f"Invalid filter clause: syntax error after the string literal, at '{tail.strip()}'.")
    return FILTERABLE[prop.lower()], value


def odata_string_literal(text: str) -> tuple[str, str]:
    """Reads 'it''s' -> it's; returns the value and what follows the closing quote."""
    text = text.lstrip()
    if not text.startswith("'"):
        raise GraphError(400, "BadRequest", f"Invalid filter clause: expected a quoted string literal, found '{text}'.")
    value, i = [], 1
    while i < len(text):
        if text[i] == "'":
            if text[i + 1:i + 2] == "'":
                value.append("'")
                i += 2
                continue
            return "".join(value), text[i + 1:]
        value.append(text[i])
        i += 1
    raise GraphError(400, "BadRequest", "Invalid filter clause: unterminated string literal.")


def filter_matches(sp: ServicePrincipal, prop: str, value: str) -> bool:
    # Graph compares strings with eq case-insensitively.
    actual = {"displayName": sp.display_name, "appId": sp.app_id, "id": sp.id}[prop]
    return actual.casefold() == value.casefold()
