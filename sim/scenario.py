"""Scenario: JSON in, validated World out. Strict, so a typo in a test fixture fails loudly.

Extension points for endpoint families (see README, "Adding an endpoint family"):
- `register_section(name, parse, view)`: a new top-level scenario key. `parse(raw, world, now)`
  runs after the core world is built (raw is None when the key is absent) and its result lands
  in `world.sections[name]`; `view(state)` adds it to `/_sim/state`.
- `register_fields(kind, *names)`: extra keys on a tenant, app, service principal or job
  ("tenant" | "app" | "service_principal" | "job" | "scenario"). Their raw values are kept in the
  object's `ext` dict for the family's section parser to validate and use.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from .common import (DEFAULT_JOB_SETTINGS, EXECUTION_COUNTS, EXECUTION_STATES, GUID_RE, JOB_STATUS_CODES,
                     SCHEDULE_STATES)
from .default_scenario import DEFAULT_SCENARIO
from .world import USE_ID, App, Job, Secret, ServicePrincipal, Tenant, World


class ScenarioError(ValueError):
    """The scenario (or a fault rule) is not usable; the message names the offending field."""


_REQUIRED = object()


def _is_kind(value: Any, kind: Any) -> bool:
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


class Fields:
    """One JSON object of the scenario. Unknown keys are errors, except `_comment`-style ones."""

    def __init__(self, obj: Any, where: str, allowed: tuple[str, ...]):
        if not isinstance(obj, dict):
            raise ScenarioError(f"{where} must be a JSON object")
        unknown = sorted(k for k in obj if k not in allowed and not k.startswith("_"))
        if unknown:
            raise ScenarioError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(allowed)})")
        self.obj, self.where = obj, where

    def has(self, key: str) -> bool:
        return key in self.obj

    def get(self, key: str, kind: Any, default: Any = _REQUIRED) -> Any:
        """The value of `key`; a null counts as absent when a default exists."""
        value = self.obj.get(key)
        if value is None:
            if default is _REQUIRED:
                raise ScenarioError(f"{self.where}.{key} is required")
            return copy.deepcopy(default)
        if not _is_kind(value, kind):
            name = kind if isinstance(kind, str) else kind.__name__
            raise ScenarioError(f"{self.where}.{key} must be of type {name}")
        return copy.deepcopy(value)

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _REQUIRED) -> Any:
        value = self.get(key, str, default)
        if value is not None and value not in choices:
            raise ScenarioError(f"{self.where}.{key} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def guid(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self.get(key, str, default)
        if value is not None and not GUID_RE.match(value):
            raise ScenarioError(f"{self.where}.{key} must be a GUID, not {value!r}")
        return value

    def strings(self, key: str) -> list[str]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) for v in values):
            raise ScenarioError(f"{self.where}.{key} must be a list of strings")
        return values

    def extension(self, kind: str) -> dict:
        """The raw values of the extension fields registered for `kind` that this object has."""
        return {k: copy.deepcopy(self.obj[k]) for k in EXTRA_FIELDS[kind] if k in self.obj}


# -- extension registries ------------------------------------------------------------------------

@dataclass
class Section:
    name: str
    parse: Callable[[Any, World, float], Any]
    view: Callable[[Any], Any] | None


SECTIONS: dict[str, Section] = {}
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "scenario": (), "tenant": (), "app": (), "service_principal": (), "job": (),
}


def register_section(name: str, parse: Callable[[Any, World, float], Any],
                     view: Callable[[Any], Any] | None = None) -> None:
    """A top-level scenario key owned by an endpoint family (see the module docstring)."""
    if name in SECTIONS or name in CORE_TOP_FIELDS:
        raise ValueError(f"scenario section {name!r} is already registered")
    SECTIONS[name] = Section(name, parse, view)


def register_fields(kind: str, *names: str) -> None:
    """Extra keys an endpoint family accepts on one kind of scenario object."""
    EXTRA_FIELDS[kind] = tuple(dict.fromkeys(EXTRA_FIELDS[kind] + names))


# -- the core world ------------------------------------------------------------------------------

CORE_TOP_FIELDS = ("graph_scope", "token_lifetime_seconds", "page_size", "tenants", "service_principals")


def build_world(raw: Any, now: float) -> World:
    top = Fields(raw, "scenario", CORE_TOP_FIELDS + tuple(SECTIONS) + EXTRA_FIELDS["scenario"])
    world = World(
        graph_scope=top.get("graph_scope", str, DEFAULT_SCENARIO["graph_scope"]),
        token_lifetime=top.get("token_lifetime_seconds", "number", 3599),
        page_size=top.get("page_size", int, 100),
        tenants=[parse_tenant(t, f"tenants[{i}]") for i, t in enumerate(top.get("tenants", list, []))],
        service_principals=[],
    )
    if world.token_lifetime <= 0 or world.page_size < 1:
        raise ScenarioError("scenario: token_lifetime_seconds must be > 0 and page_size >= 1")
    ensure_unique([t.id.lower() for t in world.tenants], "tenant id")
    # A single-tenant scenario may leave tenant_id off its service principals.
    default_tenant = world.tenants[0].id if len(world.tenants) == 1 else _REQUIRED
    for i, raw_sp in enumerate(top.get("service_principals", list, [])):
        sp = parse_service_principal(raw_sp, f"service_principals[{i}]", default_tenant, now)
        if world.find_tenant(sp.tenant_id) is None:
            raise ScenarioError(f"service_principals[{i}].tenant_id {sp.tenant_id!r} is not one of the tenants")
        world.service_principals.append(sp)
    ensure_unique([sp.id.lower() for sp in world.service_principals], "service principal id")
    world.ext = top.extension("scenario")
    for section in SECTIONS.values():
        world.sections[section.name] = section.parse(copy.deepcopy(raw.get(section.name)), world, now)
    return world


def ensure_unique(values: list[str], what: str) -> None:
    duplicates = sorted(v for v, n in Counter(values).items() if n > 1)
    if duplicates:
        raise ScenarioError(f"duplicate {what}: {', '.join(duplicates)}")


def parse_tenant(raw: Any, where: str) -> Tenant:
    f = Fields(raw, where, ("id", "display_name", "domains", "apps") + EXTRA_FIELDS["tenant"])
    domains = f.strings("domains")
    apps = [parse_app(a, f"{where}.apps[{j}]") for j, a in enumerate(f.get("apps", list, []))]
    ensure_unique([a.client_id.lower() for a in apps], f"client_id in {where}")
    default_name = domains[0].split(".")[0].capitalize() if domains else "Tenant"
    return Tenant(f.guid("id"), f.get("display_name", str, default_name), domains, apps, f.extension("tenant"))


APP_FIELDS = ("client_id", "display_name", "secrets", "disabled", "roles", "service_principal_id", "token_response")


def parse_app(raw: Any, where: str) -> App:
    f = Fields(raw, where, APP_FIELDS + EXTRA_FIELDS["app"])
    secrets = []
    for k, raw_secret in enumerate(f.get("secrets", list, [])):
        s = Fields(raw_secret, f"{where}.secrets[{k}]", ("value", "expired"))
        secrets.append(Secret(s.get("value", str), s.get("expired", bool, False)))
    return App(
        client_id=f.guid("client_id"),
        display_name=f.get("display_name", str, "entra-idc-sync"),
        secrets=secrets,
        disabled=f.get("disabled", bool, False),
        roles=f.strings("roles"),
        service_principal_id=f.guid("service_principal_id", None),
        token_response=f.get("token_response", dict, {}),
        ext=f.extension("app"),
    )


SP_FIELDS = ("id", "appId", "displayName", "tenant_id", "owners", "jobs",
             "accountEnabled", "appDisplayName", "servicePrincipalType", "tags", "graph_id")


def parse_service_principal(raw: Any, where: str, default_tenant: Any, now: float) -> ServicePrincipal:
    f = Fields(raw, where, SP_FIELDS + EXTRA_FIELDS["service_principal"])
    display_name = f.get("displayName", str)
    extra = {
        "accountEnabled": f.get("accountEnabled", bool, True),
        "appDisplayName": f.get("appDisplayName", str, display_name),
        "servicePrincipalType": f.get("servicePrincipalType", str, "Application"),
        "tags": f.strings("tags"),
    }
    jobs = [parse_job(j, f"{where}.jobs[{k}]", now) for k, j in enumerate(f.get("jobs", list, []))]
    ensure_unique([j.id.lower() for j in jobs], f"job id in {where}")
    return ServicePrincipal(
        id=f.guid("id"), app_id=f.guid("appId"), display_name=display_name,
        tenant_id=f.guid("tenant_id", default_tenant), owners=f.strings("owners"), jobs=jobs, extra=extra,
        ext=f.extension("service_principal"),
        graph_id=copy.deepcopy(raw["graph_id"]) if f.has("graph_id") else USE_ID,
    )


JOB_FIELDS = (
    "id", "templateId", "status_code", "schedule_state", "interval", "cycle_seconds", "cycle_outcome",
    "cycle_running", "last_execution", "last_successful_execution", "last_successful_execution_with_exports",
    "quarantine", "countSuccessiveCompleteFailures", "troubleshootingUrl", "steadyStateFirstAchievedTime",
    "steadyStateLastAchievedTime", "synchronizationJobSettings", "synchronizedEntryCountByType",
    "graph_id", "listed_times", "running_execution", "running_progress", "progress", "never_as",
)


def parse_job(raw: Any, where: str, now: float) -> Job:
    f = Fields(raw, where, JOB_FIELDS + EXTRA_FIELDS["job"])
    job_id = f.get("id", str)
    quarantine = f.get("quarantine", dict, None)
    last = f.get("last_execution", dict, None)
    # Unless told otherwise, a successful last run is also the last successful one.
    last_ok = f.get("last_successful_execution", dict, None) if f.has("last_successful_execution") else (
        copy.deepcopy(last) if last and last.get("state") == "Succeeded" else None)
    job = Job(
        id=job_id,
        template_id=f.get("templateId", str, job_id.split(".")[0]),
        status_code=f.choice("status_code", JOB_STATUS_CODES, "Quarantine" if quarantine else "Active"),
        schedule_state=f.choice("schedule_state", SCHEDULE_STATES, "Active"),
        interval=f.get("interval", str, "PT40M"),
        cycle_seconds=f.get("cycle_seconds", "number", 1.0),
        cycle_outcome=parse_outcome(f.get("cycle_outcome", dict, {"state": "Succeeded"}), f"{where}.cycle_outcome"),
        last_execution=last,
        last_successful_execution=last_ok,
        last_successful_execution_with_exports=f.get("last_successful_execution_with_exports", dict, None),
        quarantine=quarantine,
        successive_failures=f.get("countSuccessiveCompleteFailures", int, 0),
        troubleshooting_url=f.get("troubleshootingUrl", str, None),
        steady_first=f.get("steadyStateFirstAchievedTime", str, None),
        steady_last=f.get("steadyStateLastAchievedTime", str, None),
        settings=f.get("synchronizationJobSettings", list, DEFAULT_JOB_SETTINGS),
        entry_counts=f.get("synchronizedEntryCountByType", list, []),
        ext=f.extension("job"),
        graph_id=copy.deepcopy(raw["graph_id"]) if f.has("graph_id") else USE_ID,
        listed_times=f.get("listed_times", int, 1),
        running_execution=parse_running_execution(f),
        running_progress=parse_running_progress(f),
        progress=f.get("progress", list, []),
        never_as=f.choice("never_as", ("null", "placeholder", "empty"), "null"),
    )
    if job.listed_times < 1:
        raise ScenarioError(f"{where}.listed_times must be >= 1")
    if f.get("cycle_running", bool, False):
        job.begin_cycle(now)  # models "a cycle was already in flight when the Lambda arrived"
    return job


def parse_running_execution(f: Fields) -> Any:
    value = f.obj.get("running_execution")
    if value is None or isinstance(value, dict) or value in ("placeholder", "previous"):
        return copy.deepcopy(value)
    raise ScenarioError(f'{f.where}.running_execution must be null, "placeholder", "previous" or an object')


def parse_running_progress(f: Fields) -> Any:
    value = f.obj.get("running_progress", False)
    if isinstance(value, bool) or (isinstance(value, list) and all(isinstance(p, dict) for p in value)):
        return copy.deepcopy(value)
    raise ScenarioError(f"{f.where}.running_progress must be true, false or a list of objects")


def parse_outcome(raw: dict, where: str) -> dict:
    f = Fields(raw, where, ("state", "error", "quarantine", *EXECUTION_COUNTS))
    outcome = {"state": f.choice("state", EXECUTION_STATES, "Succeeded"), "error": f.get("error", dict, None)}
    for name in EXECUTION_COUNTS:
        if f.has(name):
            outcome[name] = f.get(name, int, 0)
    if f.has("quarantine"):
        outcome["quarantine"] = f.get("quarantine", dict, None)
    return outcome


def default_scenario() -> dict:
    return copy.deepcopy(DEFAULT_SCENARIO)
