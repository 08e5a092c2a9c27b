"""Self-tests of the controls issue 13's tests use: Microsoft's documented shapes (decimal
Retry-After, 0001-01-01 "never", placeholder and running executions, progress, plain restarts),
odd token answers, and hostile answers (huge, endless, echoing, stalling, odd ids)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from .testing import AWS_JOB, AWS_SP, NEVER, PLACEHOLDER_EXECUTION, jobs_path, q, scenario, with_app, with_job


def raw_get(base: str, path: str, token: str, timeout: float = 5) -> http.client.HTTPResponse:
    """A response whose body is still unread (for huge and stalling bodies)."""
    conn = http.client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=timeout)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    return conn.getresponse()


# -- Microsoft's documented answers ----------------------------------------------------------------

def test_retry_after_goes_out_verbatim_decimal_or_long(sim):
    sim.faults({"path_contains": "/restart", "status": 429, "headers": {"Retry-After": "2.128"}, "times": 1},
               {"path_contains": "/restart", "status": 503, "headers": {"Retry-After": 120}, "times": 1})
    token = sim.token()
    first = sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token)
    second = sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token)
    assert (first.status, first.headers["retry-after"]) == (429, "2.128")
    assert (second.status, second.headers["retry-after"]) == (503, "120")
    assert sim.job_state()["trigger_count"] == 0, "a 429/503 before the handler means Graph did not act"


@pytest.mark.parametrize("when, applied", [("before", 0), ("after", 1)])
def test_504_on_start_with_and_without_the_start_applied(sim, when, applied):
    sim.scenario(with_job(status_code="Paused", schedule_state="Paused"))
    sim.faults({"path_contains": "/start", "status": 504, "when": when, "times": 1})
    reply = sim.graph("POST", jobs_path(job=AWS_JOB, action="start"))
    assert reply.status == 504 and reply.graph_code == "GatewayTimeout"
    assert sim.job_state()["start_count"] == applied


@pytest.mark.parametrize("never_as, shown", [("placeholder", NEVER), ("empty", ""), ("null", None)])
def test_never_renders_as_configured_until_a_cycle_succeeds(sim, never_as, shown):
    sim.scenario(with_job(never_as=never_as, steadyStateFirstAchievedTime=None, steadyStateLastAchievedTime=None,
                          cycle_seconds=0.05))
    token = sim.token()
    status = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert status["steadyStateFirstAchievedTime"] == shown and status["steadyStateLastAchievedTime"] == shown
    sim.call("POST", jobs_path(job=AWS_JOB, action="start"), token=token)
    time.sleep(0.08)
    status = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert status["steadyStateFirstAchievedTime"].startswith("20")
    assert status["steadyStateLastAchievedTime"] == status["lastExecution"]["timeEnded"]


def test_a_literal_placeholder_time_is_passed_through_and_replaced_by_a_real_first_success(sim):
    sim.scenario(with_job(steadyStateFirstAchievedTime=NEVER, steadyStateLastAchievedTime="", cycle_seconds=0.05,
                          last_execution=PLACEHOLDER_EXECUTION))
    token = sim.token()
    status = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert status["steadyStateFirstAchievedTime"] == NEVER and status["steadyStateLastAchievedTime"] == ""
    assert status["lastExecution"] == PLACEHOLDER_EXECUTION and status["lastSuccessfulExecution"] is None
    sim.call("POST", jobs_path(job=AWS_JOB, action="start"), token=token)
    time.sleep(0.08)
    status = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert status["steadyStateFirstAchievedTime"].startswith("20")


@pytest.mark.parametrize("shape", ["placeholder", "previous", "overlay"])
def test_running_cycle_shapes_and_progress(sim, shape):
    running = {"placeholder": "placeholder", "previous": "previous",
               "overlay": {"state": "Succeeded", "timeEnded": NEVER}}[shape]
    sim.scenario(with_job(running_execution=running, running_progress=True, cycle_seconds=0.3))
    token = sim.token()
    before = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert before["progress"] == []
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token, json_body={}).status == 204
    during = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    execution = during["lastExecution"]
    if shape == "placeholder":
        assert execution == PLACEHOLDER_EXECUTION
    elif shape == "previous":
        assert execution == before["lastExecution"]
    else:
        assert execution["state"] == "Succeeded" and execution["timeEnded"] == NEVER
        assert execution["activityIdentifier"] != before["lastExecution"]["activityIdentifier"]
    [progress] = during["progress"]
    assert progress["completedUnits"] < progress["totalUnits"] and progress["progressObservationDateTime"]
    time.sleep(0.35)
    after = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert after["progress"] == [] and after["lastExecution"]["state"] == "Succeeded"
    assert after["lastExecution"]["timeEnded"] > after["lastExecution"]["timeBegan"]
    assert after["lastExecution"]["activityIdentifier"] != before["lastExecution"]["activityIdentifier"]


def test_running_progress_templates_get_an_observation_time(sim):
    templates = [{"completedUnits": 3, "totalUnits": 10, "units": "Users"}]
    sim.scenario(with_job(cycle_running=True, cycle_seconds=30, running_progress=templates,
                          progress=[{"completedUnits": 10, "totalUnits": 10, "units": "Users"}]))
    [progress] = sim.graph("GET", jobs_path(job=AWS_JOB)).json["status"]["progress"]
    assert progress["completedUnits"] == 3 and progress["progressObservationDateTime"].startswith("20")


@pytest.mark.parametrize("body", [None, {}, {"criteria": None}, {"criteria": {}}, {"criteria": {"resetScope": ""}}])
def test_a_plain_restart_in_any_spelling_lifts_quarantine(sim, body):
    sim.scenario(with_job(quarantine={"reason": "EncounteredBaseEscrowThreshold"}))
    reply = sim.graph("POST", jobs_path(job=AWS_JOB, action="restart"), json_body=body)
    assert reply.status == 204, reply.body
    state = sim.job_state()
    assert state["job"]["status"]["code"] == "Active" and state["job"]["status"]["quarantine"] is None
    assert state["triggers"][0]["reset_scope"] is None


def test_request_log_records_content_type_and_body_but_never_the_form(sim):
    token = sim.token()
    sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token, json_body={})
    sim.call("POST", jobs_path(job=AWS_JOB, action="start"), token=token)
    token_request, restart, start = sim.requests()
    assert token_request["body_text"] is None and token_request["body_length"] > 0
    assert token_request["content_type"] == "application/x-www-form-urlencoded"
    assert (restart["content_type"], restart["body_text"], restart["json_body"]) == ("application/json", "{}", {})
    assert (start["body_text"], start["body_length"], start["json_body"]) == (None, 0, None)


# -- token answers ---------------------------------------------------------------------------------

def test_token_response_overrides(sim):
    sim.scenario(with_app(token_response={"expires_in": "3599", "ext_expires_in": "$absent"}))
    body = sim.token_reply().json
    assert body["expires_in"] == "3599" and "ext_expires_in" not in body
    assert sim.call("GET", jobs_path(), token=body["access_token"]).status == 200
    sim.scenario(with_app(token_response={"access_token": ""}))
    assert sim.token_reply().json["access_token"] == "" and sim.call("GET", "/_sim/state").json["tokens_issued"] == 0
    sim.scenario(with_app(token_response={"access_token": "{token}\u0007\r\n"}))
    odd = sim.token_reply().json["access_token"]
    assert "simtok-" in odd and odd.endswith("\u0007\r\n")


# -- hostile answers -------------------------------------------------------------------------------

@pytest.mark.parametrize("chunked", [False, True])
def test_huge_bodies_are_streamed_with_the_exact_size(sim, chunked):
    size = 20 * 1024 * 1024
    sim.faults({"path_contains": "/synchronization/jobs", "body_bytes": size, "chunked": chunked, "times": 1},
               {"path_contains": "/synchronization/jobs", "body_bytes": 40, "times": 1})
    token = sim.token()
    response = raw_get(sim.base, jobs_path(), token)
    assert response.status == 200
    assert response.getheader("Content-Length") == (None if chunked else str(size))
    total = 0
    while chunk := response.read(1 << 20):
        total += len(chunk)
    assert total == size
    assert json.loads(sim.call("GET", jobs_path(), token=token).body) == {"value": []}


def test_next_links_can_point_at_themselves_or_go_on_forever(sim):
    sim.faults({"path_contains": "/synchronization/jobs", "status": 200,
                "body": {"value": [], "@odata.nextLink": "{self}"}, "times": 1},
               {"path_contains": "/synchronization/jobs", "status": 200,
                "body": {"value": [], "@odata.nextLink": "{next}"}})
    token = sim.token()
    url = sim.base + jobs_path() + q(**{"$top": "5"})
    assert sim.call("GET", url, token=token).json["@odata.nextLink"] == url
    seen = set()
    for _ in range(5):
        url = sim.call("GET", url, token=token).json["@odata.nextLink"]
        assert url not in seen and url.startswith(sim.base + jobs_path() + "?")
        seen.add(url)
    assert url.endswith("$skiptoken=5")


def test_an_echoing_server_puts_the_authorization_header_into_its_error(sim):
    sim.faults({"endpoint": "graph", "status": 500, "times": 2,
                "body": {"error": {"code": "generalException", "message": "bad header: {authorization}"}}})
    token = sim.token()
    reply = sim.call("GET", jobs_path(), token=token)
    assert reply.status == 500 and reply.json["error"]["message"] == f"bad header: Bearer {token}"
    assert token not in json.dumps(sim.requests()) + json.dumps(sim.call("GET", "/_sim/faults").json)


def test_a_body_that_stalls_mid_stream(sim):
    sim.faults({"path_contains": "/synchronization/jobs", "stall_after_bytes": 10, "stall_ms": 600, "times": 2})
    token = sim.token()
    response = raw_get(sim.base, jobs_path(), token, timeout=0.2)
    assert response.status == 200 and response.read(10)
    with pytest.raises((socket.timeout, TimeoutError)):
        response.read()
    patient = raw_get(sim.base, jobs_path(), token, timeout=5)
    began = time.monotonic()
    assert json.loads(patient.read())["value"][0]["id"] == AWS_JOB
    assert time.monotonic() - began >= 0.5


@pytest.mark.parametrize("odd", [None, "", ".", ".."])
def test_odd_ids_and_a_job_listed_twice(sim, odd):
    s = scenario()
    s["service_principals"][0]["graph_id"] = odd
    s["service_principals"][0]["jobs"].append({"id": "AWSSCIM.odd.job", "graph_id": odd})
    s["service_principals"][0]["jobs"][0]["listed_times"] = 2
    sim.scenario(s)
    token = sim.token()
    [sp] = sim.call("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName eq 'AWS IAM Identity Center'"}),
                    token=token).json["value"]
    assert sp["id"] == odd
    ids = [j["id"] for j in sim.call("GET", jobs_path(), token=token).json["value"]]
    assert ids == [AWS_JOB, AWS_JOB, odd]
    assert sim.call("GET", jobs_path(sp=AWS_SP, job=AWS_JOB), token=token).status == 200


def test_display_names_with_newlines_are_served_and_found(sim):
    forged = 'AWS IAM Identity Center\n{"level":"ERROR","message":"forged"}'
    s = scenario()
    s["service_principals"][0]["displayName"] = forged
    sim.scenario(s)
    found = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName eq '" + forged + "'"}))
    assert [sp["displayName"] for sp in found.json["value"]] == [forged]
