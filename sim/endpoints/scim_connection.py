"""Graph v1.0 `POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/validateCredentials`:
Entra's "Test connection" against the target's SCIM endpoint.

Body: `{"useSavedCredentials": true}` (the saved AWS token), or `{"useSavedCredentials": false,
"credentials": [{"key": "BaseAddress", "value": …}, {"key": "SecretToken", "value": …}]}`.
`204` when the target accepts the token. When it does not (an expired or revoked AWS SCIM token,
a wrong tenant URL), `400` with Graph's error shape and code `CredentialValidationUnavailable`.

Scenario, on a job: `scim_token` = `"valid"` (default) | `"expired"` | `"invalid"`. The job's
credential test is recorded in `/_sim/state` (jobs[].credential_tests).
Permissions as for start/restart: Synchronization.ReadWrite.All, or Application.ReadWrite.OwnedBy
as an owner; otherwise 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import scenario
from ..common import WRITE_JOB_ROLES, Response
from ..context import RequestContext
from ..graph import Caller, GraphError, graph_route
from ..scenario import ScenarioError
from ..world import World
from .service_principals import authorized_service_principal, sp_key
from .sync_jobs import JOBS, find_job

if TYPE_CHECKING:
    from ..simulator import Simulator

TOKEN_STATES = ("valid", "expired", "invalid")

scenario.register_fields("job", "scim_token")


def parse_scim_tokens(raw: object, world: World, now: float) -> dict:
    """job id (lowercase) -> {"token": state, "tests": [...]}"""
    states = {}
    for s, sp in enumerate(world.service_principals):
        for j, job in enumerate(sp.jobs):
            state = job.ext.get("scim_token", "valid")
            if state not in TOKEN_STATES:
                raise ScenarioError(f"service_principals[{s}].jobs[{j}].scim_token must be one of "
                                    f"{', '.join(TOKEN_STATES)}, not {state!r}")
            states[job.id.lower()] = {"token": state, "tests": []}
    return states


def state_view(states: dict) -> dict:
    return {job: dict(state) for job, state in states.items()}


scenario.register_section("scim_tokens", parse_scim_tokens, state_view)

REFUSALS = {
    "expired": "The SCIM endpoint refused the saved credentials: HTTP 401 Unauthorized. "
               "The secret token is expired or has been revoked.",
    "invalid": "The SCIM endpoint refused the saved credentials: HTTP 401 Unauthorized. "
               "The secret token is not valid for this tenant URL.",
}


def read_body(ctx: RequestContext) -> bool:
    body = ctx.json_body if ctx.body.strip() else None
    if not isinstance(body, dict) or not isinstance(body.get("useSavedCredentials", False), bool):
        raise GraphError(400, "BadRequest",
                         'The request body must be {"useSavedCredentials": true} or carry "credentials".')
    unknown = [k for k in body if k not in ("useSavedCredentials", "credentials", "templateId", "applicationIdentifier")]
    if unknown:
        raise GraphError(400, "BadRequest", f"The property '{unknown[0]}' does not exist on type "
                         "'microsoft.graph.validateCredentials'.")
    saved = body.get("useSavedCredentials", False)
    if not saved and not body.get("credentials"):
        raise GraphError(400, "RequestMissingRequiredParameter",
                         "credentials are required when useSavedCredentials is false.")
    return saved


@graph_route("POST", JOBS + "/{job}/validateCredentials", log_body=False)
def validate_credentials(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                         options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, sp_key(params["sp"], "idOrAppId"), WRITE_JOB_ROLES)
    job = find_job(sp, params["job"], ctx.now)
    saved = read_body(ctx)
    state = (sim.world.section("scim_tokens") or {}).setdefault(job.id.lower(), {"token": "valid", "tests": []})
    # Given credentials are not checked against AWS: only the saved token's state is modelled.
    token = state["token"] if saved else "valid"
    state["tests"].append({"saved": saved, "result": token})
    if token != "valid":
        raise GraphError(400, "CredentialValidationUnavailable", REFUSALS[token])
    return Response(204)
