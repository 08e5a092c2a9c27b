"""Outages and slowness: throttling, unavailability, dropped connections, slow answers, the
token endpoint down, a fault longer than the Lambda deadline. Retries are bounded, honour
Retry-After, grow, and never touch a 400/403/404."""

import time
from datetime import datetime
from email.utils import formatdate

from devtools.services import Moto
from helpers import graph_calls, only_job, token_calls


def jobs_list(sim):
    return graph_calls(sim, "GET", "/synchronization/jobs")


def test_429_with_retry_after_seconds_is_waited_out(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 429,
                     "headers": {"Retry-After": "1"}, "times": 2}])
    started = time.monotonic()
    assert only_job(invoke({"action": "status"}).ok())["result"] == "statusRead"
    calls = jobs_list(sim)
    assert [c["status"] for c in calls] == [429, 429, 200]
    assert time.monotonic() - started >= 2.0, "each Retry-After: 1 was honoured"


def test_429_with_retry_after_http_date_is_waited_out(sim, invoke):
    sim.add_faults([{"path_contains": "/restart", "status": 429,
                     "headers": {"Retry-After": formatdate(time.time() + 2, usegmt=True)}, "times": 1}])
    started = time.monotonic()
    assert only_job(invoke({}).ok())["result"] == "triggered"
    assert [c["status"] for c in graph_calls(sim, "POST", "/restart")] == [429, 204]
    assert time.monotonic() - started >= 1.0


def test_503_and_504_are_retried_with_growing_waits(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "method": "GET", "status": 503, "times": 1},
                    {"path_contains": "/synchronization/jobs", "method": "GET", "status": 504, "times": 1}])
    assert invoke({"action": "status"}).succeeded
    calls = jobs_list(sim)
    assert [c["status"] for c in calls] == [503, 504, 200]
    times = [datetime.fromisoformat(c["time"].replace("Z", "+00:00")) for c in calls]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert gaps[1] > gaps[0] * 0.9, f"backoff should grow: {gaps}"


def test_persistent_throttling_gives_up_after_bounded_attempts(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "status": 429, "headers": {"Retry-After": "0"}}])
    run = invoke({"action": "status"})
    assert run.error_type == "GraphThrottled"
    assert "429" in run.error_message and "request-id" in run.error_message
    assert len(jobs_list(sim)) == 4


def test_client_errors_are_never_retried(sim, invoke):
    for status, error_type in ((400, "GraphBadRequest"), (403, "GraphPermissionDenied"), (404, "ServicePrincipalNotFound")):
        sim.reset()
        sim.add_faults([{"path_contains": "/synchronization/jobs", "status": status}])
        run = invoke({"action": "status"})
        assert run.error_type == error_type, run.error_message
        assert len(jobs_list(sim)) == 1, f"{status} was retried"


def test_a_dropped_connection_on_a_read_is_retried(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "drop": True, "times": 1}])
    assert invoke({"action": "status"}).succeeded
    assert len(jobs_list(sim)) == 2


def test_a_lost_answer_to_a_restart_is_not_blindly_repeated(sim, invoke):
    sim.add_faults([{"path_contains": "/restart", "drop": True, "when": "after", "times": 1}])
    run = invoke({})
    assert run.error_type in {"GraphUnavailable", "Timeout"}
    assert "may or may not have been triggered" in run.error_message
    assert sim.state()["service_principals"][0]["jobs"][0]["restart_count"] == 1


def test_a_slow_answer_hits_the_request_timeout_and_is_retried(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "delay_ms": 2500, "times": 1}])
    assert invoke({"action": "status"}, env={"HTTP_TIMEOUT_SECONDS": "1"}).succeeded
    # The simulator logs the slow call when it finally answers: wait for it, so it neither
    # goes unchecked nor lands in the next test's log.
    for _ in range(100):
        if len(jobs_list(sim)) == 2:
            break
        time.sleep(0.05)
    assert [c["status"] for c in jobs_list(sim)] == [200, 200]
    assert graph_calls(sim, "GET", "/synchronization/jobs")[1]["fault"] is not None, "the slow one ends last"


def test_token_endpoint_down_is_reported_as_such(sim, invoke):
    sim.add_faults([{"endpoint": "token", "status": 503}])
    run = invoke({})
    assert run.error_type == "EntraUnavailable"
    assert len(token_calls(sim)) == 4
    assert graph_calls(sim) == []


def test_secrets_manager_unreachable(invoke):
    run = invoke({}, env={"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9"})
    assert run.error_type == "SecretsManagerUnavailable"
    assert "127.0.0.1:9" in run.error_message or "reached" in run.error_message


def test_a_fault_longer_than_the_deadline_ends_cleanly_before_it(sim, invoke):
    sim.add_faults([{"path_contains": "/synchronization/jobs", "delay_ms": 30_000}])
    run = invoke({"action": "status"}, timeout_s=5)
    assert run.error_type == "Timeout", run.error_message
    assert run.duration_ms < 5_000, "the function answered before Lambda's deadline"


def test_redirects_are_not_followed(sim, invoke):
    """A bearer token must never travel to whatever host a Location header names."""
    sim.add_faults([{"path_contains": "/synchronization/jobs", "status": 307,
                     "headers": {"Location": f"{sim.url}/v1.0/elsewhere"}, "body": ""}])
    run = invoke({"action": "status"})
    assert not run.succeeded and "307" in run.error_message
    assert [c for c in sim.requests() if "elsewhere" in c["decoded_path"]] == []


def test_secrets_manager_access_denied_names_the_permission(invoke):
    strict = Moto(enforce_auth=True)
    try:
        run = invoke({}, env={"AWS_ENDPOINT_URL_SECRETS_MANAGER": strict.endpoint})
    finally:
        strict.stop()
    assert run.error_type == "SecretAccessDenied"
    assert "secretsmanager:GetSecretValue" in run.error_message
