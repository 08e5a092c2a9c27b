"""Graph v1.0 provision on demand: `GET …/jobs/{jobId}/schema` and
`POST …/jobs/{jobId}/provisionOnDemand` (sim/on_demand_state.py holds the logic: the documented
answer shape, the 5-per-10-s limit, RedundantExport, configured failures). Settings come from
the scenario's `provisioning` section or `POST /_sim/provisioning`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import control, scenario
from ..common import READ_JOB_ROLES, WRITE_JOB_ROLES, Response, json_response
from ..context import RequestContext
from ..graph import Caller, GraphError, graph_json, graph_route
from ..on_demand_state import Provisioning, aws_schema
from .directory import directory
from .service_principals import authorized_service_principal, sp_key
from .sync_jobs import find_job

if TYPE_CHECKING:
    from ..simulator import Simulator

SECTION = "provisioning"
JOB = "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}"


def provisioning(sim: "Simulator") -> Provisioning:
    return sim.world.section(SECTION)


def parse(raw: Any, world, now: float) -> Provisioning:
    settings = Provisioning()
    if raw is not None:
        try:
            settings.configure(raw)
        except (ValueError, TypeError) as e:
            raise scenario.ScenarioError(f"provisioning: {e}") from e
    return settings


scenario.register_section(SECTION, parse, lambda p: p.state())


@graph_route("GET", JOB + "/schema", ("$select",))
def get_schema(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "idOrAppId"), READ_JOB_ROLES)
    job = find_job(sp, params["job"], ctx.now)
    context = (f"{sim.base_url}/v1.0/$metadata#servicePrincipals('{sp.id}')/synchronization/jobs('{job.id}')"
               "/schema/$entity")
    return graph_json({"@odata.context": context, **aws_schema(job.id, provisioning(sim).schema_rules)})


@graph_route("POST", JOB + "/provisionOnDemand")
def provision_on_demand(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                        options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "idOrAppId"), WRITE_JOB_ROLES)
    job = find_job(sp, params["job"], ctx.now)
    if not (ctx.headers.get("Content-Type") or "").lower().startswith("application/json"):
        raise GraphError(415, "UnsupportedMediaType", "Content-Type must be application/json.")
    answer = provisioning(sim).provision(directory(sim), sp.id.lower(), job.id, ctx.json_body, ctx.now)
    return graph_json(answer)


def configure(sim: "Simulator", body: bytes) -> Response:
    try:
        raw = json.loads(body or b"{}")
        with sim.lock:
            provisioning(sim).configure(raw)
            return json_response(200, {"ok": True, **provisioning(sim).state()})
    except (ValueError, TypeError) as e:
        return json_response(400, {"error": f"invalid provisioning settings: {e}"})


control.register("GET", "/_sim/provisioning", lambda sim, _: control.locked_json(sim, lambda: provisioning(sim).state()))
control.register("POST", "/_sim/provisioning", configure)
