"""Microsoft's documented shapes and hostile answers (issue 13, items 1-14), end to end: the
built bootstrap through the Runtime API against moto_server and the Graph simulator."""

import json
import socket
import threading
import time

import pytest

from devtools.services import scenario_with_jobs
from helpers import graph_calls, only_job, token_calls


class RecordingProxy:
    """A loopback "proxy" that records the first line of every connection and refuses it."""

    def __init__(self):
        self.lines: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    head = connection.recv(65536).decode("latin-1")
                except OSError:
                    head = ""
                self.lines.append(head.split("\r\n", 1)[0])
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    def close(self):
        self._stop.set()
        self._thread.join()
        self._server.close()


def test_proxies_never_carry_plain_http(sim, invoke):
    """Secrets Manager (AWS SDK), the token endpoint and Graph are all plain http on loopback
    here: none of it may reach a proxy, whatever proxy variables are set."""
    proxy = RecordingProxy()
    try:
        env = {name: proxy.url for name in
               ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")}
        run = invoke({"action": "status"}, env=env)
    finally:
        proxy.close()
    assert proxy.lines == [], f"plain http went through the proxy: {proxy.lines}"
    assert only_job(run.ok())["result"] == "statusRead"


def test_an_unusable_https_proxy_is_a_clear_startup_error(invoke):
    run = invoke({"action": "status"}, env={"HTTPS_PROXY": "socks5://user:pw-canary@proxy:1080"})
    assert run.error_type == "StartupError", run.error_message
    assert "HTTPS_PROXY is not a usable proxy URL" in run.error_message
    assert "pw-canary" not in run.error_message


def test_a_decimal_retry_after_is_honoured(sim, invoke):
    """Microsoft's throttling sample says `Retry-After: 2.128`: wait that long, not ~0.4 s."""
    sim.add_faults([{"path_contains": "/restart", "status": 429,
                     "headers": {"Retry-After": "2.128"}, "times": 1}])
    run = invoke({})
    assert only_job(run.ok())["result"] == "triggered"
    posts = graph_calls(sim, "POST", "/restart")
    assert [c["status"] for c in posts] == [429, 204]
    assert run.duration_ms >= 2100, f"retried after {run.duration_ms} ms"


def _token_answer(sim, body):
    sim.add_faults([{"endpoint": "token", "status": 200, "body": body}])


def test_an_empty_access_token_is_a_bad_answer_from_the_token_endpoint(sim, invoke):
    _token_answer(sim, {"token_type": "Bearer", "expires_in": 3599, "access_token": ""})
    run = invoke({"action": "status"})
    assert run.error_type == "EntraUnavailable", run.error_message
    assert "bad answer" in run.error_message and "empty access_token" in run.error_message
    assert "permission" not in run.error_message.lower()
    assert len(token_calls(sim)) == 1, "a bad token answer is not retried locally"
    assert graph_calls(sim) == [], "an empty token is never sent to Graph"


def test_a_token_with_control_characters_is_a_bad_answer(sim, invoke):
    _token_answer(sim, {"token_type": "Bearer", "expires_in": "3599",
                        "access_token": "eyJ0eXAi.abc\r\nX-Injected: 1"})
    run = invoke({"action": "status"})
    assert run.error_type == "EntraUnavailable", run.error_message
    assert "bad answer" in run.error_message and "control characters" in run.error_message
    assert "did not answer" not in run.error_message
    assert "X-Injected" not in run.error_message
    assert len(token_calls(sim)) == 1
    assert graph_calls(sim) == []


def test_expires_in_as_a_string_is_accepted(sim, scenario, invoke):
    scenario["tenants"][0]["apps"][0]["token_response"] = {"expires_in": "3599", "ext_expires_in": "3599"}
    sim.set_scenario(scenario)
    runs = invoke([{"action": "status"}, {"action": "status"}])
    assert all(run.succeeded for run in runs), [run.error_message for run in runs]
    assert len(token_calls(sim)) == 1, "the token is cached for its lifetime"


def test_a_bell_in_the_sims_token_is_a_bad_answer(sim, scenario, invoke):
    scenario["tenants"][0]["apps"][0]["token_response"] = {"access_token": "{token}\u0007"}
    sim.set_scenario(scenario)
    run = invoke({"action": "status"})
    assert run.error_type == "EntraUnavailable" and "bad answer" in run.error_message
    assert graph_calls(sim) == []


def test_a_secret_with_a_byte_order_mark_is_accepted(sim, invoke, moto):
    from conftest import DEMO_SECRET
    moto.values.add(DEMO_SECRET["client_secret"])
    secret_id = moto.put_secret("\ufeff" + json.dumps(DEMO_SECRET))
    run = invoke({"action": "status"}, env={"SECRET_ID": secret_id})
    assert only_job(run.ok())["result"] == "statusRead"


def test_text_logs_cannot_be_forged_by_a_display_name(sim, invoke, scenario):
    forged = "AWS IAM Identity Center\nERROR forged line"
    scenario["service_principals"][0]["displayName"] = forged
    sim.set_scenario(scenario)
    run = invoke({"action": "status"},
                 env={"APP_DISPLAY_NAME": forged, "AWS_LAMBDA_LOG_FORMAT": "Text"})
    assert run.succeeded, run.error_message
    assert not any(line.startswith("ERROR forged") for line in run.logs), run.log_text()
    assert any("\\nERROR forged line" in line for line in run.logs), run.log_text()


# -- Graph: throttling against the deadline, 504 to a trigger, request bodies -----------------

def test_a_retry_after_beyond_the_deadline_reports_graphs_answer(sim, invoke):
    """A 429 asking for longer than the invocation has left: Graph did not act, so the admin
    gets GraphThrottled with the wait asked for and the request-id, never "may or may not"."""
    sim.add_faults([{"path_contains": "/restart", "status": 429, "headers": {"Retry-After": "120"}}])
    run = invoke({}, timeout_s=8)
    assert run.error_type == "GraphThrottled", run.error_message
    assert "120" in run.error_message and "request-id" in run.error_message
    assert "may or may not" not in run.error_message
    assert len(graph_calls(sim, "POST", "/restart")) == 1


def test_a_503_with_a_long_retry_after_is_graph_unavailable(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 503,
                     "headers": {"Retry-After": "300"}}])
    run = invoke({"action": "status"}, timeout_s=8)
    assert run.error_type == "GraphUnavailable", run.error_message
    assert "300" in run.error_message and "request-id" in run.error_message


def test_a_plain_restart_sends_an_empty_json_object(sim, invoke):
    assert only_job(invoke({}).ok())["result"] == "triggered"
    [post] = graph_calls(sim, "POST", "/restart")
    assert post["json_body"] == {}, post
    assert post["content_type"].startswith("application/json"), post


def test_start_sends_no_body_as_documented(sim, scenario, invoke):
    job_of(scenario).update(status_code="Paused", schedule_state="Paused")
    sim.set_scenario(scenario)
    assert only_job(invoke({"action": "start"}).ok())["result"] == "triggered"
    [post] = graph_calls(sim, "POST", "/start")
    assert (post["json_body"], post["body_length"]) == (None, 0), post


def test_a_504_to_a_restart_that_graph_acted_on_is_not_sent_again(sim, invoke):
    sim.add_faults([{"path_contains": "/restart", "status": 504, "when": "after", "times": 1}])
    job = only_job(invoke({}).ok())
    assert job["result"] == "triggered"
    assert sim.state()["service_principals"][0]["jobs"][0]["restart_count"] == 1
    assert len(graph_calls(sim, "POST", "/restart")) == 1


def test_a_504_to_a_restart_that_graph_did_not_act_on_is_sent_again(sim, invoke):
    sim.add_faults([{"path_contains": "/restart", "status": 504, "times": 1}])
    job = only_job(invoke({}).ok())
    assert job["result"] == "triggered"
    assert sim.state()["service_principals"][0]["jobs"][0]["restart_count"] == 1
    assert [c["status"] for c in graph_calls(sim, "POST", "/restart")] == [504, 204]


# -- Graph: the 0001-01-01 placeholder, running cycles, quarantine after a restart -----------

PLACEHOLDER = "0001-01-01T00:00:00Z"


def job_of(scenario):
    return scenario["service_principals"][0]["jobs"][0]


def test_a_brand_new_job_with_placeholder_times_is_not_judged(sim, scenario, invoke):
    """Microsoft's examples: steadyStateLastAchievedTime 0001-01-01 and, for a job in its
    first cycle, a placeholder lastExecution with state Failed and error code None."""
    job_of(scenario).update(
        status_code="NotRun", steadyStateLastAchievedTime=PLACEHOLDER, steadyStateFirstAchievedTime="",
        last_execution={"activityIdentifier": None, "countEntitled": 0, "countExported": 0, "countEscrowed": 0,
                        "state": "Failed", "timeBegan": PLACEHOLDER, "timeEnded": PLACEHOLDER,
                        "error": {"code": "None", "message": "", "tenantActionable": False}},
        last_successful_execution=None)
    sim.set_scenario(scenario)
    run = invoke({"action": "status"})
    job = only_job(run.ok())
    assert job["health"]["healthy"], job["health"]
    assert "0001" not in json.dumps(job["health"])
    assert job["lastExecution"] is None, "a placeholder execution is no execution"


def test_a_placeholder_last_execution_does_not_block_a_restart(sim, scenario, invoke):
    job_of(scenario).update(last_execution={"state": "Failed", "timeBegan": PLACEHOLDER, "timeEnded": "",
                                            "error": {"code": "None"}})
    sim.set_scenario(scenario)
    job = only_job(invoke({}).ok())
    assert job["result"] == "triggered", job.get("skipReason")


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_running_cycle_with_a_non_null_end_is_left_alone(sim, scenario, invoke):
    """timeEnded is non-nullable in Microsoft's schema: a running cycle may carry the
    placeholder, or the previous cycle's end (before its own begin)."""
    from datetime import datetime, timedelta, timezone
    began = datetime.now(timezone.utc) - timedelta(minutes=30)
    for ended in (PLACEHOLDER, _iso(began - timedelta(hours=1))):
        job_of(scenario).update(last_execution={"state": "Succeeded", "timeBegan": _iso(began),
                                                "timeEnded": ended})
        sim.set_scenario(scenario)
        job = only_job(invoke({}).ok())
        assert job["result"] == "skipped", (ended, job)
        assert "in progress" in job["skipReason"], job["skipReason"]
        assert graph_calls(sim, "POST") == []


@pytest.mark.parametrize("shape", ["placeholder", "previous", "overlay"])
def test_a_waited_cycle_that_graph_shows_running_is_running(sim, scenario, invoke, shape):
    running = {"placeholder": "placeholder", "previous": "previous",
               "overlay": {"state": "Succeeded", "timeEnded": PLACEHOLDER}}[shape]
    job_of(scenario).update(running_execution=running, running_progress=True, cycle_seconds=60)
    sim.set_scenario(scenario)
    job = only_job(invoke({"wait": True, "waitLimitSeconds": 3}).ok())
    assert job["result"] == "triggered"
    assert job["cycle"]["state"] == "running", job["cycle"]
    assert job["cycle"]["durationSeconds"] is None


def test_a_plain_restart_lifts_quarantine_in_the_judgement(sim, scenario, invoke):
    job_of(scenario).update(quarantine={"reason": "EncounteredQuarantineException",
                                        "currentBegan": "2026-11-28T06:00:00Z", "seriesCount": 2})
    sim.set_scenario(scenario)
    run = invoke({})
    job = only_job(run.ok())
    assert job["result"] == "triggered"
    assert not job["health"]["quarantined"], job["health"]
    assert "Quarantined" not in [p["code"] for p in job["health"]["problems"]]
    [metrics] = [line for line in run.json_logs() if "_aws" in line and "Quarantined" in line]
    assert metrics["Quarantined"] == 0


def test_a_restart_that_keeps_quarantine_still_reports_it(sim, scenario, invoke):
    job_of(scenario).update(quarantine={"reason": "EncounteredQuarantineException",
                                        "currentBegan": "2026-11-28T06:00:00Z", "seriesCount": 2})
    sim.set_scenario(scenario)
    job = only_job(invoke({"resetScope": "Watermark"}).ok())
    assert job["result"] == "triggered"
    assert job["health"]["quarantined"]


# -- Graph: bad ids, duplicates, endless paging, huge and hostile answers ----------------------

JOB_ID = "AWSSCIM.4f9a2c1b8e7d4f60a1b2c3d4e5f60718.8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"
OLD_RUN = {"state": "Succeeded", "timeBegan": "2026-01-01T00:00:00Z", "timeEnded": "2026-01-01T00:01:00Z"}


def _job(job_id):
    return {"id": job_id, "templateId": "AWSSCIM",
            "status": {"code": "Active", "lastExecution": OLD_RUN}}


def test_jobs_with_bad_ids_are_skipped_and_duplicates_acted_on_once(sim, invoke):
    listed = [_job(".."), _job("."), _job(""), _job(None), _job(JOB_ID), _job(JOB_ID)]
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 200,
                     "body": {"value": listed}}])
    run = invoke({})
    report = run.ok()
    posts = graph_calls(sim, "POST")
    assert [p["decoded_path"].rsplit("/", 2)[-2] for p in posts] == [JOB_ID], posts
    assert sim.state()["service_principals"][0]["jobs"][0]["restart_count"] == 1
    assert [job["jobId"] for job in report["jobs"]] == [JOB_ID]
    ignored = report["ignoredJobs"]
    assert sorted(i["jobId"] for i in ignored) == sorted(["..", ".", "", "", JOB_ID]), ignored
    assert "5 listed jobs ignored" in report["summary"]


def test_a_self_referencing_next_link_ends_paging_with_an_error(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 200,
                     "body": {"value": [_job(JOB_ID)], "@odata.nextLink": "{self}"}}])
    run = invoke({"action": "status"}, timeout_s=20)
    assert run.error_type == "GraphError", run.error_message
    assert "next" in run.error_message.lower()
    assert len(graph_calls(sim, "GET", "/synchronization/jobs")) == 1, "the repeated link is not read"


def test_endless_paging_stops_at_the_page_cap(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 200,
                     "body": {"value": [], "@odata.nextLink": "{next}"}}])
    run = invoke({"action": "status"}, timeout_s=60)
    assert run.error_type == "GraphError", run.error_message
    assert "100 pages" in run.error_message
    assert len(graph_calls(sim, "GET", "/synchronization/jobs")) == 100


def test_an_echoed_token_in_graphs_error_is_redacted(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "status": 400, "body": {"error": {
        "code": "BadRequest",
        "message": "Bad header: Authorization: Bearer simtok-ECHOED eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl "
                   + "x" * 10_000}}}])
    run = invoke({"action": "status"})
    assert run.error_type == "GraphBadRequest"
    assert "simtok-" not in run.error_message and "eyJhbGciOi" not in run.error_message
    assert "[redacted]" in run.error_message
    assert len(run.error_message) < 4000
    assert "simtok-ECHOED" not in run.log_text()


def test_a_server_echoing_the_authorization_header_never_leaks_the_token(sim, invoke):
    """The leak check of the `invoke` fixture fails the test if any simtok- token shows."""
    sim.add_faults([{"endpoint": "graph", "path_contains": "/synchronization/jobs", "status": 500,
                     "body": {"error": {"code": "generalException", "message": "bad header: {authorization}"}}}])
    run = invoke({"action": "status"})
    assert run.error_type == "GraphUnavailable", run.error_message
    assert "bad header: Bearer [redacted]" in run.error_message


@pytest.mark.parametrize("chunked", [False, True])
def test_a_150_mb_answer_is_refused_not_buffered(sim, invoke, chunked):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET",
                     "body_bytes": 150 * 1024 * 1024, "chunked": chunked}])
    run = invoke({"action": "status"}, timeout_s=60)
    assert run.error_type == "GraphError", run.error_message
    assert "larger than 8388608 bytes" in run.error_message


def test_a_body_that_stalls_is_a_timeout(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET",
                     "stall_after_bytes": 10, "stall_ms": 5000}])
    run = invoke({"action": "status"}, env={"HTTP_TIMEOUT_SECONDS": "1"})
    assert run.error_type == "Timeout", run.error_message
    assert "request timeout" in run.error_message
    assert "decoding" not in run.error_message


def test_a_token_answer_that_stalls_is_a_timeout(sim, invoke):
    sim.add_faults([{"endpoint": "token", "stall_after_bytes": 10, "stall_ms": 5000}])
    run = invoke({"action": "status"}, env={"HTTP_TIMEOUT_SECONDS": "1"})
    assert run.error_type == "EntraUnavailable", run.error_message
    assert "request timeout" in run.error_message
    assert "decoding" not in run.error_message


def test_a_graph_answer_over_the_cap_is_a_clear_error(sim, invoke):
    huge = {"value": [_job(JOB_ID)], "padding": "x" * (9 * 1024 * 1024)}
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 200, "body": huge}])
    run = invoke({"action": "status"})
    assert run.error_type == "GraphError", run.error_message
    assert "larger than" in run.error_message


@pytest.mark.parametrize("odd", [None, "", ".", ".."])
def test_odd_ids_from_the_simulator_never_become_urls(sim, scenario, invoke, odd):
    sp = scenario["service_principals"][0]
    sp["jobs"].append({"id": "AWSSCIM.odd.job", "graph_id": odd})
    sp["jobs"][0]["listed_times"] = 2
    sim.set_scenario(scenario)
    report = invoke({}).ok()
    assert [job["jobId"] for job in report["jobs"]] == [JOB_ID]
    assert len(report["ignoredJobs"]) == 2, report["ignoredJobs"]
    assert [c["decoded_path"] for c in graph_calls(sim, "POST")] == [
        f"/v1.0/servicePrincipals/{sp['id']}/synchronization/jobs/{JOB_ID}/restart"]


@pytest.mark.parametrize("odd", [None, "", ".", ".."])
def test_a_service_principal_without_a_usable_id_is_never_a_url(sim, scenario, invoke, odd):
    scenario["service_principals"][0]["graph_id"] = odd
    sim.set_scenario(scenario)
    run = invoke({"action": "status"})
    assert run.error_type == "GraphError", run.error_message
    assert "usable id" in run.error_message and "SERVICE_PRINCIPAL_ID" in run.error_message
    assert graph_calls(sim, "GET", "/synchronization") == []


def test_a_report_over_lambdas_6_mb_limit_leaves_jobs_out_and_says_so(sim, invoke):
    """Lambda fails an invocation whose response passes 6 MB (the Runtime API stand-in does
    too); the report drops jobs from its end instead, and counts them."""
    sim.set_scenario(scenario_with_jobs(2800, troubleshootingUrl="https://example.com/" + "x" * 2000))
    run = invoke({"action": "status"}, timeout_s=120)
    report = run.ok()
    assert len(json.dumps(report)) < 6 * 1024 * 1024
    assert report["jobsOmitted"] > 0
    assert len(report["jobs"]) + report["jobsOmitted"] == 2800
    assert "left out of this report" in report["summary"]


def test_invalid_request_lists_the_valid_fields_once(invoke):
    run = invoke({"actoin": "status"})
    assert run.error_type == "InvalidRequest"
    assert run.error_message.count("waitLimitSeconds") == 1, run.error_message
    assert "actoin" in run.error_message


def test_service_principal_not_found_does_not_blame_owned_by(sim, invoke):
    run = invoke({"action": "status"}, env={"APP_DISPLAY_NAME": "No Such App"})
    assert run.error_type == "ServicePrincipalNotFound"
    assert "only sees" not in run.error_message
    assert "AWS IAM Identity Center (successor to AWS Single Sign-On)" in run.error_message
