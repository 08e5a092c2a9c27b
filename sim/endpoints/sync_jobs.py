"""Graph v1.0 synchronization jobs of a service principal: list, get, start, restart, pause.
The job state machine itself lives in sim/world.py (Job)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..common import JOB_ACTIONS, READ_JOB_ROLES, RESET_SCOPES, WRITE_JOB_ROLES, Response
from ..context import RequestContext
from ..graph import Caller, GraphError, graph_json, graph_route, not_found, page, select
from ..world import Job, ServicePrincipal
from .service_principals import authorized_service_principal, sp_key

if TYPE_CHECKING:
    from ..simulator import Simulator

JOBS = "/v1.0/servicePrincipals/{sp}/synchronization/jobs"


def find_job(sp: ServicePrincipal, job_id: str, now: float) -> Job:
    job = sp.find_job(job_id)
    if job is None:
        raise not_found(job_id)
    job.settle(now)
    return job


@graph_route("GET", JOBS, ("$select", "$top", "$skiptoken"))
def list_jobs(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "idOrAppId"), READ_JOB_ROLES)
    listed = [job for job in sp.jobs for _ in range(job.listed_times)]
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals('{sp.id}')/synchronization/jobs"

    def render(job: Job) -> dict:
        job.settle(ctx.now)
        return select(job.to_graph(ctx.now), options)
    return graph_json(page(sim, ctx, listed, options, context, render))


@graph_route("GET", JOBS + "/{job}", ("$select",))
def get_job(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "idOrAppId"), READ_JOB_ROLES)
    job = find_job(sp, params["job"], ctx.now)
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals('{sp.id}')/synchronization/jobs/$entity"
    resource = {"@odata.context": context}
    resource.update(select(job.to_graph(ctx.now), options))
    return graph_json(resource)


@graph_route("POST", JOBS + "/{job}/{action:" + "|".join(JOB_ACTIONS) + "}")
def job_action(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict, options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "idOrAppId"), WRITE_JOB_ROLES)
    job = find_job(sp, params["job"], ctx.now)
    action = params["action"]
    if action == "pause":
        job.pause(ctx.now)
    elif action == "start":
        job.trigger("start", None, None, ctx.now)
    else:
        criteria, scope = restart_criteria(ctx)
        job.trigger("restart", criteria, scope, ctx.now)
    return Response(204)


def restart_criteria(ctx: RequestContext) -> tuple[dict | None, list[str] | None]:
    """The optional `{"criteria":{"resetScope":"A,B"}}` body, validated like Graph's enum flags.
    No criteria at all (no body, `{}`, a null or empty criteria, an empty resetScope) is a plain
    restart, which Microsoft documents as also clearing quarantine: (None, None)."""
    if not ctx.body.strip():
        return None, None
    body = ctx.json_body
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest",
                         'The request body is not valid JSON: expected {"criteria":{"resetScope":"..."}}.')
    extra = [k for k in body if k != "criteria"]
    if extra:
        raise GraphError(400, "BadRequest",
                         f"The property '{extra[0]}' does not exist on type 'microsoft.graph.restart' "
                         "(it takes criteria.resetScope).")
    criteria = body.get("criteria")
    if criteria is None or criteria == {}:
        return None, None
    if not isinstance(criteria, dict):
        raise GraphError(400, "BadRequest", "criteria must be an object with a resetScope string.")
    extra = [k for k in criteria if k != "resetScope"]
    if extra:
        raise GraphError(400, "BadRequest", f"The property '{extra[0]}' does not exist on type "
                         "'microsoft.graph.synchronizationJobRestartCriteria' (it has resetScope).")
    if not isinstance(criteria.get("resetScope"), str):
        raise GraphError(400, "BadRequest", "criteria.resetScope must be a string of comma-separated values.")
    if not criteria["resetScope"].strip():
        return None, None
    scope = [part.strip() for part in criteria["resetScope"].split(",")]
    for part in scope:
        if part not in RESET_SCOPES:
            raise GraphError(400, "BadRequest",
                             f"Requested value '{part}' was not found in synchronizationJobRestartScope "
                             f"(allowed: {', '.join(RESET_SCOPES)}).")
    return criteria, scope
