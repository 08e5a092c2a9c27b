"""The CloudWatch metric lines survive Lambda's log-level filtering at every LogLevel, so the
Quarantined, CycleFailed and missed-runs alarms can fire whatever the function's level.

With the JSON log format and an application log level, Lambda (for a custom runtime) reads each
JSON line's "level" and drops lines below the configured level. A line whose "level" is missing
or invalid counts as INFO, and so does a line without a valid RFC 3339 "timestamp" (AWS Lambda
Developer Guide, "Log-level filtering"). `lambda_keeps` below is that rule; the function runs
with the variables Lambda sets for it (AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL)."""

from __future__ import annotations

from datetime import datetime

import pytest

from test_guard_wait_health import job_of

#: Lambda's application log levels, least severe first.
LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


def parse_rfc3339(value) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    text = value.replace("Z", "+00:00")
    # Python before 3.11 reads at most 6 fractional digits: trim nanoseconds.
    if "." in text:
        head, rest = text.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def valid_rfc3339(value) -> bool:
    return parse_rfc3339(value) is not None


def lambda_level(line: dict) -> str:
    level = str(line.get("level", "")).upper()
    if level not in LEVELS or not valid_rfc3339(line.get("timestamp")):
        return "INFO"
    return level


def lambda_keeps(line: dict, configured: str) -> bool:
    return LEVELS.index(lambda_level(line)) >= LEVELS.index(configured)


def kept_metric_lines(run, configured: str) -> list[dict]:
    return [line for line in run.json_logs() if "_aws" in line and lambda_keeps(line, configured)]


def lambda_env(level: str) -> dict:
    return {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": level}


def quarantine(scenario):
    job_of(scenario).update(quarantine={
        "reason": "EncounteredQuarantineException", "currentBegan": "2026-11-28T06:00:00Z",
        "nextAttempt": "2026-11-28T18:00:00Z", "seriesBegan": "2026-11-27T06:00:00Z", "seriesCount": 4,
        "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
                  "message": "Failed to validate the credentials", "tenantActionable": True}})


@pytest.mark.parametrize("level", ["WARN", "ERROR", "FATAL"])
def test_quarantined_metric_survives_a_quiet_log_level(sim, scenario, invoke, level):
    quarantine(scenario)
    sim.set_scenario(scenario)
    run = invoke({"action": "status"}, env=lambda_env(level))
    assert run.error_type == "JobQuarantined"
    kept = kept_metric_lines(run, level)
    assert [line["Quarantined"] for line in kept] == [1], "the Quarantined alarm needs this line"


@pytest.mark.parametrize("level", ["WARN", "FATAL"])
def test_cycle_failed_metric_survives_a_quiet_log_level(sim, scenario, invoke, level):
    job_of(scenario).update(cycle_seconds=0.5, cycle_outcome={
        "state": "Failed", "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
                                     "message": "The SCIM access token is invalid or expired"}})
    sim.set_scenario(scenario)
    run = invoke({"action": "restart", "wait": True, "waitLimitSeconds": 20}, env=lambda_env(level))
    assert run.error_type == "SynchronizationCycleFailed"
    kept = kept_metric_lines(run, level)
    assert [line.get("CycleFailed") for line in kept if "CycleFailed" in line] == [1]
    assert not [line for line in kept if "SuccessfulRuns" in line], "a failed run is no success"


@pytest.mark.parametrize("level", ["TRACE", "INFO", "WARN", "ERROR", "FATAL"])
def test_every_successful_run_writes_one_successful_runs_line(sim, invoke, level):
    run = invoke({"action": "status"}, env=lambda_env(level))
    run.ok()
    heartbeats = [line for line in kept_metric_lines(run, level) if "SuccessfulRuns" in line]
    assert len(heartbeats) == 1, "the missed-runs alarm needs one SuccessfulRuns line per run"
    line = heartbeats[0]
    assert line["SuccessfulRuns"] == 1
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "EntraIdcSync"
    assert directive["Dimensions"] == [["FunctionName"]] and isinstance(line["FunctionName"], str)
    assert {"Name": "SuccessfulRuns", "Unit": "Count"} in directive["Metrics"]


def test_metric_lines_carry_the_lowest_level_the_filter_keeps(sim, invoke):
    """Not FATAL everywhere: at INFO (and more verbose) the lines stay INFO, so a search for
    errors does not find metrics; at a quieter level they carry exactly that level."""
    for configured, expected in [("DEBUG", "INFO"), ("INFO", "INFO"), ("WARN", "WARN"), ("ERROR", "ERROR")]:
        run = invoke({"action": "status"}, env=lambda_env(configured))
        lines = [line for line in run.json_logs() if "_aws" in line]
        assert lines and {lambda_level(line) for line in lines} == {expected}, configured
        for line in lines:
            moment = parse_rfc3339(line["timestamp"])
            assert moment, line["timestamp"]
            # The EMF timestamp and the log timestamp are the same moment.
            assert abs(moment.timestamp() * 1000 - line["_aws"]["Timestamp"]) < 1000


def test_the_filter_model_drops_what_lambda_drops():
    """The model above is Lambda's documented rule, not a rubber stamp."""
    assert not lambda_keeps({"_aws": {}}, "WARN"), "no level: INFO, dropped at WARN"
    assert not lambda_keeps({"level": "ERROR"}, "WARN"), "no timestamp: INFO"
    assert not lambda_keeps({"level": "ERROR", "timestamp": "yesterday"}, "WARN")
    assert lambda_keeps({"level": "ERROR", "timestamp": "2026-11-29T05:00:00.123456789Z"}, "WARN")
    assert lambda_keeps({"level": "warn", "timestamp": "2026-11-29T05:00:00Z"}, "WARN")
    assert not lambda_keeps({"level": "INFO", "timestamp": "2026-11-29T05:00:00Z"}, "ERROR")
