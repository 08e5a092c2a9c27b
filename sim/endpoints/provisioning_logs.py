"""Graph v1.0 `GET /auditLogs/provisioning`: the provisioning log (provisioningObjectSummary), with
`$filter`, `$top`, `$skiptoken` and `$orderby=activityDateTime desc`, newest first.

`$filter`: comparisons joined by `and`: `<property> <eq|ne|gt|ge|lt|le> <literal>`. Properties:
id, jobId, cycleId, changeId, tenantId, activityDateTime, provisioningAction,
provisioningStatusInfo/status, servicePrincipal/id, servicePrincipal/displayName,
sourceIdentity/{id,displayName,identityType}, targetIdentity/{id,displayName,identityType}.
Strings are quoted OData literals (`'it''s'`), compared case-sensitively as Microsoft documents;
`microsoft.graph.provisioningResult'failure'` is accepted for the status. activityDateTime takes an
unquoted DateTimeOffset (`2026-11-28T09:00:00Z`); a quoted one is a 400, as on Graph. Anything else
(`or`, functions, other properties) is `400 Request_UnsupportedQuery`.

Scenario: `provisioning_log`: a list of entries in Microsoft's shape (any of its properties);
`minutes_ago` may stand for `activityDateTime`, and `status`, `error_code`, `reason`,
`recommended_action` for `provisioningStatusInfo`. Missing properties get realistic defaults, the
service principal from the job. A tenant with `"entra_premium": false` answers 403
`Authentication_RequestFromNonPremiumTenantOrB2CTenant`; a caller without AuditLog.Read.All
gets 403 `Authorization_RequestDenied`.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import scenario
from ..common import Response, iso, same_id
from ..context import RequestContext
from ..graph import Caller, GraphError, denied, graph_json, graph_route, page
from ..scenario import ScenarioError
from ..world import World
from .service_principals import odata_string_literal

if TYPE_CHECKING:
    from ..simulator import Simulator

LOG_ROLES = frozenset({"AuditLog.Read.All"})
scenario.register_fields("tenant", "entra_premium")

SHORTHANDS = ("minutes_ago", "status", "error_code", "reason", "recommended_action")
ENTRY_FIELDS = (
    "id", "activityDateTime", "tenantId", "jobId", "cycleId", "changeId", "provisioningAction",
    "durationInMilliseconds", "initiatedBy", "servicePrincipal", "sourceSystem", "targetSystem",
    "sourceIdentity", "targetIdentity", "provisioningStatusInfo", "provisioningSteps", "modifiedProperties",
)


def parse_log(raw: Any, world: World, now: float) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ScenarioError("provisioning_log must be a list of entries")
    return [entry(e, f"provisioning_log[{i}]", world, now) for i, e in enumerate(raw)]


def entry(raw: Any, where: str, world: World, now: float) -> dict:
    f = scenario.Fields(raw, where, ENTRY_FIELDS + SHORTHANDS)
    job_id = f.get("jobId", str)
    sp = next((sp for sp in world.service_principals if sp.find_job(job_id)), None)
    tenant = sp.tenant_id if sp else (world.tenants[0].id if world.tenants else "")
    minutes = f.get("minutes_ago", "number", 30)
    status = f.get("status", str, "failure")
    error = None if status != "failure" else {
        "errorCode": f.get("error_code", str, "SystemForCrossDomainIdentityManagementServiceIncompatible"),
        "reason": f.get("reason", str, "The SCIM endpoint refused the request."),
        "additionalDetails": None,
        "errorCategory": "NonServiceFailure",
        "recommendedAction": f.get("recommended_action", str, None),
    }
    result = {
        "id": str(uuid.uuid4()),
        "activityDateTime": iso(now - minutes * 60),
        "tenantId": tenant,
        "jobId": job_id,
        "cycleId": str(uuid.uuid4()),
        "changeId": str(uuid.uuid4()),
        "provisioningAction": "create",
        "durationInMilliseconds": 1200,
        "initiatedBy": {"id": "", "displayName": "Azure AD Provisioning Service", "initiatingType": "system"},
        "servicePrincipal": {"id": sp.id if sp else "", "displayName": sp.display_name if sp else ""},
        "sourceSystem": {"id": str(uuid.uuid4()), "displayName": "Azure Active Directory", "details": {}},
        "targetSystem": {"id": str(uuid.uuid4()), "displayName": "Amazon Web Services (AWS)", "details": {}},
        "sourceIdentity": {"id": str(uuid.uuid4()), "displayName": "Unnamed user", "identityType": "User",
                           "details": {}},
        "targetIdentity": {"id": "", "displayName": "", "identityType": "urn:ietf:params:scim:schemas:core:2.0:User",
                           "details": {}},
        "provisioningStatusInfo": {"status": status, "errorInformation": error},
        "provisioningSteps": [],
        "modifiedProperties": [],
    }
    for name in ENTRY_FIELDS:
        if f.has(name):
            result[name] = raw[name]
    return result


scenario.register_section("provisioning_log", parse_log, lambda entries: {"entries": len(entries)})

# -- $filter ---------------------------------------------------------------------------------------

PROPERTIES = {
    name.lower(): name for name in (
        "id", "jobId", "cycleId", "changeId", "tenantId", "activityDateTime", "provisioningAction",
        "provisioningStatusInfo/status", "servicePrincipal/id", "servicePrincipal/displayName",
        "sourceIdentity/id", "sourceIdentity/displayName", "sourceIdentity/identityType",
        "targetIdentity/id", "targetIdentity/displayName", "targetIdentity/identityType",
    )
}
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
CLAUSE_RE = re.compile(r"^\s*([A-Za-z/]+)\s+([A-Za-z]+)\s+", re.DOTALL)
DATETIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))")
ENUM_PREFIX = "microsoft.graph.provisioningResult"


def parse_time(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    if rest:  # Python takes at most 6 fractional digits
        digits = re.match(r"\d+", rest).group(0)
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return datetime.fromisoformat(text)


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    clauses, rest = [], text
    while True:
        m = CLAUSE_RE.match(rest)
        if not m:
            raise GraphError(400, "Request_UnsupportedQuery", f"Invalid or unsupported filter clause: '{rest.strip()}'.")
        prop, op = m.group(1), m.group(2).lower()
        if prop.lower() not in PROPERTIES or op not in OPERATORS:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported filter on '{prop}' with '{m.group(2)}' for provisioningObjectSummary.")
        prop, rest = PROPERTIES[prop.lower()], rest[m.end():]
        if prop == "activityDateTime":
            if rest.lstrip().startswith("'"):
                raise GraphError(400, "BadRequest", "A binary operator with incompatible types was detected. "
                                 "Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind "
                                 f"'{op}'.")
            dm = DATETIME_RE.match(rest.lstrip())
            if not dm:
                raise GraphError(400, "BadRequest", f"Invalid DateTimeOffset literal at '{rest.strip()}'.")
            value, rest = parse_time(dm.group(1)), rest.lstrip()[dm.end():]
        else:
            stripped = rest.lstrip()
            if stripped.startswith(ENUM_PREFIX):
                stripped = stripped[len(ENUM_PREFIX):]
            value, rest = odata_string_literal(stripped)
        clauses.append((prop, op, value))
        rest = rest.strip()
        if not rest:
            return clauses
        word, _, rest = rest.partition(" ")
        if word.lower() != "and":
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"The simulator joins filter clauses with 'and' only, found '{word}'.")


def value_of(item: dict, prop: str) -> Any:
    value: Any = item
    for part in prop.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def matches(item: dict, clauses: list[tuple[str, str, Any]]) -> bool:
    for prop, op, wanted in clauses:
        actual = value_of(item, prop)
        if prop == "activityDateTime":
            actual = parse_time(actual) if actual else None
        if actual is None:
            return False
        ok = {"eq": actual == wanted, "ne": actual != wanted, "gt": actual > wanted, "ge": actual >= wanted,
              "lt": actual < wanted, "le": actual <= wanted}[op]
        if not ok:
            return False
    return True


@graph_route("GET", "/v1.0/auditLogs/provisioning", ("$filter", "$top", "$skiptoken", "$orderby"))
def list_provisioning(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                      options: dict) -> Response:
    if not caller.roles & LOG_ROLES:
        raise denied()
    tenant = sim.world.find_tenant(caller.tenant_id.lower())
    if tenant is not None and tenant.ext.get("entra_premium", True) is False:
        raise GraphError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                         "Neither tenant is B2C or tenant doesn't have premium license")
    if options.get("$orderby", "activityDateTime desc").strip() != "activityDateTime desc":
        raise GraphError(400, "Request_UnsupportedQuery", "The simulator orders by 'activityDateTime desc' only.")
    entries = [e for e in sim.world.section("provisioning_log") or [] if same_id(e["tenantId"], caller.tenant_id)]
    if "$filter" in options:
        clauses = parse_filter(options["$filter"])
        entries = [e for e in entries if matches(e, clauses)]
    entries.sort(key=lambda e: parse_time(e["activityDateTime"]), reverse=True)
    context = f"{sim.base_url}/v1.0/$metadata#auditLogs/provisioning"
    return graph_json(page(sim, ctx, entries, options, context))
