"""Self-tests of the simulator: fault rules, the request log, odd methods and paths, lifecycle.

Run: python3 -m pytest sim   (pytest is the only dependency)
"""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import urllib.error

import pytest

from .testing import AWS_JOB, CLIENT, SECRET, SIM_COMMAND, REPO, Client, jobs_path, start_sim, stop_sim


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
    assert SECRET not in text and token not in text and token.split(".")[2] not in text
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
    for path in ("/v1.0/users", "/beta/servicePrincipals", f"{jobs_path(job=AWS_JOB)}/bulkUpload"):
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
    result = subprocess.run([*SIM_COMMAND, "--host", "0.0.0.0"],
                            capture_output=True, text=True, timeout=10, cwd=REPO)
    assert result.returncode == 2 and result.stdout == "" and "loopback" in result.stderr
