#!/usr/bin/env python3
"""Entra ID + Microsoft Graph simulator for entra-idc-sync's tests, benchmarks and demo.

One loopback HTTP server plays both services the Lambda talks to:

* the Microsoft identity platform token endpoint (client credentials, v2.0), and
* Graph v1.0: service principals and their synchronization (SCIM provisioning) jobs.

A JSON scenario describes tenants, app registrations, service principals and jobs. A control
API under /_sim/ (no auth) swaps the scenario, injects faults, expires tokens and exposes a
request log with secrets and tokens already hashed. Standard library only, so it runs wherever
Python 3.11 does. sim/README.md documents the CLI, the scenario format and the control API.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote

# ---------------------------------------------------------------------------------------------
# The built-in scenario. sim/scenarios/demo.json is the same data; a self-test keeps them equal.
# ---------------------------------------------------------------------------------------------

DEMO_TENANT_ID = "8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"

DEFAULT_SCENARIO: dict[str, Any] = {
    "graph_scope": "https://graph.microsoft.com/.default",
    "token_lifetime_seconds": 3599,
    "page_size": 100,
    "tenants": [
        {
            "id": DEMO_TENANT_ID,
            "display_name": "Contoso",
            "domains": ["contoso.onmicrosoft.com", "contoso.com"],
            "apps": [
                {
                    "client_id": "5b0e6c1d-2f3a-4b8c-9d7e-1a2b3c4d5e6f",
                    "display_name": "entra-idc-sync",
                    "secrets": [{"value": "demo-client-secret-value", "expired": False}],
                    "disabled": False,
                    "roles": ["Synchronization.ReadWrite.All", "Application.Read.All"],
                    "service_principal_id": "c7e2a9f4-1b3d-4e5f-8a6b-9c0d1e2f3a4b",
                }
            ],
        }
    ],
    "service_principals": [
        {
            "id": "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a",
            "appId": "1b4e7c2a-9d5f-4a3e-8c6b-0f2d4e6a8c1b",
            "displayName": "AWS IAM Identity Center",
            "tenant_id": DEMO_TENANT_ID,
            "owners": [],
            "jobs": [
                {
                    "id": "AWSSCIM.4f9a2c1b8e7d4f60a1b2c3d4e5f60718." + DEMO_TENANT_ID,
                    "templateId": "AWSSCIM",
                    "status_code": "Active",
                    "schedule_state": "Active",
                    "cycle_seconds": 1.0,
                    "cycle_outcome": {
                        "state": "Succeeded",
                        "countEntitled": 12,
                        "countImported": 12,
                        "countExported": 3,
                        "countEscrowed": 0,
                        "error": None,
                    },
                    "last_execution": {
                        "activityIdentifier": "3e9b7c1a-5d2f-4a8e-9b6c-0d1e2f3a4b5c",
                        "countEntitled": 12,
                        "countEntitledForProvisioning": 12,
                        "countEscrowed": 0,
                        "countEscrowedRaw": 0,
                        "countExported": 0,
                        "countExports": 0,
                        "countImported": 12,
                        "countImportedDeltas": 0,
                        "countImportedReferenceDeltas": 0,
                        "error": None,
                        "state": "Succeeded",
                        "timeBegan": "2026-11-28T08:35:01.8461572Z",
                        "timeEnded": "2026-11-28T08:35:09.2214301Z",
                    },
                    "last_successful_execution_with_exports": {
                        "activityIdentifier": "a4c6e8f0-2b4d-4f6a-8c0e-1f3a5b7d9e2c",
                        "countEntitled": 12,
                        "countEntitledForProvisioning": 12,
                        "countEscrowed": 0,
                        "countEscrowedRaw": 0,
                        "countExported": 2,
                        "countExports": 2,
                        "countImported": 12,
                        "countImportedDeltas": 2,
                        "countImportedReferenceDeltas": 0,
                        "error": None,
                        "state": "Succeeded",
                        "timeBegan": "2026-11-28T07:55:00.5120987Z",
                        "timeEnded": "2026-11-28T07:55:11.0046613Z",
                    },
                    "quarantine": None,
                    "countSuccessiveCompleteFailures": 0,
                    "troubleshootingUrl": None,
                    "steadyStateFirstAchievedTime": "2026-03-02T14:07:44.1093375Z",
                    "steadyStateLastAchievedTime": "2026-11-28T08:35:09.2214301Z",
                }
            ],
        },
        {
            "id": "9a1c3e5b-7d2f-4b6a-8e0c-2d4f6a8b0c1e",
            "appId": "e3f1a2b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
            "displayName": "Salesforce",
            "tenant_id": DEMO_TENANT_ID,
            "owners": [],
            "jobs": [
                {
                    "id": "salesforce.0c1d2e3f4a5b46c7d8e9f0a1b2c3d4e5." + DEMO_TENANT_ID,
                    "templateId": "salesforce",
                    "status_code": "Active",
                    "schedule_state": "Active",
                    "cycle_seconds": 1.0,
                    "cycle_outcome": {"state": "Succeeded", "countEntitled": 40, "countImported": 40},
                    "last_execution": None,
                    "quarantine": None,
                    "countSuccessiveCompleteFailures": 0,
                    "troubleshootingUrl": None,
                    "steadyStateFirstAchievedTime": None,
                    "steadyStateLastAchievedTime": None,
                }
            ],
        },
    ],
}

# ---------------------------------------------------------------------------------------------
# Vocabulary shared with the real services
# ---------------------------------------------------------------------------------------------

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A tenant may be named by a verified domain; anything else that is not a GUID is "malformed".
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")

JOB_STATUS_CODES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")
SCHEDULE_STATES = ("Active", "Disabled", "Paused")
EXECUTION_STATES = ("Succeeded", "Failed", "EntryLevelErrors")
RESET_SCOPES = ("None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes")
JOB_ACTIONS = ("restart", "start", "pause")
EXECUTION_COUNTS = (
    "countEntitled", "countEntitledForProvisioning", "countEscrowed", "countEscrowedRaw",
    "countExported", "countExports", "countImported", "countImportedDeltas",
    "countImportedReferenceDeltas",
)

# Application permissions (the token's `roles`) and what each Graph operation accepts.
OWNED_BY = "Application.ReadWrite.OwnedBy"
READ_SP_ROLES = frozenset({
    "Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
})
READ_JOB_ROLES = frozenset({"Synchronization.Read.All", "Synchronization.ReadWrite.All"})
WRITE_JOB_ROLES = frozenset({"Synchronization.ReadWrite.All"})

GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
PLAIN_JSON = "application/json; charset=utf-8"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)
DEFAULT_JOB_SETTINGS = [
    {"name": "AzureIngestionAttributeOptimization", "value": "False"},
    {"name": "LookaheadQueryEnabled", "value": "False"},
]
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_LOGGED_REQUESTS = 50_000


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def iso(ts: float) -> str:
    """Graph's timestamp style: UTC, seven fractional digits, 'Z'."""
    dt = datetime.fromtimestamp(ts, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_id(token: str) -> str:
    """What the request log shows instead of a bearer token: enough to correlate, useless to replay."""
    return sha256_hex(token)[:16]


def new_id() -> str:
    return str(uuid.uuid4())


def same_id(a: str, b: str) -> bool:
    """GUIDs and job ids compare case-insensitively, as Graph does."""
    return a.lower() == b.lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False  # close the connection without answering


def json_response(status: int, obj: Any, content_type: str = PLAIN_JSON) -> Response:
    # Encoded at once, under the state lock, so later mutations cannot leak into the answer.
    return Response(status, json.dumps(obj).encode(), [("Content-Type", content_type)])


# ---------------------------------------------------------------------------------------------
# Scenario: JSON in, validated model out. Strict, so a typo in a test fixture fails loudly.
# ---------------------------------------------------------------------------------------------

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


@dataclass
class Tenant:
    id: str
    display_name: str
    domains: list[str]
    apps: list[App]

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
        self.last_execution = execution(new_id(), iso(now))

    def settle(self, now: float) -> None:
        """Finish the cycle in flight if its time is up, applying the scenario's outcome."""
        if self.cycle_began is None or now < self.cycle_began + self.cycle_seconds:
            return
        ended = iso(self.cycle_began + self.cycle_seconds)
        self.cycle_began = None
        outcome = self.cycle_outcome
        finished = finished_execution(self.last_execution or {}, outcome, ended)
        self.last_execution = finished
        state = outcome["state"]
        if state == "Succeeded":
            self.last_successful_execution = copy.deepcopy(finished)
            if finished["countExported"]:
                self.last_successful_execution_with_exports = copy.deepcopy(finished)
            self.steady_first = self.steady_first or ended
            self.steady_last = ended
        if state == "Failed":
            self.successive_failures += 1
        else:
            self.successive_failures = 0
        if outcome.get("quarantine"):
            self.quarantine = quarantine_from(outcome["quarantine"], ended)
            self.status_code = "Quarantine"

    # -- views --------------------------------------------------------------------------------

    def to_graph(self) -> dict:
        """The synchronizationJob resource as Graph v1.0 returns it."""
        return {
            "id": self.id,
            "templateId": self.template_id,
            "schedule": {"expiration": None, "interval": self.interval, "state": self.schedule_state},
            "status": {
                "code": self.status_code,
                "countSuccessiveCompleteFailures": self.successive_failures,
                "escrowsPruned": False,
                "lastExecution": self.last_execution,
                "lastSuccessfulExecution": self.last_successful_execution,
                "lastSuccessfulExecutionWithExports": self.last_successful_execution_with_exports,
                "progress": [],
                "quarantine": self.quarantine,
                "steadyStateFirstAchievedTime": self.steady_first,
                "steadyStateLastAchievedTime": self.steady_last,
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

    def to_graph(self) -> dict:
        resource = {"id": self.id, "appId": self.app_id, "displayName": self.display_name}
        resource.update(self.extra)
        return resource

    def find_job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if same_id(j.id, job_id)), None)


@dataclass
class World:
    """Everything a scenario describes, validated."""

    graph_scope: str
    token_lifetime: float
    page_size: int
    tenants: list[Tenant]
    service_principals: list[ServicePrincipal]

    def find_tenant(self, ref: str) -> Tenant | None:
        ref = ref.lower()
        return next((t for t in self.tenants if t.id.lower() == ref or ref in (d.lower() for d in t.domains)), None)

    def jobs(self):
        return (job for sp in self.service_principals for job in sp.jobs)


def build_world(raw: Any, now: float) -> World:
    top = Fields(raw, "scenario",
                 ("graph_scope", "token_lifetime_seconds", "page_size", "tenants", "service_principals"))
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
    return world


def ensure_unique(values: list[str], what: str) -> None:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ScenarioError(f"duplicate {what}: {', '.join(duplicates)}")


def parse_tenant(raw: Any, where: str) -> Tenant:
    f = Fields(raw, where, ("id", "display_name", "domains", "apps"))
    domains = f.strings("domains")
    apps = [parse_app(a, f"{where}.apps[{j}]") for j, a in enumerate(f.get("apps", list, []))]
    ensure_unique([a.client_id.lower() for a in apps], f"client_id in {where}")
    default_name = domains[0].split(".")[0].capitalize() if domains else "Tenant"
    return Tenant(f.guid("id"), f.get("display_name", str, default_name), domains, apps)


def parse_app(raw: Any, where: str) -> App:
    f = Fields(raw, where, ("client_id", "display_name", "secrets", "disabled", "roles", "service_principal_id"))
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
    )


def parse_service_principal(raw: Any, where: str, default_tenant: Any, now: float) -> ServicePrincipal:
    f = Fields(raw, where, ("id", "appId", "displayName", "tenant_id", "owners", "jobs",
                            "accountEnabled", "appDisplayName", "servicePrincipalType", "tags"))
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
    )


JOB_FIELDS = (
    "id", "templateId", "status_code", "schedule_state", "interval", "cycle_seconds", "cycle_outcome",
    "cycle_running", "last_execution", "last_successful_execution", "last_successful_execution_with_exports",
    "quarantine", "countSuccessiveCompleteFailures", "troubleshootingUrl", "steadyStateFirstAchievedTime",
    "steadyStateLastAchievedTime", "synchronizationJobSettings", "synchronizedEntryCountByType",
)


def parse_job(raw: Any, where: str, now: float) -> Job:
    f = Fields(raw, where, JOB_FIELDS)
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
    )
    if f.get("cycle_running", bool, False):
        job.begin_cycle(now)  # models "a cycle was already in flight when the Lambda arrived"
    return job


def parse_outcome(raw: dict, where: str) -> dict:
    f = Fields(raw, where, ("state", "error", "quarantine", *EXECUTION_COUNTS))
    outcome = {"state": f.choice("state", EXECUTION_STATES, "Succeeded"), "error": f.get("error", dict, None)}
    for name in EXECUTION_COUNTS:
        if f.has(name):
            outcome[name] = f.get(name, int, 0)
    if f.has("quarantine"):
        outcome["quarantine"] = f.get("quarantine", dict, None)
    return outcome


# ---------------------------------------------------------------------------------------------
# Fault rules
# ---------------------------------------------------------------------------------------------

FAULT_FIELDS = (
    "method", "path_contains", "endpoint", "status", "headers", "body", "times", "delay_ms", "drop", "when",
    "content_type",
)


@dataclass
class FaultRule:
    """Makes matching requests slow, fail or vanish. `when` = "before" answers instead of the
    real handler (no side effects); "after" lets the handler act first and then replaces or
    drops its answer (the restart happened, the client never heard)."""

    method: str | None
    path_contains: str | None
    endpoint: str | None
    status: int | None
    headers: dict
    body: Any
    times: int | None
    delay_ms: int
    drop: bool
    when: str
    content_type: str | None
    used: int = 0

    @staticmethod
    def parse(raw: Any, where: str) -> "FaultRule":
        f = Fields(raw, where, FAULT_FIELDS)
        rule = FaultRule(
            method=f.get("method", str, None),
            path_contains=f.get("path_contains", str, None),
            endpoint=f.choice("endpoint", ("token", "graph"), None),
            status=f.get("status", int, None),
            headers=f.get("headers", dict, {}),
            body=raw.get("body"),
            times=f.get("times", int, None),
            delay_ms=f.get("delay_ms", int, 0),
            drop=f.get("drop", bool, False),
            when=f.choice("when", ("before", "after"), "before"),
            content_type=f.get("content_type", str, None),
        )
        if rule.status is not None and not 100 <= rule.status <= 599:
            raise ScenarioError(f"{where}.status must be an HTTP status code")
        if not all(isinstance(v, (str, int, float)) for v in rule.headers.values()):
            raise ScenarioError(f"{where}.headers values must be strings or numbers")
        return rule

    def matches(self, ctx: "RequestContext") -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.method and self.method.upper() != ctx.method:
            return False
        if self.endpoint and self.endpoint != ctx.endpoint:
            return False
        # Either spelling of the path counts, so `/restart` or a raw `%2E` both work.
        return not self.path_contains or self.path_contains in ctx.target or self.path_contains in ctx.decoded_path

    def to_json(self, index: int) -> dict:
        view = {k: getattr(self, k) for k in FAULT_FIELDS}
        view.update({"index": index, "used": self.used,
                     "remaining": None if self.times is None else max(self.times - self.used, 0)})
        return view


GRAPH_FAULT_CODES = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource not found."),
    409: ("Conflict", "The request conflicts with the current state."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("generalException", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway timed out."),
}


def fault_response(rule: FaultRule, ctx: "RequestContext") -> Response:
    """The answer a fault rule with a status gives: its body, or a realistic default one."""
    if rule.body is None and rule.status != 204:
        body = default_fault_body(rule.status, ctx)
    else:
        body = rule.body
    if body is None:
        response = Response(rule.status)
    elif isinstance(body, str):
        content_type = rule.content_type or "text/plain; charset=utf-8"
        response = Response(rule.status, body.encode(), [("Content-Type", content_type)])
    else:
        response = json_response(rule.status, body, rule.content_type or PLAIN_JSON)
    for name, value in rule.headers.items():
        response.headers = [h for h in response.headers if h[0].lower() != name.lower()]
        response.headers.append((name, str(value)))
    return response


def default_fault_body(status: int, ctx: "RequestContext") -> dict:
    if ctx.endpoint == "token":
        if status == 429 or status >= 500:
            return entra_error_body(ctx, "temporarily_unavailable", 90033,
                                    "A transient error has occurred. Please try again.")
        return entra_error_body(ctx, "invalid_request", 90100, "Invalid request.")
    code, message = GRAPH_FAULT_CODES.get(status, ("UnknownError", f"HTTP {status}."))
    return graph_error_body(ctx, code, message)


# ---------------------------------------------------------------------------------------------
# Per-request context and the request log
# ---------------------------------------------------------------------------------------------

@dataclass
class RequestContext:
    method: str
    target: str           # raw request target, path and query, still percent-encoded
    path: str             # raw path
    query: str            # raw query string
    segments: list[str]   # path segments, each percent-decoded on its own
    headers: Any          # http.client.HTTPMessage
    body: bytes
    endpoint: str         # "token" or "graph"
    request_id: str
    now: float
    form: dict | None = None       # token endpoint form fields (raw; never logged as such)
    json_body: Any = None
    issued_token_id: str | None = None

    @property
    def decoded_path(self) -> str:
        return "/" + "/".join(self.segments)

    @property
    def client_request_id(self) -> str | None:
        return self.headers.get("client-request-id")

    @property
    def bearer(self) -> str | None:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def log_entry(seq: int, ctx: RequestContext, status: int | None, fault: int | None) -> dict:
    """One request as tests see it. Secrets and tokens appear only as sha256 digests."""
    bearer = ctx.bearer
    return {
        "seq": seq,
        "time": iso(ctx.now),
        "method": ctx.method,
        "path": ctx.path,
        "decoded_path": ctx.decoded_path,
        "query": ctx.query,
        "query_params": dict(parse_qsl(ctx.query, keep_blank_values=True)),
        "endpoint": ctx.endpoint,
        "status": status,
        "client_request_id": ctx.client_request_id,
        "request_id": ctx.request_id,
        "authorization_present": ctx.headers.get("Authorization") is not None,
        "token_id": token_id(bearer) if bearer else None,
        "issued_token_id": ctx.issued_token_id,
        "form": redacted_form(ctx.form) if ctx.form is not None else None,
        "json_body": ctx.json_body,
        "user_agent": ctx.headers.get("User-Agent"),
        "fault": fault,
    }


def redacted_form(form: dict) -> dict:
    safe = {k: v for k, v in form.items() if k not in ("client_secret", "client_assertion")}
    secret = form.get("client_secret")
    safe["client_secret_sha256"] = sha256_hex(secret) if secret is not None else None
    if "client_assertion" in form:
        safe["client_assertion_sha256"] = sha256_hex(form["client_assertion"])
    return safe


# ---------------------------------------------------------------------------------------------
# Entra token endpoint
# ---------------------------------------------------------------------------------------------

@dataclass
class IssuedToken:
    tenant_id: str
    client_id: str
    roles: frozenset  # a snapshot, like the `roles` claim of a real token
    caller_sp_id: str | None
    expires_at: float
    expired: bool = False


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, text: str):
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text


def entra_error_body(ctx: RequestContext, error: str, code: int, text: str) -> dict:
    """AADSTS error JSON. The trace id is the response's request-id; like Entra, the correlation
    id is the caller's client-request-id when it sent a GUID."""
    stamp = datetime.fromtimestamp(ctx.now, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    sent = ctx.client_request_id
    correlation = sent if sent and GUID_RE.match(sent) else new_id()
    return {
        "error": error,
        "error_description": (f"AADSTS{code}: {text} Trace ID: {ctx.request_id} "
                              f"Correlation ID: {correlation} Timestamp: {stamp}"),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": ctx.request_id,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def parse_token_form(ctx: RequestContext) -> dict:
    """Fields of a form body; any other content type reads as an empty form, as with Entra."""
    content_type = (ctx.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    form: dict[str, str] = {}
    for key, value in parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)  # the first of repeated fields wins
    return form


def token_endpoint(sim: "Simulator", ctx: RequestContext, tenant_ref: str) -> Response:
    try:
        return issue_token(sim, ctx, tenant_ref)
    except EntraError as e:
        body = entra_error_body(ctx, e.error, e.code, e.text)
        response = json_response(e.status, body)
        response.headers.append(("Cache-Control", "no-store, no-cache"))
        return response


def issue_token(sim: "Simulator", ctx: RequestContext, tenant_ref: str) -> Response:
    """Validates in a fixed order (see README) and returns a Bearer token for the app's roles."""
    if ctx.method != "POST":
        raise EntraError(400, "invalid_request", 900561, "The endpoint only accepts POST requests.")
    world, form = sim.world, ctx.form or {}
    if not (GUID_RE.match(tenant_ref) or DOMAIN_RE.match(tenant_ref)):
        raise EntraError(400, "invalid_request", 900023,
                         f"Specified tenant identifier '{tenant_ref}' is neither a valid DNS name, "
                         "nor a valid external domain.")
    tenant = world.find_tenant(tenant_ref)
    if tenant is None:
        raise EntraError(400, "invalid_request", 90002,
                         f"Tenant '{tenant_ref}' not found. Check to make sure you have the correct tenant ID and are "
                         "signing into the correct cloud.")
    for name in ("grant_type", "client_id", "scope"):
        if not form.get(name):
            raise EntraError(400, "invalid_request", 900144,
                             f"The request body must contain the following parameter: '{name}'.")
    if form["grant_type"] != "client_credentials":
        raise EntraError(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{form['grant_type']}'.")
    scope = form["scope"]
    if not scope.endswith("/.default"):
        raise EntraError(400, "invalid_scope", 1002012,
                         f"The provided value for scope {scope} is not valid. Client credential flows must "
                         "have a scope value with /.default suffixed to the resource identifier "
                         "(application ID URI).")
    app = tenant.find_app(form["client_id"])
    if app is None:
        raise EntraError(400, "unauthorized_client", 700016,
                         f"Application with identifier '{form['client_id']}' was not found in the directory "
                         f"'{tenant.display_name}'. This can happen if the application has not been installed "
                         "by the administrator of the tenant or consented to by any user in the tenant. You may "
                         "have sent your authentication request to the wrong tenant.")
    if app.disabled:
        raise EntraError(401, "invalid_client", 7000112,
                         f"Application '{app.client_id}'({app.display_name}) is disabled.")
    check_client_secret(app, form)
    if scope != world.graph_scope:
        raise EntraError(400, "invalid_resource", 500011,
                         f"The resource principal named {scope.removesuffix('/.default')} was not found in the tenant "
                         f"named {tenant.display_name}. This can happen if the application has not been installed by "
                         "the administrator of the tenant or consented to by any user in the tenant. You might have "
                         "sent your authentication request to the wrong tenant.")
    return grant(sim, ctx, tenant, app)


def check_client_secret(app: App, form: dict) -> None:
    if "client_assertion" in form:
        raise EntraError(401, "invalid_client", 700027,
                         "Client assertion failed signature validation. (The simulator only supports client secrets.)")
    secret = form.get("client_secret")
    if not secret:
        raise EntraError(401, "invalid_client", 7000216,
                         "'client_assertion', 'client_secret' or 'request' is required for the "
                         "'client_credentials' grant type.")
    # Several secrets may be registered at once (rotation); any unexpired match is good.
    matching = [s for s in app.secrets if hmac.compare_digest(s.value.encode(), secret.encode())]
    if not matching:
        raise EntraError(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                         f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.")
    if all(s.expired for s in matching):
        raise EntraError(401, "invalid_client", 7000222,
                         f"The provided client secret keys for app '{app.client_id}' are expired. Visit the Azure "
                         "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                         "certificate credentials for added security: https://aka.ms/certCreds.")


def grant(sim: "Simulator", ctx: RequestContext, tenant: Tenant, app: App) -> Response:
    lifetime = sim.world.token_lifetime
    access_token = f"simtok-{uuid.uuid4().hex}"
    sim.tokens[access_token] = IssuedToken(tenant.id, app.client_id, frozenset(app.roles),
                                           app.service_principal_id, ctx.now + lifetime)
    ctx.issued_token_id = token_id(access_token)
    whole = int(lifetime)
    response = json_response(200, {"token_type": "Bearer", "expires_in": whole, "ext_expires_in": whole,
                                   "access_token": access_token})
    response.headers.append(("Cache-Control", "no-store, no-cache"))
    return response


# ---------------------------------------------------------------------------------------------
# Graph v1.0
# ---------------------------------------------------------------------------------------------

class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or []


def graph_error_body(ctx: RequestContext, code: str, message: str) -> dict:
    # Without a client-request-id Graph reports its own request id in that slot.
    return {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.fromtimestamp(ctx.now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": ctx.request_id,
        "client-request-id": ctx.client_request_id or ctx.request_id,
    }}}


def not_found(what: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{what}' does not exist or one of its queried reference-property objects "
                      "are not present.")


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, [("WWW-Authenticate", WWW_AUTHENTICATE)])


@dataclass
class Caller:
    """Who a bearer token speaks for."""

    tenant_id: str
    roles: frozenset
    sp_id: str | None

    def may_try(self, full_roles: frozenset) -> bool:
        """Holds a role that could allow the operation on some service principal."""
        return bool(self.roles & full_roles) or OWNED_BY in self.roles

    def allowed(self, full_roles: frozenset, sp: ServicePrincipal) -> bool:
        """OwnedBy only counts when the caller's own service principal owns the target one."""
        if self.roles & full_roles:
            return True
        owns = self.sp_id is not None and any(same_id(o, self.sp_id) for o in sp.owners)
        return OWNED_BY in self.roles and owns


def authenticate(sim: "Simulator", ctx: RequestContext) -> Caller:
    token = ctx.bearer
    if token is None:
        raise unauthenticated("Access token is empty.")
    issued = sim.tokens.get(token)
    if issued is None:
        raise unauthenticated("Invalid JWT token. The token was not issued by this tenant's token endpoint.")
    if issued.expired or ctx.now >= issued.expires_at:
        raise unauthenticated("Lifetime validation failed, the token is expired.")
    return Caller(issued.tenant_id, issued.roles, issued.caller_sp_id)


@dataclass
class Route:
    name: str
    method: str
    handler: Callable[..., Response]
    options: tuple[str, ...]       # OData system query options this route honours
    sp_key: tuple[str, str] | None = None  # ("id" | "appId" | "idOrAppId", value)
    job_id: str | None = None
    action: str | None = None


APP_ID_KEY_RE = re.compile(r"^servicePrincipals\(appId='((?:[^']|'')*)'\)$", re.IGNORECASE)


def match_route(segments: list[str]) -> Route:
    """Maps decoded path segments to a route; unknown paths are 404s."""
    path = "/" + "/".join(segments)
    if not segments or segments[0].lower() != "v1.0":
        raise GraphError(404, "Request_ResourceNotFound",
                         f"No resource at {path}: the simulator serves Graph v1.0 only.")
    if len(segments) < 2:
        raise GraphError(404, "Request_ResourceNotFound", f"No resource at {path}.")
    rest = segments[1:]
    key_form = APP_ID_KEY_RE.match(rest[0])
    if key_form:
        sp_key, tail = ("appId", key_form.group(1).replace("''", "'")), rest[1:]
    elif rest[0].lower() == "serviceprincipals":
        if len(rest) == 1:
            return Route("list_service_principals", "GET", list_service_principals,
                         ("$filter", "$select", "$top", "$skiptoken"))
        sp_key, tail = ("id", rest[1]), rest[2:]
    else:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource not found for the segment '{rest[0]}'.")
    if not tail:
        return Route("get_service_principal", "GET", get_service_principal, ("$select",), sp_key)
    # Synchronization paths take either the object id or the appId of the service principal.
    sync_key = sp_key if sp_key[0] == "appId" else ("idOrAppId", sp_key[1])
    if [t.lower() for t in tail[:2]] != ["synchronization", "jobs"]:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource not found for the segment '{tail[0]}' ({path}).")
    if len(tail) == 2:
        return Route("list_jobs", "GET", list_jobs, ("$select", "$top", "$skiptoken"), sync_key)
    if len(tail) == 3:
        return Route("get_job", "GET", get_job, ("$select",), sync_key, tail[2])
    if len(tail) == 4 and tail[3].lower() in JOB_ACTIONS:
        return Route("job_action", "POST", job_action, (), sync_key, tail[2], tail[3].lower())
    raise GraphError(404, "Request_ResourceNotFound",
                     f"Resource not found for the segment '{tail[-1]}'; the simulator does not serve {path}.")


def graph_endpoint(sim: "Simulator", ctx: RequestContext) -> Response:
    try:
        route = match_route(ctx.segments)
        if ctx.method != route.method:
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri.",
                             [("Allow", route.method)])
        caller = authenticate(sim, ctx)
        options = query_options(ctx, route)
        return route.handler(sim, ctx, caller, route, options)
    except GraphError as e:
        response = json_response(e.status, graph_error_body(ctx, e.code, e.message))
        response.headers.extend(e.headers)
        return response


def query_options(ctx: RequestContext, route: Route) -> dict[str, str]:
    """The OData system query options ($...), each at most once and known to the route."""
    options: dict[str, str] = {}
    for key, value in parse_qsl(ctx.query, keep_blank_values=True):
        if not key.startswith("$"):
            continue  # Graph ignores custom query parameters
        name = key.lower()
        if name in options:
            raise GraphError(400, "BadRequest",
                             f"Query option '{key}' was specified more than once, "
                             "but it must be specified at most once.")
        if name not in route.options:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Query option '{key}' is not supported on this path by the simulator.")
        options[name] = value
    return options


# -- helpers shared by the handlers ----------------------------------------------------------

def visible_service_principals(sim: "Simulator", caller: Caller) -> list[ServicePrincipal]:
    return [sp for sp in sim.world.service_principals if same_id(sp.tenant_id, caller.tenant_id)]


def find_service_principal(sim: "Simulator", caller: Caller, key: tuple[str, str]) -> ServicePrincipal:
    kind, value = key
    for sp in visible_service_principals(sim, caller):
        by_id = kind in ("id", "idOrAppId") and same_id(sp.id, value)
        by_app_id = kind in ("appId", "idOrAppId") and same_id(sp.app_id, value)
        if by_id or by_app_id:
            return sp
    raise not_found(value)


def authorized_service_principal(sim: "Simulator", caller: Caller, route: Route, roles: frozenset) -> ServicePrincipal:
    """Role check, lookup, then the ownership check OwnedBy needs: 403 before 404 before 403."""
    if not caller.may_try(roles):
        raise denied()
    sp = find_service_principal(sim, caller, route.sp_key)
    if not caller.allowed(roles, sp):
        raise denied()
    return sp


def find_job(sp: ServicePrincipal, job_id: str, now: float) -> Job:
    job = sp.find_job(job_id)
    if job is None:
        raise not_found(job_id)
    job.settle(now)
    return job


def select(resource: dict, options: dict[str, str]) -> dict:
    """$select: only the named properties (case-insensitively), plus `id` always."""
    if "$select" not in options:
        return resource
    by_lower = {k.lower(): k for k in resource}
    chosen = ["id"]
    for name in (n.strip() for n in options["$select"].split(",")):
        if name.lower() not in by_lower:
            raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on this resource type.")
        chosen.append(by_lower[name.lower()])
    return {k: resource[k] for k in dict.fromkeys(chosen) if k in resource}


def page(sim: "Simulator", ctx: RequestContext, items: list, options: dict[str, str], context: str) -> dict:
    """One page of a collection, with an absolute @odata.nextLink while more remain."""
    size = sim.world.page_size
    if "$top" in options:
        top = options["$top"]
        if not top.isdigit() or not 1 <= int(top) <= 999:
            raise GraphError(400, "BadRequest",
                             f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")
        size = min(size, int(top))
    skip = options.get("$skiptoken", "0")
    if not skip.isdigit():
        raise GraphError(400, "BadRequest", "Invalid $skiptoken: follow @odata.nextLink as given.")
    start = int(skip)
    result = {"@odata.context": context, "value": items[start:start + size]}
    if start + size < len(items):
        result["@odata.nextLink"] = next_link(sim, ctx, start + size)
    return result


def next_link(sim: "Simulator", ctx: RequestContext, offset: int) -> str:
    pairs = [(k, v) for k, v in parse_qsl(ctx.query, keep_blank_values=True) if k.lower() != "$skiptoken"]
    pairs.append(("$skiptoken", str(offset)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in pairs)
    return f"{sim.base_url}{ctx.path}?{query}"


def graph_json(obj: dict) -> Response:
    return json_response(200, obj, GRAPH_JSON)


# -- service principals ----------------------------------------------------------------------

def list_service_principals(sim: "Simulator", ctx: RequestContext, caller: Caller, route: Route,
                            options: dict) -> Response:
    if not caller.may_try(READ_SP_ROLES):
        raise denied()
    found = [sp for sp in visible_service_principals(sim, caller) if caller.allowed(READ_SP_ROLES, sp)]
    if "$filter" in options:
        prop, value = parse_filter(options["$filter"])
        found = [sp for sp in found if filter_matches(sp, prop, value)]
    items = [select(sp.to_graph(), options) for sp in found]
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals"
    if "$select" in options:
        context += f"({options['$select'].replace(' ', '')})"
    return graph_json(page(sim, ctx, items, options, context))


def get_service_principal(sim: "Simulator", ctx: RequestContext, caller: Caller, route: Route,
                          options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, route, READ_SP_ROLES)
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


# -- synchronization jobs --------------------------------------------------------------------

def list_jobs(sim: "Simulator", ctx: RequestContext, caller: Caller, route: Route,
              options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, route, READ_JOB_ROLES)
    for job in sp.jobs:
        job.settle(ctx.now)
    items = [select(job.to_graph(), options) for job in sp.jobs]
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals('{sp.id}')/synchronization/jobs"
    return graph_json(page(sim, ctx, items, options, context))


def get_job(sim: "Simulator", ctx: RequestContext, caller: Caller, route: Route,
            options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, route, READ_JOB_ROLES)
    job = find_job(sp, route.job_id, ctx.now)
    context = f"{sim.base_url}/v1.0/$metadata#servicePrincipals('{sp.id}')/synchronization/jobs/$entity"
    resource = {"@odata.context": context}
    resource.update(select(job.to_graph(), options))
    return graph_json(resource)


def job_action(sim: "Simulator", ctx: RequestContext, caller: Caller, route: Route,
               options: dict) -> Response:
    sp = authorized_service_principal(sim, caller, route, WRITE_JOB_ROLES)
    job = find_job(sp, route.job_id, ctx.now)
    if route.action == "pause":
        job.pause(ctx.now)
    elif route.action == "start":
        job.trigger("start", None, None, ctx.now)
    else:
        criteria, scope = restart_criteria(ctx)
        job.trigger("restart", criteria, scope, ctx.now)
    return Response(204)


def restart_criteria(ctx: RequestContext) -> tuple[dict | None, list[str] | None]:
    """The optional `{"criteria":{"resetScope":"A,B"}}` body, validated like Graph's enum flags."""
    if not ctx.body.strip():
        return None, None
    body = ctx.json_body
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest",
                         'The request body is not valid JSON: expected {"criteria":{"resetScope":"..."}}.')
    extra = [k for k in body if k != "criteria"]
    if extra:
        raise GraphError(400, "BadRequest",
                         f"The property '{extra[0]}' does not exist on type 'microsoft.graph.restart'.")
    criteria = body.get("criteria")
    if not isinstance(criteria, dict) or not isinstance(criteria.get("resetScope"), str):
        raise GraphError(400, "BadRequest", "criteria.resetScope must be a string of comma-separated values.")
    extra = [k for k in criteria if k != "resetScope"]
    if extra:
        raise GraphError(400, "BadRequest", f"The property '{extra[0]}' does not exist on type "
                         "'microsoft.graph.synchronizationJobRestartCriteria'.")
    scope = [part.strip() for part in criteria["resetScope"].split(",")]
    for part in scope:
        if part not in RESET_SCOPES:
            raise GraphError(400, "BadRequest",
                             f"Requested value '{part}' was not found in synchronizationJobRestartScope "
                             f"(allowed: {', '.join(RESET_SCOPES)}).")
    return criteria, scope


# ---------------------------------------------------------------------------------------------
# The simulator: state, dispatch, control API
# ---------------------------------------------------------------------------------------------

class Simulator:
    """All mutable state, behind one lock. Sleeps (latency, fault delays) happen outside it."""

    def __init__(self, scenario: dict, latency_ms: int = 0, verbose: bool = False):
        self.lock = threading.Lock()
        self.latency_ms = latency_ms
        self.verbose = verbose
        self.base_url = ""
        self.started = time.time()
        self.load(scenario)

    def load(self, scenario: Any) -> None:
        """Replaces the whole state; raises ScenarioError and keeps the old one if invalid."""
        world = build_world(scenario, time.time())
        self.world = world
        self.tokens: dict[str, IssuedToken] = {}
        self.faults: list[FaultRule] = []
        self.requests: list[dict] = []
        self.seq = 0

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, h: "SimHandler") -> None:
        target = h.path
        raw_path, _, query = target.split("#")[0].partition("?")
        if raw_path == "/_sim" or raw_path.startswith("/_sim/"):
            self.send(h, self.control(h.command, raw_path, read_body(h)))
            return
        ctx = self.context(h, target, raw_path, query)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self.lock:
            ctx.now = time.time()
            fault_index, rule = self.take_fault(ctx)
        response = self.answer(ctx, rule)
        with self.lock:
            self.record(ctx, None if response.drop else response.status, fault_index)
        self.send(h, self.with_ids(ctx, response))

    def context(self, h: "SimHandler", target: str, raw_path: str, query: str) -> RequestContext:
        segments = [unquote(s) for s in raw_path.split("/")[1:]]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()  # tolerate one trailing slash
        endpoint = "token" if token_path_tenant(segments) is not None else "graph"
        ctx = RequestContext(h.command, target, raw_path, query, segments, h.headers, read_body(h),
                             endpoint, new_id(), time.time())
        if endpoint == "token":
            ctx.form = parse_token_form(ctx)
        elif ctx.body.strip():
            try:
                ctx.json_body = json.loads(ctx.body)
            except ValueError:
                ctx.json_body = None  # restart_criteria reports it
        return ctx

    def answer(self, ctx: RequestContext, rule: FaultRule | None) -> Response:
        """The real answer, a fault's answer instead of it, or the fault's after it (`when: after`)."""
        if rule and rule.when == "before":
            faulted = fault_answer(rule, ctx)
            if faulted:
                return faulted
        with self.lock:
            response = self.route(ctx)
        if rule and rule.when == "after":
            return fault_answer(rule, ctx) or response
        return response

    def route(self, ctx: RequestContext) -> Response:
        tenant = token_path_tenant(ctx.segments)
        if tenant is not None:
            return token_endpoint(self, ctx, tenant)
        return graph_endpoint(self, ctx)

    def take_fault(self, ctx: RequestContext) -> tuple[int | None, FaultRule | None]:
        for index, rule in enumerate(self.faults):
            if rule.matches(ctx):
                rule.used += 1
                return index, rule
        return None, None

    def record(self, ctx: RequestContext, status: int | None, fault: int | None) -> None:
        self.seq += 1
        self.requests.append(log_entry(self.seq, ctx, status, fault))
        if len(self.requests) > MAX_LOGGED_REQUESTS:
            del self.requests[: len(self.requests) - MAX_LOGGED_REQUESTS]

    @staticmethod
    def with_ids(ctx: RequestContext, response: Response) -> Response:
        response.headers.append(("request-id", ctx.request_id))
        if ctx.endpoint == "token":
            response.headers.append(("x-ms-request-id", ctx.request_id))
        elif ctx.client_request_id:
            response.headers.append(("client-request-id", ctx.client_request_id))
        return response

    def send(self, h: "SimHandler", response: Response) -> None:
        if response.drop:
            h.drop_connection()
            return
        h.send_response(response.status)
        for name, value in response.headers:
            h.send_header(name, value)
        if response.status not in (204, 304) and not 100 <= response.status < 200:
            h.send_header("Content-Length", str(len(response.body)))
        h.end_headers()
        if h.command != "HEAD" and response.body and response.status not in (204, 304):
            h.wfile.write(response.body)

    # -- control API --------------------------------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> Response:
        routes: dict[tuple[str, str], Callable[[bytes], Response]] = {
            ("GET", "/_sim/health"): lambda _: json_response(200, {"ok": True}),
            ("POST", "/_sim/scenario"): self.control_scenario,
            ("GET", "/_sim/state"): lambda _: self.locked(self.state),
            ("GET", "/_sim/faults"): lambda _: self.locked(self.fault_list),
            ("POST", "/_sim/faults"): self.control_add_faults,
            ("DELETE", "/_sim/faults"): lambda _: self.locked(self.clear_faults),
            ("POST", "/_sim/expire-tokens"): lambda _: self.locked(self.expire_tokens),
            ("GET", "/_sim/requests"): lambda _: self.locked(lambda: {"requests": list(self.requests)}),
            ("DELETE", "/_sim/requests"): lambda _: self.locked(self.clear_requests),
        }
        handler = routes.get((method, path.rstrip("/")))
        if handler:
            return handler(body)
        allowed = [m for (m, p) in routes if p == path.rstrip("/")]
        if allowed:
            return json_response(405, {"error": f"{method} not allowed on {path}; use {', '.join(allowed)}"})
        known = sorted({f"{m} {p}" for (m, p) in routes})
        return json_response(404, {"error": f"unknown control path {path}", "known": known})

    def locked(self, view: Callable[[], dict]) -> Response:
        with self.lock:
            return json_response(200, view())

    def control_scenario(self, body: bytes) -> Response:
        try:
            scenario = json.loads(body) if body.strip() else copy.deepcopy(DEFAULT_SCENARIO)
            with self.lock:
                self.load(scenario)
                return json_response(200, {"ok": True, "tenants": len(self.world.tenants),
                                           "service_principals": len(self.world.service_principals),
                                           "jobs": sum(1 for _ in self.world.jobs())})
        except (ValueError, ScenarioError) as e:  # json.JSONDecodeError is a ValueError
            return json_response(400, {"error": f"invalid scenario: {e}"})

    def control_add_faults(self, body: bytes) -> Response:
        try:
            payload = Fields(json.loads(body or b"{}"), "body", ("faults",))
            rules = [FaultRule.parse(r, f"faults[{i}]") for i, r in enumerate(payload.get("faults", list))]
        except (ValueError, ScenarioError) as e:
            return json_response(400, {"error": f"invalid fault rules: {e}"})
        with self.lock:
            first = len(self.faults)
            self.faults.extend(rules)
            return json_response(200, {"ok": True, "indexes": list(range(first, len(self.faults)))})

    def fault_list(self) -> dict:
        return {"faults": [rule.to_json(i) for i, rule in enumerate(self.faults)]}

    def clear_faults(self) -> dict:
        self.faults = []
        return {"ok": True}

    def clear_requests(self) -> dict:
        self.requests = []
        return {"ok": True}

    def expire_tokens(self) -> dict:
        for issued in self.tokens.values():
            issued.expired = True
        return {"ok": True, "expired": len(self.tokens)}

    def state(self) -> dict:
        now = time.time()
        for job in self.world.jobs():
            job.settle(now)
        return {
            "time": iso(now),
            "graph_scope": self.world.graph_scope,
            "token_lifetime_seconds": self.world.token_lifetime,
            "page_size": self.world.page_size,
            "tenants": [tenant_state(t) for t in self.world.tenants],
            "service_principals": [
                {"id": sp.id, "appId": sp.app_id, "displayName": sp.display_name, "tenant_id": sp.tenant_id,
                 "owners": sp.owners, "jobs": [job.to_state() for job in sp.jobs]}
                for sp in self.world.service_principals
            ],
            "tokens_issued": len(self.tokens),
            **self.fault_list(),
            "requests_logged": len(self.requests),
        }


def tenant_state(tenant: Tenant) -> dict:
    # Secrets are shown as digests: /_sim/state is as log-safe as /_sim/requests.
    return {"id": tenant.id, "display_name": tenant.display_name, "domains": tenant.domains, "apps": [
        {"client_id": a.client_id, "display_name": a.display_name, "disabled": a.disabled, "roles": a.roles,
         "service_principal_id": a.service_principal_id,
         "secrets": [{"sha256": sha256_hex(s.value), "expired": s.expired} for s in a.secrets]}
        for a in tenant.apps]}


def token_path_tenant(segments: list[str]) -> str | None:
    """The tenant of a `/{tenant}/oauth2/v2.0/token` path, None for any other path."""
    if len(segments) == 4 and [s.lower() for s in segments[1:]] == ["oauth2", "v2.0", "token"]:
        return segments[0]
    return None


def fault_answer(rule: FaultRule, ctx: RequestContext) -> Response | None:
    """Sleeps the rule's delay, then drops or answers with its status; None lets the real
    answer through (a delay-only rule)."""
    sleep_ms(rule.delay_ms)
    if rule.drop:
        return Response(0, drop=True)
    if rule.status is None:
        return None
    return fault_response(rule, ctx)


def sleep_ms(ms: int) -> None:
    if ms > 0:
        time.sleep(ms / 1000)


def read_body(h: BaseHTTPRequestHandler) -> bytes:
    """The request body, Content-Length or chunked; read once and cached on the handler."""
    if getattr(h, "_body", None) is not None:
        return h._body
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        body = read_chunked(h.rfile)
    else:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""
    h._body = body
    return body


def read_chunked(rfile) -> bytes:
    chunks, total = [], 0
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        chunks.append(rfile.read(size))
        rfile.readline()


# ---------------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------------

class SimHandler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; without this, Nagle's algorithm meets the
    # client's delayed ACK and every answer stalls ~40 ms, which real Graph does not do.
    disable_nagle_algorithm = True
    # HTTP/1.1 keep-alive, like the real services: clients reuse connections, and a dropped
    # connection (fault rule `drop`) must be noticed mid-pool.
    protocol_version = "HTTP/1.1"
    server_version = "graph-sim/1.0"
    timeout = 60  # idle keep-alive connections must not pin threads forever
    _body: bytes | None = None

    def handle_one_request(self) -> None:
        self._body = None
        super().handle_one_request()

    def dispatch(self) -> None:
        sim: Simulator = self.server.sim  # type: ignore[attr-defined]
        try:
            sim.handle(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a simulator bug: say so loudly, answer 500, keep serving
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            try:
                error = {"code": "SimulatorBug", "message": traceback.format_exc(limit=3)}
                body = json.dumps({"error": error}).encode()
                self.send_response(500)
                self.send_header("Content-Type", PLAIN_JSON)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = dispatch

    def version_string(self) -> str:
        return self.server_version

    def drop_connection(self) -> None:
        """Close without a byte of response, as a crashed proxy or a network cut would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: a parent that never drains our stderr pipe must not block us.
        if self.server.sim.verbose:  # type: ignore[attr-defined]
            sys.stderr.write(f"graph_sim: {self.address_string()} {format % args}\n")


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Simulator):
        self.sim = sim
        super().__init__(address, SimHandler)


# ---------------------------------------------------------------------------------------------
# CLI and lifecycle
# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Entra ID + Microsoft Graph simulator (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for a free one (default 0)")
    parser.add_argument("--scenario", help="scenario JSON file (default: the built-in demo scenario)")
    parser.add_argument("--latency-ms", type=int, default=0, help="sleep added to every non-control request")
    parser.add_argument("--max-lifetime", type=float, default=900.0, help="exit after this many seconds (default 900)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (the parent died)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.max_lifetime <= 0 or args.latency_ms < 0 or not 0 <= args.port <= 65535:
        parser.error("--max-lifetime must be > 0, --latency-ms >= 0 and --port in 0..65535")
    return args


def loopback_host(host: str) -> str | None:
    """The IPv4 loopback address to bind, or None: the simulator never listens beyond the host."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if address.version == 4 and address.is_loopback else None


def load_scenario_file(path: str | None) -> dict:
    if path is None:
        return copy.deepcopy(DEFAULT_SCENARIO)
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def watch_stdin(stop: threading.Event) -> None:
    """Sets `stop` once stdin reaches EOF: the parent holding our stdin pipe has gone."""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = loopback_host(args.host)
    if host is None:
        print(f"graph_sim: refusing to bind {args.host!r}: only IPv4 loopback addresses are allowed", file=sys.stderr)
        return 2
    try:
        sim = Simulator(load_scenario_file(args.scenario), args.latency_ms, args.verbose)
    except (OSError, ValueError, ScenarioError) as e:
        print(f"graph_sim: cannot load scenario {args.scenario}: {e}", file=sys.stderr)
        return 2
    try:
        server = SimServer((host, args.port), sim)
    except OSError as e:
        print(f"graph_sim: cannot listen on {host}:{args.port}: {e}", file=sys.stderr)
        return 2
    sim.base_url = f"http://{host}:{server.server_address[1]}"
    print(f"LISTENING {sim.base_url}", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True, name="stdin-watch").start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="serve").start()

    stopped = stop.wait(args.max_lifetime)
    if not stopped:
        print(f"graph_sim: max lifetime of {args.max_lifetime:g}s reached, exiting", file=sys.stderr)
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
