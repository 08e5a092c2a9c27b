"""Self-tests of the Entra + Graph simulator, driven over HTTP with urllib only.

Run: python3 -m pytest sim/test_graph_sim.py   (pytest is the only dependency)
One simulator process serves the module; every test starts from a freshly loaded scenario.
"""

from __future__ import annotations

import copy
import http.client
import json
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

HERE = Path(__file__).resolve().parent
SIM = HERE / "graph_sim.py"
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
    proc = subprocess.Popen([sys.executable, str(SIM), "--port", "0", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
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


@pytest.fixture(scope="module")
def sim_url():
    proc, base = start_sim("--max-lifetime", "120", "--exit-on-stdin-eof")
    yield base
    stop_sim(proc)


@pytest.fixture
def sim(sim_url) -> Client:
    client = Client(sim_url)
    client.scenario(DEMO)
    return client


# ---------------------------------------------------------------------------------------------
# Basics
# ---------------------------------------------------------------------------------------------

def test_built_in_scenario_equals_demo_json():
    sys.path.insert(0, str(HERE))
    import graph_sim
    assert graph_sim.DEFAULT_SCENARIO == DEMO


def test_health_and_empty_scenario_body_loads_the_default(sim):
    assert sim.call("GET", "/_sim/health").json == {"ok": True}
    assert sim.call("POST", "/_sim/scenario", data=b"").json["jobs"] == 2


def test_invalid_scenario_is_rejected_with_the_field_named(sim):
    reply = sim.call("POST", "/_sim/scenario", json_body=with_job(cycle_secnds=2))
    assert reply.status == 400 and "cycle_secnds" in reply.json["error"]
    assert sim.call("GET", "/_sim/state").json["service_principals"][0]["displayName"] == "AWS IAM Identity Center"


# ---------------------------------------------------------------------------------------------
# Token endpoint
# ---------------------------------------------------------------------------------------------

def test_token_success_by_tenant_id_and_by_domain(sim):
    for tenant in (TENANT, DOMAIN):
        reply = sim.token_reply(tenant)
        assert reply.status == 200
        body = reply.json
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
        assert body["access_token"].startswith("simtok-")
        assert reply.headers["request-id"]


@pytest.mark.parametrize("tenant, fields, status, error, code", [
    ("not a tenant!", {}, 400, "invalid_request", 900023),
    (OTHER_TENANT, {}, 400, "invalid_request", 90002),
    ("fabrikam.onmicrosoft.com", {}, 400, "invalid_request", 90002),
    (TENANT, {"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    (TENANT, {"client_id": "00000000-1111-2222-3333-444444444444"}, 400, "unauthorized_client", 700016),
    (TENANT, {"client_secret": None}, 401, "invalid_client", 7000216),
    (TENANT, {"client_secret": "a-secret-id-not-its-value"}, 401, "invalid_client", 7000215),
    (TENANT, {"scope": "https://graph.microsoft.com"}, 400, "invalid_scope", 1002012),
    (TENANT, {"scope": "https://graph.microsoft.us/.default"}, 400, "invalid_resource", 500011),
    (TENANT, {"scope": None}, 400, "invalid_request", 900144),
])
def test_token_errors_carry_aadsts_codes(sim, tenant, fields, status, error, code):
    reply = sim.token_reply(tenant, **fields)
    assert reply.status == status
    body = reply.json
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    trailer = f"Trace ID: {body['trace_id']} Correlation ID: {body['correlation_id']} Timestamp: "
    assert trailer in body["error_description"]
    assert reply.headers["request-id"] == body["trace_id"]
    assert body["error_uri"].endswith(f"code={code}")


def test_disabled_app_gets_7000112(sim):
    sim.scenario(with_app(disabled=True))
    reply = sim.token_reply()
    assert reply.status == 401 and reply.json["error_codes"] == [7000112]


def test_rotation_expired_secret_is_7000222_and_the_new_one_works(sim):
    sim.scenario(with_app(secrets=[{"value": "old", "expired": True}, {"value": "new", "expired": False}]))
    assert sim.token_reply(client_secret="old").json["error_codes"] == [7000222]
    assert sim.token_reply(client_secret="new").status == 200


def test_token_request_as_json_reads_as_missing_fields(sim):
    reply = sim.call("POST", f"/{TENANT}/oauth2/v2.0/token", json_body={"grant_type": "client_credentials"})
    assert reply.status == 400 and reply.json["error_codes"] == [900144]


# ---------------------------------------------------------------------------------------------
# Bearer checks
# ---------------------------------------------------------------------------------------------

def test_bearer_missing_unknown_and_expired(sim):
    missing = sim.call("GET", "/v1.0/servicePrincipals")
    assert missing.status == 401 and missing.graph_code == "InvalidAuthenticationToken"
    assert missing.json["error"]["message"] == "Access token is empty."
    assert "www-authenticate" in missing.headers
    unknown = sim.call("GET", "/v1.0/servicePrincipals", token="simtok-forged")
    assert unknown.status == 401 and unknown.graph_code == "InvalidAuthenticationToken"
    token = sim.token()
    assert sim.call("GET", "/v1.0/servicePrincipals", token=token).status == 200
    assert sim.call("POST", "/_sim/expire-tokens").json["expired"] == 1
    expired = sim.call("GET", "/v1.0/servicePrincipals", token=token)
    assert expired.status == 401
    assert expired.json["error"]["message"] == "Lifetime validation failed, the token is expired."
    assert sim.call("GET", "/v1.0/servicePrincipals", token=sim.token()).status == 200


def test_token_expires_after_its_lifetime(sim):
    sim.scenario(scenario(token_lifetime_seconds=0.3))
    token = sim.token()
    assert sim.call("GET", "/v1.0/servicePrincipals", token=token).status == 200
    time.sleep(0.35)
    assert sim.call("GET", "/v1.0/servicePrincipals", token=token).status == 401


def test_graph_errors_echo_client_request_id(sim):
    sent = "c0ffee00-1111-2222-3333-444444444444"
    reply = sim.call("GET", "/v1.0/servicePrincipals", headers={"client-request-id": sent})
    assert reply.headers["client-request-id"] == sent
    inner = reply.json["error"]["innerError"]
    assert inner["client-request-id"] == sent
    assert inner["request-id"] == reply.headers["request-id"]


# ---------------------------------------------------------------------------------------------
# Service principals
# ---------------------------------------------------------------------------------------------

def extra_sp(i: int, name: str, tenant: str = TENANT) -> dict:
    return {"id": f"aaaaaaaa-0000-4000-8000-{i:012d}", "appId": f"bbbbbbbb-0000-4000-8000-{i:012d}",
            "displayName": name, "tenant_id": tenant, "jobs": []}


def test_filter_by_display_name_with_a_quote_and_select(sim):
    s = scenario()
    s["service_principals"].append(extra_sp(1, "O'Brien's App"))
    sim.scenario(s)
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName eq 'o''brien''s app'",
                                                                "$select": "id,displayName"}))
    assert reply.status == 200
    assert reply.json["value"] == [{"id": "aaaaaaaa-0000-4000-8000-000000000001", "displayName": "O'Brien's App"}]
    unescaped = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName eq 'O'Brien's App'"}))
    assert unescaped.status == 400 and unescaped.graph_code == "BadRequest"


def test_filter_finds_the_aws_app_case_insensitively_and_space_as_plus(sim):
    reply = sim.graph("GET", "/v1.0/servicePrincipals?$filter=displayName+eq+%27aws+IAM+identity+center%27"
                             "&$select=id,appId,displayName")
    assert reply.json["value"] == [{"id": AWS_SP, "appId": AWS_APP, "displayName": "AWS IAM Identity Center"}]


def test_unsupported_filter_and_unknown_option(sim):
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "startswith(displayName,'AWS')"}))
    assert reply.status == 400 and reply.graph_code in ("Request_UnsupportedQuery", "BadRequest")
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName ne 'x'"}))
    assert reply.status == 400 and reply.graph_code == "Request_UnsupportedQuery"
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$orderby": "displayName"}))
    assert reply.status == 400 and reply.graph_code == "Request_UnsupportedQuery"


def test_paging_follows_absolute_next_links(sim):
    s = scenario(page_size=2)
    s["service_principals"] += [extra_sp(i, f"App {i}") for i in range(5)]
    s["service_principals"].append(extra_sp(9, "Hidden", OTHER_TENANT))
    s["tenants"].append({"id": OTHER_TENANT, "domains": ["fabrikam.onmicrosoft.com"], "apps": []})
    sim.scenario(s)
    token = sim.token()
    names, url, pages = [], "/v1.0/servicePrincipals" + q(**{"$select": "id,displayName"}), 0
    while url:
        body = sim.call("GET", url, token=token).json
        pages += 1
        names += [sp["displayName"] for sp in body["value"]]
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith(sim.base + "/v1.0/servicePrincipals?")
    assert pages == 4 and len(names) == 7 and "Hidden" not in names


def test_service_principal_by_id_and_by_app_id(sim):
    assert sim.graph("GET", f"/v1.0/servicePrincipals/{AWS_SP}").json["appId"] == AWS_APP
    assert sim.graph("GET", f"/v1.0/servicePrincipals(appId='{AWS_APP}')").json["id"] == AWS_SP
    missing = sim.graph("GET", "/v1.0/servicePrincipals/00000000-0000-4000-8000-000000000000")
    assert missing.status == 404 and missing.graph_code == "Request_ResourceNotFound"
    assert sim.graph("GET", "/v1.0/servicePrincipals(appId='00000000-0000-4000-8000-000000000000')").status == 404


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------

def test_jobs_list_and_get_with_dotted_and_percent_encoded_ids(sim):
    token = sim.token()
    listed = sim.call("GET", jobs_path(), token=token).json["value"]
    assert [j["id"] for j in listed] == [AWS_JOB]
    assert set(listed[0]["status"]) >= {"code", "lastExecution", "quarantine", "countSuccessiveCompleteFailures"}
    assert listed[0]["schedule"] == {"expiration": None, "interval": "PT40M", "state": "Active"}
    for job_segment in (AWS_JOB, AWS_JOB.replace(".", "%2E"), "".join(f"%{b:02X}" for b in AWS_JOB.encode())):
        reply = sim.call("GET", jobs_path(job=job_segment), token=token)
        assert reply.status == 200 and reply.json["id"] == AWS_JOB
    by_app_id = sim.call("GET", jobs_path(sp=AWS_APP, job=AWS_JOB), token=token)
    assert by_app_id.json["id"] == AWS_JOB
    assert sim.call("GET", jobs_path(job="AWSSCIM.nope.nope"), token=token).status == 404
    assert sim.call("GET", jobs_path(sp="00000000-0000-4000-8000-000000000000"), token=token).status == 404


def test_jobs_are_paged(sim):
    s = scenario(page_size=1)
    s["service_principals"][0]["jobs"].append({"id": "AWSSCIM.second.job"})
    sim.scenario(s)
    first = sim.graph("GET", jobs_path()).json
    assert len(first["value"]) == 1 and first["@odata.nextLink"].endswith("$skiptoken=1")
    second = sim.graph("GET", first["@odata.nextLink"]).json
    assert second["value"][0]["id"] == "AWSSCIM.second.job" and "@odata.nextLink" not in second


def test_restart_with_and_without_criteria(sim):
    token = sim.token()
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == 204
    body = {"criteria": {"resetScope": "Watermark, Escrows"}}
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token, json_body=body).status == 204
    state = sim.job_state()
    assert state["restart_count"] == 2 and state["trigger_count"] == 2
    assert [t["reset_scope"] for t in state["triggers"]] == [None, ["Watermark", "Escrows"]]
    assert state["last_restart_criteria"] == {"resetScope": "Watermark, Escrows"}


@pytest.mark.parametrize("body, named", [
    ({"criteria": {"resetScope": "Watermark,Everything"}}, "Everything"),
    ({"criteria": {"resetScope": "watermark"}}, "watermark"),
    ({"criteria": {"scope": "Full"}}, "resetScope"),
    ({"resetScope": "Full"}, "resetScope"),
])
def test_restart_rejects_bad_criteria(sim, body, named):
    reply = sim.graph("POST", jobs_path(job=AWS_JOB, action="restart"), json_body=body)
    assert reply.status == 400 and reply.graph_code == "BadRequest" and named in reply.json["error"]["message"]
    assert sim.job_state()["trigger_count"] == 0


def test_cycle_finishes_after_cycle_seconds_with_the_outcome(sim):
    outcome = {"state": "Succeeded", "countEntitled": 7, "countImported": 7, "countExported": 2}
    sim.scenario(with_job(cycle_seconds=0.3, cycle_outcome=outcome, steadyStateLastAchievedTime=None))
    token = sim.token()
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == 204
    running = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert running["code"] == "Active" and running["lastExecution"]["timeEnded"] is None
    assert running["lastExecution"]["state"] is None
    activity = running["lastExecution"]["activityIdentifier"]
    time.sleep(0.35)
    done = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert done["lastExecution"]["state"] == "Succeeded" and done["lastExecution"]["timeEnded"]
    assert done["lastExecution"]["countExported"] == 2 and done["lastExecution"]["countEntitled"] == 7
    assert done["lastSuccessfulExecution"]["activityIdentifier"] == activity
    assert done["lastSuccessfulExecutionWithExports"]["activityIdentifier"] == activity
    assert done["steadyStateLastAchievedTime"] == done["lastExecution"]["timeEnded"]


def test_failed_cycles_count_and_may_quarantine(sim):
    error = {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure", "message": "401",
             "tenantActionable": True}
    outcome = {"state": "Failed", "error": error, "quarantine": {"reason": "EncounteredQuarantineException"}}
    sim.scenario(with_job(cycle_seconds=0.05, cycle_outcome=outcome))
    token = sim.token()
    for expected in (1, 2):
        sim.call("POST", jobs_path(job=AWS_JOB, action="start"), token=token)
        time.sleep(0.08)
        status = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
        assert status["countSuccessiveCompleteFailures"] == expected
    assert status["code"] == "Quarantine" and status["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert status["lastExecution"]["error"]["code"].startswith("SystemForCrossDomain")


def test_quarantine_start_restart_scopes_and_pause(sim):
    quarantine = {"reason": "EncounteredBaseEscrowThreshold", "seriesCount": 2}
    sim.scenario(with_job(quarantine=quarantine, status_code="Quarantine"))
    token = sim.token()
    path = lambda action: jobs_path(job=AWS_JOB, action=action)  # noqa: E731
    sim.call("POST", path("restart"), token=token, json_body={"criteria": {"resetScope": "Watermark"}})
    assert sim.job_state()["job"]["status"]["code"] == "Quarantine"
    sim.call("POST", path("restart"), token=token, json_body={"criteria": {"resetScope": "QuarantineState"}})
    assert sim.job_state()["job"]["status"]["quarantine"] is None
    assert sim.call("POST", path("pause"), token=token).status == 204
    job = sim.job_state()["job"]
    assert job["status"]["code"] == "Paused" and job["schedule"]["state"] == "Paused"
    sim.scenario(with_job(quarantine=quarantine, status_code="Quarantine"))
    assert sim.call("POST", path("start"), token=sim.token()).status == 204
    state = sim.job_state()
    assert state["job"]["status"]["code"] == "Active" and state["job"]["status"]["quarantine"] is None
    assert state["start_count"] == 1 and state["triggers"][0]["status_before"] == "Quarantine"


def test_trigger_while_running_is_recorded(sim):
    sim.scenario(with_job(cycle_running=True, cycle_seconds=30))
    sim.graph("POST", jobs_path(job=AWS_JOB, action="start"))
    assert sim.job_state()["triggers"][0]["while_running"] is True


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------

def test_no_roles_means_403_everywhere(sim):
    sim.scenario(with_app(roles=[]))
    token = sim.token()
    for method, path in (("GET", "/v1.0/servicePrincipals"), ("GET", jobs_path()),
                         ("POST", jobs_path(job=AWS_JOB, action="restart"))):
        reply = sim.call(method, path, token=token)
        assert reply.status == 403 and reply.graph_code == "Authorization_RequestDenied"
        assert reply.json["error"]["message"] == "Insufficient privileges to complete the operation."


def test_read_only_roles_cannot_restart(sim):
    sim.scenario(with_app(roles=["Synchronization.Read.All", "Application.Read.All"]))
    token = sim.token()
    assert sim.call("GET", jobs_path(), token=token).status == 200
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == 403


@pytest.mark.parametrize("owner, expected", [(True, 204), (False, 403)])
def test_owned_by_needs_the_caller_to_own_the_service_principal(sim, owner, expected):
    s = with_app(roles=["Application.ReadWrite.OwnedBy"])
    s["service_principals"][0]["owners"] = [CALLER_SP] if owner else ["11111111-2222-4333-8444-555555555555"]
    sim.scenario(s)
    token = sim.token()
    by_name = q(**{"$filter": "displayName eq 'AWS IAM Identity Center'"})
    found = sim.call("GET", "/v1.0/servicePrincipals" + by_name, token=token)
    assert len(found.json["value"]) == (1 if owner else 0)
    assert sim.call("GET", jobs_path(), token=token).status == (200 if owner else 403)
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == expected


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

def test_fault_status_with_retry_after_applies_times_then_stops(sim):
    sim.faults({"method": "POST", "path_contains": "/restart", "status": 429, "headers": {"Retry-After": "2"},
                "times": 2})
    token = sim.token()
    path = jobs_path(job=AWS_JOB, action="restart")
    for _ in range(2):
        reply = sim.call("POST", path, token=token)
        assert reply.status == 429 and reply.headers["retry-after"] == "2" and reply.graph_code == "TooManyRequests"
    assert sim.call("POST", path, token=token).status == 204
    assert sim.job_state()["restart_count"] == 1
    assert [r["fault"] for r in sim.requests() if r["path"].endswith("/restart")] == [0, 0, None]


def test_fault_on_token_endpoint_uses_an_entra_body(sim):
    sim.faults({"endpoint": "token", "status": 503, "headers": {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
                "times": 1})
    reply = sim.token_reply()
    assert reply.status == 503 and reply.json["error"] == "temporarily_unavailable"
    assert reply.headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert sim.token_reply().status == 200


def test_fault_drop_closes_without_a_response(sim):
    sim.faults({"path_contains": "/synchronization/jobs", "drop": True, "times": 1})
    token = sim.token()
    with pytest.raises((urllib.error.URLError, http.client.RemoteDisconnected, ConnectionError)):
        sim.call("GET", jobs_path(), token=token)
    assert sim.call("GET", jobs_path(), token=token).status == 200
    assert sim.requests()[-2]["status"] is None


def test_fault_delay_slows_a_normal_answer(sim):
    sim.faults({"endpoint": "graph", "delay_ms": 300, "times": 1})
    token = sim.token()
    began = time.monotonic()
    assert sim.call("GET", jobs_path(), token=token).status == 200
    assert time.monotonic() - began >= 0.3


def test_fault_after_applies_the_action_then_loses_the_answer(sim):
    sim.faults({"path_contains": "/restart", "status": 504, "when": "after", "times": 1})
    reply = sim.graph("POST", jobs_path(job=AWS_JOB, action="restart"))
    assert reply.status == 504 and reply.graph_code == "GatewayTimeout"
    assert sim.job_state()["restart_count"] == 1


# ---------------------------------------------------------------------------------------------
# Request log, odd methods, unknown paths
# ---------------------------------------------------------------------------------------------

def test_request_log_holds_no_secret_or_token(sim):
    token = sim.token()
    headers = {"client-request-id": "abc-123", "User-Agent": "entra-idc-sync/0.1.0"}
    sim.call("GET", jobs_path(), token=token, headers=headers)
    log = sim.requests()
    text = json.dumps(log) + json.dumps(sim.call("GET", "/_sim/state").json)
    assert SECRET not in text and token not in text and token.removeprefix("simtok-") not in text
    token_request, graph_request = log
    assert token_request["endpoint"] == "token" and "client_secret" not in token_request["form"]
    assert len(token_request["form"]["client_secret_sha256"]) == 64
    assert token_request["form"]["client_id"] == CLIENT
    assert graph_request["token_id"] == token_request["issued_token_id"] and graph_request["token_id"]
    assert graph_request["client_request_id"] == "abc-123" and graph_request["user_agent"] == "entra-idc-sync/0.1.0"
    assert sim.call("DELETE", "/_sim/requests").status == 200 and sim.requests() == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD"])
def test_other_methods_on_graph_paths_are_405(sim, method):
    reply = sim.graph(method, jobs_path(job=AWS_JOB))
    assert reply.status == 405


def test_unknown_path_is_a_graph_style_404(sim):
    for path in ("/v1.0/users", "/beta/servicePrincipals", f"{jobs_path(job=AWS_JOB)}/schema"):
        reply = sim.graph("GET", path)
        assert reply.status == 404 and reply.graph_code == "Request_ResourceNotFound"


# ---------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------

def test_max_lifetime_exit_and_latency():
    proc, base = start_sim("--max-lifetime", "1", "--latency-ms", "200")
    try:
        client = Client(base)
        began = time.monotonic()
        assert client.call("GET", "/v1.0/servicePrincipals").status == 401
        assert time.monotonic() - began >= 0.2
        assert proc.wait(5) == 0
    finally:
        stop_sim(proc)


def test_exits_when_stdin_closes():
    proc, _ = start_sim("--exit-on-stdin-eof")
    try:
        proc.stdin.close()
        assert proc.wait(5) == 0
    finally:
        stop_sim(proc)


def test_refuses_a_non_loopback_host():
    result = subprocess.run([sys.executable, str(SIM), "--host", "0.0.0.0"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and result.stdout == "" and "loopback" in result.stderr
