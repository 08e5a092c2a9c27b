"""Knowing what happened: waiting for the cycle, judging the job's health, the restart-storm
guard, and the CloudWatch EMF metric lines."""

import copy
from datetime import datetime, timedelta, timezone

from helpers import graph_calls, only_job


def job_of(scenario):
    return scenario["service_principals"][0]["jobs"][0]


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def test_waited_cycle_that_succeeds_reports_its_counts(sim, scenario, invoke):
    job_of(scenario).update(cycle_seconds=1.0, cycle_outcome={
        "state": "Succeeded", "countEntitled": 40, "countImported": 40, "countExported": 7, "countEscrowed": 0})
    sim.set_scenario(scenario)
    job = only_job(invoke({"action": "restart", "wait": True, "waitLimitSeconds": 20}).ok())
    cycle = job["cycle"]
    assert cycle["state"] == "finished"
    assert cycle["execution"]["state"] == "Succeeded"
    assert cycle["execution"]["countExported"] == 7 and cycle["execution"]["countEntitled"] == 40
    assert 0.5 <= cycle["durationSeconds"] <= 5
    assert len(graph_calls(sim, "GET", "/jobs/")) >= 1, "the job was polled"


def test_waited_cycle_that_fails_fails_the_invocation_with_graphs_error(sim, scenario, invoke):
    job_of(scenario).update(cycle_seconds=0.5, cycle_outcome={
        "state": "Failed", "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
                                     "message": "The SCIM access token is invalid or expired", "tenantActionable": True}})
    sim.set_scenario(scenario)
    run = invoke({"action": "restart", "wait": True, "waitLimitSeconds": 20})
    assert not run.succeeded
    assert run.error_type == "SynchronizationCycleFailed"
    assert "SCIM access token is invalid" in run.error_message
    assert "CredentialValidationFailure" in run.error_message


def test_cycle_still_running_at_the_limit_is_reported_as_running(sim, scenario, invoke):
    job_of(scenario).update(cycle_seconds=60)
    sim.set_scenario(scenario)
    job = only_job(invoke({"action": "restart", "wait": True, "waitLimitSeconds": 3}).ok())
    assert job["result"] == "triggered"
    assert job["cycle"]["state"] == "running"
    assert job["cycle"]["waitedMs"] < 10_000


def test_the_wait_uses_its_whole_window(sim, scenario, invoke):
    """Growing pauses would overshoot a 12 s limit after the read at about 8 s; the last pause
    is shortened so a cycle ending at 9 s is still seen finished."""
    job_of(scenario).update(cycle_seconds=9.0)
    sim.set_scenario(scenario)
    job = only_job(invoke({"action": "restart", "wait": True, "waitLimitSeconds": 12}).ok())
    assert job["cycle"]["state"] == "finished", job["cycle"]
    assert job["cycle"]["waitedMs"] <= 12_000


def test_wait_from_the_environment(sim, invoke):
    job = only_job(invoke({}, env={"WAIT_FOR_COMPLETION": "true", "WAIT_LIMIT_SECONDS": "20"}).ok())
    assert job["cycle"]["state"] == "finished"


def test_status_fails_on_quarantine_and_names_the_reason(sim, scenario, invoke):
    job_of(scenario).update(quarantine={
        "reason": "EncounteredQuarantineException", "currentBegan": "2026-11-28T06:00:00Z",
        "nextAttempt": "2026-11-28T18:00:00Z", "seriesBegan": "2026-11-27T06:00:00Z", "seriesCount": 4,
        "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
                  "message": "Failed to validate the credentials", "tenantActionable": True}})
    sim.set_scenario(scenario)
    run = invoke({"action": "status"})
    assert not run.succeeded and run.error_type == "JobQuarantined"
    for fragment in ("EncounteredQuarantineException", "2026-11-28T06:00:00Z", "2026-11-28T18:00:00Z",
                     "Failed to validate the credentials"):
        assert fragment in run.error_message
    assert graph_calls(sim, "POST") == []


def test_status_fails_on_a_paused_job_and_passes_on_a_healthy_one(sim, scenario, invoke):
    assert invoke({"action": "status"}).succeeded
    job_of(scenario).update(status_code="Paused", schedule_state="Paused")
    sim.set_scenario(scenario)
    run = invoke({"action": "status"})
    assert run.error_type == "UnhealthySynchronizationJob" and "paused" in run.error_message


def test_restart_reports_health_without_failing(sim, scenario, invoke):
    job_of(scenario)["countSuccessiveCompleteFailures"] = 3
    sim.set_scenario(scenario)
    job = only_job(invoke({}).ok())
    assert job["result"] == "triggered"
    assert not job["health"]["healthy"]
    assert [p["code"] for p in job["health"]["problems"]] == ["SuccessiveFailures"]


def test_second_trigger_inside_the_minimum_interval_is_skipped(sim, invoke):
    runs = invoke([{"action": "restart", "wait": True, "waitLimitSeconds": 20}, {"action": "restart"}])
    first, second = (only_job(r.ok()) for r in runs)
    assert first["result"] == "triggered"
    assert second["result"] == "skipped"
    assert "MIN_TRIGGER_INTERVAL" in second["skipReason"]
    assert len(graph_calls(sim, "POST", "/restart")) == 1


def test_recent_cycle_by_the_schedule_is_left_alone_and_force_overrides(sim, scenario, invoke):
    began = datetime.now(timezone.utc) - timedelta(minutes=3)
    job_of(scenario)["last_execution"] = {"state": "Succeeded", "timeBegan": iso(began),
                                          "timeEnded": iso(began + timedelta(seconds=40))}
    sim.set_scenario(scenario)
    skipped = only_job(invoke({}).ok())
    assert skipped["result"] == "skipped" and "ago" in skipped["skipReason"]
    assert graph_calls(sim, "POST") == []
    forced = only_job(invoke({"force": True}).ok())
    assert forced["result"] == "triggered"


def test_running_cycle_is_never_restarted(sim, scenario, invoke):
    job_of(scenario).update(cycle_running=True, cycle_seconds=120)
    sim.set_scenario(scenario)
    job = only_job(invoke({}, env={"MIN_TRIGGER_INTERVAL": "0"}).ok())
    assert job["result"] == "skipped" and "in progress" in job["skipReason"]
    assert graph_calls(sim, "POST") == []


def test_start_is_refused_on_an_active_job(sim, invoke):
    job = only_job(invoke({"action": "start"}).ok())
    assert job["result"] == "skipped" and "paused or quarantined" in job["skipReason"]
    assert graph_calls(sim, "POST") == []


def test_metric_lines_follow_the_embedded_metric_format(sim, invoke):
    run = invoke({"action": "restart", "wait": True, "waitLimitSeconds": 20})
    run.ok()
    lines = [line for line in run.json_logs() if "_aws" in line and "JobId" in line]
    assert len(lines) == 1
    document = lines[0]
    meta = document["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_700_000_000_000
    directive = meta["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "EntraIdcSync"
    for dimension_set in directive["Dimensions"]:
        for dimension in dimension_set:
            assert isinstance(document[dimension], str), "every dimension is a string member"
    names = [m["Name"] for m in directive["Metrics"]]
    for metric in directive["Metrics"]:
        assert set(metric) <= {"Name", "Unit", "StorageResolution"}
        assert metric["Unit"] in {"Count", "Seconds"}
        assert isinstance(document[metric["Name"]], (int, float)), "every metric has a number member"
    assert document["Triggered"] == 1 and document["Skipped"] == 0
    assert {"CycleDuration", "Exported", "Escrowed", "CycleFailed"} <= set(names)
    assert len(names) <= 100


def two_jobs(scenario):
    sp = scenario["service_principals"][0]
    second = dict(copy.deepcopy(sp["jobs"][0]), id=sp["jobs"][0]["id"].replace("4f9a", "5f9a"))
    sp["jobs"].append(second)
    return sp["jobs"][0]["id"], second["id"]


def restart_counts(sim):
    return [job["restart_count"] for job in sim.state()["service_principals"][0]["jobs"]]


def test_lambda_retry_after_a_partial_failure_does_not_restart_twice(sim, scenario, invoke):
    """Lambda retries a failed asynchronous invocation; the job that was restarted must not be
    restarted again, in the same execution environment or a new one."""
    first, second = two_jobs(scenario)
    sim.set_scenario(scenario)
    sim.add_faults([{"method": "POST", "path_contains": second, "status": 403}])
    failed = invoke({})
    assert not failed.succeeded and first in failed.error_message
    retries = invoke([{}, {}])  # Lambda's retry in a new environment, then a warm one
    assert restart_counts(sim) == [1, 0], "the first job was restarted once, and only once"
    for retry in retries:
        assert retry.error_type == "GraphPermissionDenied" and second in retry.error_message
