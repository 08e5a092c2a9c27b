"""The world a scenario describes: tenants, apps, service principals and their jobs, plus the
job state machine that start/restart/pause drive.

Endpoint families that need more than this keep their state in `World.sections` (see
scenario.register_section) and may accept extra keys on tenants, apps, service principals and
jobs (scenario.register_fields); those raw values wait for them in each object's `ext`.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from .common import EXECUTION_COUNTS, iso, new_id, same_id

NEVER = "0001-01-01T00:00:00Z"  # Graph's "never", in every documented job example
USE_ID = object()               # graph_id default: show the scenario id
# Microsoft's example of a job in its first cycle (Entra docs, cross-tenant synchronization,
# "Monitor provisioning"): a lastExecution that is no execution at all.
PLACEHOLDER_EXECUTION = {
    "activityIdentifier": None,
    **{name: 0 for name in EXECUTION_COUNTS},
    "error": {"code": "None", "message": "", "tenantActionable": False},
    "state": "Failed", "timeBegan": NEVER, "timeEnded": NEVER,
}


def is_never(value: Any) -> bool:
    return value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01"))


@dataclass
class Secret:
    value: str
    expired: bool


@dataclass
class App:
    client_id: str
    display_name: str
    secrets: list[Secret]
    disabled: bool
    roles: list[str]
    service_principal_id: str | None
    token_response: dict = field(default_factory=dict)  # overrides of the token endpoint's success JSON
    ext: dict = field(default_factory=dict)  # extension fields, raw (scenario.register_fields)


@dataclass
class Tenant:
    id: str
    display_name: str
    domains: list[str]
    apps: list[App]
    ext: dict = field(default_factory=dict)

    def find_app(self, client_id: str) -> App | None:
        return next((a for a in self.apps if same_id(a.client_id, client_id)), None)


@dataclass
class Trigger:
    """One start/restart as the job received it: what tests assert on."""

    action: str
    criteria: dict | None
    reset_scope: list[str] | None
    time: str
    while_running: bool
    status_before: str

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Job:
    """A synchronizationJob plus the state machine that start/restart/pause drive.

    A triggered cycle is finished lazily: every read calls `settle(now)`, which completes the
    cycle once `cycle_seconds` have passed. No background threads, so the clock is the only
    moving part and tests stay deterministic enough.
    """

    id: str
    template_id: str
    status_code: str
    schedule_state: str
    interval: str
    cycle_seconds: float
    cycle_outcome: dict
    last_execution: dict | None
    last_successful_execution: dict | None
    last_successful_execution_with_exports: dict | None
    quarantine: dict | None
    successive_failures: int
    troubleshooting_url: str | None
    steady_first: str | None
    steady_last: str | None
    settings: list
    entry_counts: list
    cycle_began: float | None = None  # epoch seconds of the cycle in flight, if any
    triggers: list[Trigger] = field(default_factory=list)
    pause_count: int = 0
    ext: dict = field(default_factory=dict)
    # Microsoft's shapes and hostile data (issue 13; README "Controls for hostile and
    # Microsoft-shaped answers"). Defaults keep the simple shapes.
    graph_id: Any = USE_ID             # the `id` Graph shows; any JSON value
    listed_times: int = 1              # how often the job appears in the jobs list
    running_execution: Any = None      # None | "placeholder" | "previous" | dict overlay
    running_progress: Any = False      # False | True | list of synchronizationProgress templates
    progress: list = field(default_factory=list)  # status.progress while no cycle runs
    never_as: str = "null"             # how unset steadyState times render: null | placeholder | empty
    current: dict | None = None        # the execution in flight (what lastExecution becomes at its end)

    # -- transitions --------------------------------------------------------------------------

    def trigger(self, action: str, criteria: dict | None, reset_scope: list[str] | None, now: float) -> None:
        """start or restart: a cycle begins now (replacing one in flight, as a real restart does)."""
        self.settle(now)
        running = self.cycle_began is not None
        self.triggers.append(Trigger(action, criteria, reset_scope, iso(now), running, self.status_code))
        lifts_quarantine = (action == "start" or reset_scope is None
                            or bool({"QuarantineState", "Full"} & set(reset_scope)))
        if lifts_quarantine:
            self.quarantine = None
        self.status_code = "Quarantine" if self.quarantine else "Active"
        self.schedule_state = "Active"
        self.begin_cycle(now)

    def pause(self, now: float) -> None:
        # A cycle already in flight still finishes its bookkeeping; only the schedule stops.
        self.settle(now)
        self.pause_count += 1
        self.status_code = "Paused"
        self.schedule_state = "Paused"

    def begin_cycle(self, now: float) -> None:
        self.cycle_began = now
        self.current = execution(new_id(), iso(now))
        if isinstance(self.running_execution, dict):
            self.current.update(copy.deepcopy(self.running_execution))
        if self.running_execution == "placeholder":
            self.last_execution = copy.deepcopy(PLACEHOLDER_EXECUTION)
        elif self.running_execution != "previous":
            self.last_execution = self.current

    def settle(self, now: float) -> None:
        """Finish the cycle in flight if its time is up, applying the scenario's outcome."""
        if self.cycle_began is None or now < self.cycle_began + self.cycle_seconds:
            return
        ended = iso(self.cycle_began + self.cycle_seconds)
        self.cycle_began = None
        outcome = self.cycle_outcome
        finished = finished_execution(self.current or {}, outcome, ended)
        self.current = None
        self.last_execution = finished
        state = outcome["state"]
        if state == "Succeeded":
            self.last_successful_execution = copy.deepcopy(finished)
            if finished["countExported"]:
                self.last_successful_execution_with_exports = copy.deepcopy(finished)
            self.steady_first = ended if is_never(self.steady_first) else self.steady_first
            self.steady_last = ended
        if state == "Failed":
            self.successive_failures += 1
        else:
            self.successive_failures = 0
        if outcome.get("quarantine"):
            self.quarantine = quarantine_from(outcome["quarantine"], ended)
            self.status_code = "Quarantine"

    # -- views --------------------------------------------------------------------------------

    def shown_id(self) -> Any:
        return self.id if self.graph_id is USE_ID else self.graph_id

    def answers_to(self, job_id: str) -> bool:
        """GET/POST …/jobs/{job_id} finds the job by the id Graph shows."""
        shown = self.shown_id()
        return isinstance(shown, str) and same_id(shown, job_id)

    def never(self, value: str | None) -> str | None:
        if value is not None:
            return value
        return {"placeholder": NEVER, "empty": ""}.get(self.never_as)

    def progress_view(self, now: float) -> list:
        if self.cycle_began is None or self.running_progress is False:
            return self.progress
        observed = iso(now)
        if self.running_progress is True:
            share = min(99, int(100 * (now - self.cycle_began) / max(self.cycle_seconds, 0.001)))
            return [{"completedUnits": share, "progressObservationDateTime": observed,
                     "totalUnits": 100, "units": "Objects"}]
        return [{"progressObservationDateTime": observed, **p} for p in self.running_progress]

    def to_graph(self, now: float | None = None) -> dict:
        """The synchronizationJob resource as Graph v1.0 returns it."""
        return {
            "id": self.shown_id(),
            "templateId": self.template_id,
            "schedule": {"expiration": None, "interval": self.interval, "state": self.schedule_state},
            "status": {
                "code": self.status_code,
                "countSuccessiveCompleteFailures": self.successive_failures,
                "escrowsPruned": False,
                "lastExecution": self.last_execution,
                "lastSuccessfulExecution": self.last_successful_execution,
                "lastSuccessfulExecutionWithExports": self.last_successful_execution_with_exports,
                "progress": self.progress_view(now if now is not None else time.time()),
                "quarantine": self.quarantine,
                "steadyStateFirstAchievedTime": self.never(self.steady_first),
                "steadyStateLastAchievedTime": self.never(self.steady_last),
                "synchronizedEntryCountByType": self.entry_counts,
                "troubleshootingUrl": self.troubleshooting_url,
            },
            "synchronizationJobSettings": self.settings,
        }

    def to_state(self) -> dict:
        """The control API's view: the Graph resource plus what the job went through."""
        restarts = [t for t in self.triggers if t.action == "restart"]
        return {
            "job": self.to_graph(),
            "cycle_running": self.cycle_began is not None,
            "trigger_count": len(self.triggers),
            "restart_count": len(restarts),
            "start_count": len(self.triggers) - len(restarts),
            "pause_count": self.pause_count,
            "last_restart_criteria": restarts[-1].criteria if restarts else None,
            "triggers": [t.to_json() for t in self.triggers],
        }


def execution(activity: str, began: str) -> dict:
    """A synchronizationTaskExecution for a cycle that has just begun."""
    running = {"activityIdentifier": activity}
    running.update({name: 0 for name in EXECUTION_COUNTS})
    running.update({"error": None, "state": None, "timeBegan": began, "timeEnded": None})
    return running


def finished_execution(running: dict, outcome: dict, ended: str) -> dict:
    """The running execution completed with the scenario's outcome. Counts the outcome leaves
    out are derived the way a small incremental cycle would report them."""
    done = dict(running)
    exported = outcome.get("countExported", 0)
    derived = {
        "countEntitled": outcome.get("countEntitled", 0),
        "countEntitledForProvisioning": outcome.get("countEntitled", 0),
        "countEscrowed": outcome.get("countEscrowed", 0),
        "countEscrowedRaw": outcome.get("countEscrowed", 0),
        "countExported": exported,
        "countExports": exported,
        "countImported": outcome.get("countImported", 0),
        "countImportedDeltas": outcome.get("countImported", 0),
        "countImportedReferenceDeltas": 0,
    }
    derived.update({k: outcome[k] for k in EXECUTION_COUNTS if k in outcome})
    done.update(derived)
    done.update({"error": outcome.get("error"), "state": outcome["state"], "timeEnded": ended})
    return done


def quarantine_from(template: dict, began: str) -> dict:
    """A synchronizationQuarantine from a scenario template, timestamps filled in if absent."""
    quarantine = {
        "currentBegan": began, "nextAttempt": None, "reason": "Unknown",
        "seriesBegan": began, "seriesCount": 1, "error": None,
    }
    quarantine.update(template)
    return quarantine


@dataclass
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    tenant_id: str
    owners: list[str]
    jobs: list[Job]
    extra: dict  # accountEnabled, appDisplayName, servicePrincipalType, tags
    ext: dict = field(default_factory=dict)
    graph_id: Any = USE_ID  # the `id` Graph shows (null, "", ".", ".." for hostile-data tests)

    def to_graph(self) -> dict:
        shown = self.id if self.graph_id is USE_ID else self.graph_id
        resource = {"id": shown, "appId": self.app_id, "displayName": self.display_name}
        resource.update(self.extra)
        return resource

    def find_job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.answers_to(job_id)), None)


@dataclass
class World:
    """Everything a scenario describes, validated."""

    graph_scope: str
    token_lifetime: float
    page_size: int
    tenants: list[Tenant]
    service_principals: list[ServicePrincipal]
    # Per endpoint family: whatever its section parser built (scenario.register_section).
    sections: dict[str, Any] = field(default_factory=dict)
    ext: dict = field(default_factory=dict)  # extension fields of the scenario's top level

    def find_tenant(self, ref: str) -> Tenant | None:
        ref = ref.lower()
        return next((t for t in self.tenants if t.id.lower() == ref or ref in (d.lower() for d in t.domains)), None)

    def jobs(self):
        return (job for sp in self.service_principals for job in sp.jobs)

    def section(self, name: str) -> Any:
        return self.sections.get(name)
