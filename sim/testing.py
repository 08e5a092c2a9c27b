"""Helpers for the simulator's self-tests (and any other test that drives `python -m sim`):
start it as a subprocess, talk to it over HTTP with urllib only, build scenarios from the demo.

Self-test modules get the `sim` fixture from sim/conftest.py: one simulator process per module,
a freshly loaded demo scenario per test.
"""

from __future__ import annotations

import copy
import json
import select
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# Microsoft's shapes, re-exported for scenarios in tests (sim/README.md, "Controls for hostile and
# Microsoft-shaped answers").
from .world import NEVER, PLACEHOLDER_EXECUTION  # noqa: F401


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: How to run the simulator; the working directory must be the repository root (cwd=REPO).
SIM_COMMAND = [sys.executable, "-m", "sim"]
DEMO = json.loads((HERE / "scenarios" / "demo.json").read_text())

TENANT = DEMO["tenants"][0]["id"]
DOMAIN = DEMO["tenants"][0]["domains"][0]
APP = DEMO["tenants"][0]["apps"][0]
CLIENT, SECRET, CALLER_SP = APP["client_id"], APP["secrets"][0]["value"], APP["service_principal_id"]
AWS = DEMO["service_principals"][0]
AWS_SP, AWS_APP, AWS_JOB = AWS["id"], AWS["appId"], AWS["jobs"][0]["id"]
GRAPH_SCOPE = DEMO["graph_scope"]
OTHER_TENANT = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


# ---------------------------------------------------------------------------------------------
# Process and HTTP helpers
# ---------------------------------------------------------------------------------------------

def start_sim(*args: str) -> tuple[subprocess.Popen, str]:
    """Starts the simulator and returns it with its base URL, read from the LISTENING line."""
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen([*SIM_COMMAND, "--port", "0", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO)
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("LISTENING "):
        proc.kill()
        stderr.seek(0)
        raise AssertionError(f"no LISTENING line: {line!r} {stderr.read().decode()}")
    return proc, line.split()[1]


def stop_sim(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def graph_code(self) -> str:
        return self.json["error"]["code"]


class Client:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, *, data: bytes | None = None, json_body=None, form: dict | None = None,
             token: str | None = None, headers: dict | None = None, timeout: float = 5) -> Reply:
        headers = dict(headers or {})
        if json_body is not None:
            data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        if form is not None:
            data = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in form.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else self.base + path
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    # -- conveniences ---------------------------------------------------------------------

    def scenario(self, scenario: dict) -> None:
        reply = self.call("POST", "/_sim/scenario", json_body=scenario)
        assert reply.status == 200, reply.body

    def token_reply(self, tenant: str = TENANT, **fields: str) -> Reply:
        form = {"client_id": CLIENT, "client_secret": SECRET, "scope": GRAPH_SCOPE,
                "grant_type": "client_credentials"}
        form.update(fields)
        form = {k: v for k, v in form.items() if v is not None}
        return self.call("POST", f"/{quote(tenant, safe='')}/oauth2/v2.0/token", form=form)

    def token(self, **fields: str) -> str:
        reply = self.token_reply(**fields)
        assert reply.status == 200, reply.body
        return reply.json["access_token"]

    def graph(self, method: str, path: str, **kw) -> Reply:
        kw.setdefault("token", self.token())
        return self.call(method, path, **kw)

    def faults(self, *rules: dict) -> None:
        assert self.call("POST", "/_sim/faults", json_body={"faults": list(rules)}).status == 200

    def job_state(self, sp_index: int = 0, job_index: int = 0) -> dict:
        return self.call("GET", "/_sim/state").json["service_principals"][sp_index]["jobs"][job_index]

    def requests(self) -> list[dict]:
        return self.call("GET", "/_sim/requests").json["requests"]


def q(**params: str) -> str:
    """A query string with OData option names ($filter...) and fully encoded values."""
    return "?" + "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params.items())


def jobs_path(sp: str = AWS_SP, job: str | None = None, action: str | None = None) -> str:
    path = f"/v1.0/servicePrincipals/{sp}/synchronization/jobs"
    if job is not None:
        path += f"/{job}"
    if action is not None:
        path += f"/{action}"
    return path


def scenario(**top) -> dict:
    s = copy.deepcopy(DEMO)
    s.update(top)
    return s


def with_app(**app_fields) -> dict:
    s = scenario()
    s["tenants"][0]["apps"][0].update(app_fields)
    return s


def with_job(**job_fields) -> dict:
    s = scenario()
    s["service_principals"][0]["jobs"][0].update(job_fields)
    return s

