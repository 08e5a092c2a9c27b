"""The control plane under /_sim/ (no auth, never logged, no latency, no faults).

Extension point: `register(method, path, handler)` adds a control, `handler(sim, body: bytes)
-> Response`; it runs without the state lock, so take `sim.lock` around state it touches
(`locked_json` does that for a view). Sections registered with a `view` appear in /_sim/state.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Callable

from . import scenario as scenario_module
from .common import Response, iso, json_response, sha256_hex
from .faults import FaultRule
from .scenario import Fields, ScenarioError, default_scenario
from .world import Tenant

if TYPE_CHECKING:
    from .simulator import Simulator

Control = Callable[["Simulator", bytes], Response]
CONTROLS: dict[tuple[str, str], Control] = {}


def register(method: str, path: str, handler: Control) -> None:
    key = (method.upper(), path.rstrip("/"))
    if key in CONTROLS:
        raise ValueError(f"control {method} {path} is already registered")
    CONTROLS[key] = handler


def handle(sim: "Simulator", method: str, path: str, body: bytes) -> Response:
    handler = CONTROLS.get((method, path.rstrip("/")))
    if handler:
        return handler(sim, body)
    allowed = [m for (m, p) in CONTROLS if p == path.rstrip("/")]
    if allowed:
        return json_response(405, {"error": f"{method} not allowed on {path}; use {', '.join(allowed)}"})
    known = sorted({f"{m} {p}" for (m, p) in CONTROLS})
    return json_response(404, {"error": f"unknown control path {path}", "known": known})


def locked_json(sim: "Simulator", view: Callable[[], dict]) -> Response:
    with sim.lock:
        return json_response(200, view())


# -- the core controls -------------------------------------------------------------------------

def load_scenario(sim: "Simulator", body: bytes) -> Response:
    try:
        raw = json.loads(body) if body.strip() else default_scenario()
        with sim.lock:
            sim.load(raw)
            return json_response(200, {"ok": True, "tenants": len(sim.world.tenants),
                                       "service_principals": len(sim.world.service_principals),
                                       "jobs": sum(1 for _ in sim.world.jobs())})
    except (ValueError, ScenarioError) as e:  # json.JSONDecodeError is a ValueError
        return json_response(400, {"error": f"invalid scenario: {e}"})


def add_faults(sim: "Simulator", body: bytes) -> Response:
    try:
        payload = Fields(json.loads(body or b"{}"), "body", ("faults",))
        rules = [FaultRule.parse(r, f"faults[{i}]") for i, r in enumerate(payload.get("faults", list))]
    except (ValueError, ScenarioError) as e:
        return json_response(400, {"error": f"invalid fault rules: {e}"})
    with sim.lock:
        first = len(sim.faults)
        sim.faults.extend(rules)
        return json_response(200, {"ok": True, "indexes": list(range(first, len(sim.faults)))})


def fault_list(sim: "Simulator") -> dict:
    return {"faults": [rule.to_json(i) for i, rule in enumerate(sim.faults)]}


def clear_faults(sim: "Simulator") -> dict:
    sim.faults = []
    return {"ok": True}


def clear_requests(sim: "Simulator") -> dict:
    sim.requests = []
    return {"ok": True}


def expire_tokens(sim: "Simulator") -> dict:
    for issued in sim.tokens.values():
        issued.expired = True
    return {"ok": True, "expired": len(sim.tokens)}


def state(sim: "Simulator") -> dict:
    now = time.time()
    for job in sim.world.jobs():
        job.settle(now)
    view = {
        "time": iso(now),
        "graph_scope": sim.world.graph_scope,
        "token_lifetime_seconds": sim.world.token_lifetime,
        "page_size": sim.world.page_size,
        "tenants": [tenant_state(t) for t in sim.world.tenants],
        "service_principals": [
            {"id": sp.id, "appId": sp.app_id, "displayName": sp.display_name, "tenant_id": sp.tenant_id,
             "owners": sp.owners, "jobs": [job.to_state() for job in sp.jobs]}
            for sp in sim.world.service_principals
        ],
        "tokens_issued": len(sim.tokens),
        **fault_list(sim),
        "requests_logged": len(sim.requests),
    }
    for section in scenario_module.SECTIONS.values():
        if section.view is not None:
            view[section.name] = section.view(sim.world.sections.get(section.name))
    return view


def tenant_state(tenant: Tenant) -> dict:
    # Secrets are shown as digests: /_sim/state is as log-safe as /_sim/requests.
    return {"id": tenant.id, "display_name": tenant.display_name, "domains": tenant.domains, "apps": [
        {"client_id": a.client_id, "display_name": a.display_name, "disabled": a.disabled, "roles": a.roles,
         "service_principal_id": a.service_principal_id,
         "secrets": [{"sha256": sha256_hex(s.value), "expired": s.expired} for s in a.secrets]}
        for a in tenant.apps]}


register("GET", "/_sim/health", lambda sim, _: json_response(200, {"ok": True}))
register("POST", "/_sim/scenario", load_scenario)
register("GET", "/_sim/state", lambda sim, _: locked_json(sim, lambda: state(sim)))
register("GET", "/_sim/faults", lambda sim, _: locked_json(sim, lambda: fault_list(sim)))
register("POST", "/_sim/faults", add_faults)
register("DELETE", "/_sim/faults", lambda sim, _: locked_json(sim, lambda: clear_faults(sim)))
register("POST", "/_sim/expire-tokens", lambda sim, _: locked_json(sim, lambda: expire_tokens(sim)))
register("GET", "/_sim/requests", lambda sim, _: locked_json(sim, lambda: {"requests": list(sim.requests)}))
register("DELETE", "/_sim/requests", lambda sim, _: locked_json(sim, lambda: clear_requests(sim)))
