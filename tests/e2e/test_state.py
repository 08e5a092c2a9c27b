"""The state table (STATE_TABLE, DynamoDB on moto_server) seen through the Runtime API: the lease
makes overlapping invocations act once, and the last trigger outlives the process that made it."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.services import Moto
from helpers import graph_calls, only_job


def wait_until(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the condition")
        time.sleep(0.05)


def test_two_overlapping_restarts_act_once(sim, invoke, state_table, _moto_server):
    """The first invocation holds the job's lease while its restart is slow in Graph; the
    second arrives then, sees an idle job in Graph, and only the lease stops it."""
    env = {"STATE_TABLE": state_table}
    sim.add_faults([{"method": "POST", "path_contains": "/restart", "delay_ms": 3000, "times": 1}])
    holds_lease = lambda: any("lease_owner" in item for item in _moto_server.state_items(state_table))  # noqa: E731
    with ThreadPoolExecutor(1) as pool:
        first_run = pool.submit(invoke, {"action": "restart"}, env=env)
        wait_until(holds_lease)
        second = only_job(invoke({"action": "restart"}, env=env).ok())
        first = only_job(first_run.result().ok())
    assert first["result"] == "triggered"
    assert second["result"] == "skipped"
    assert "another invocation" in second["skipReason"] and "lease" in second["skipReason"]
    assert len(graph_calls(sim, "POST", "/restart")) == 1
    [item] = _moto_server.state_items(state_table)
    assert "lease_owner" not in item, "the first invocation released its lease"
    assert "last_trigger" in item


def test_the_last_trigger_holds_across_processes(sim, scenario, invoke, state_table):
    env = {"STATE_TABLE": state_table}
    assert only_job(invoke({"action": "restart"}, env=env).ok())["result"] == "triggered"
    # Graph forgets the cycle (a fresh scenario): only the table remembers the trigger.
    sim.set_scenario(scenario)
    second = only_job(invoke({"action": "restart"}, env=env).ok())
    assert second["result"] == "skipped"
    assert "MIN_TRIGGER_INTERVAL" in second["skipReason"]
    assert graph_calls(sim, "POST") == []
    # Without the table a new environment has no memory of it, as before.
    assert only_job(invoke({"action": "restart"}).ok())["result"] == "triggered"


def test_a_missing_state_table_fails_with_its_name(sim, invoke):
    run = invoke({"action": "restart"}, env={"STATE_TABLE": "no-such-state-table"})
    assert not run.succeeded
    assert run.error_type == "StateStoreError"
    assert "STATE_TABLE" in run.error_message and "no-such-state-table" in run.error_message
    assert graph_calls(sim, "POST") == []


def test_status_needs_no_state_table(sim, invoke):
    """status changes nothing, so it takes no lease: a broken STATE_TABLE does not stop it."""
    run = invoke({"action": "status"}, env={"STATE_TABLE": "no-such-state-table"})
    assert run.succeeded


def test_state_table_access_denied_names_the_actions(invoke, state_table):
    """moto with auth enforced refuses the test credentials, as DynamoDB refuses a role without
    the grant: the message names the IAM actions the role needs."""
    strict = Moto(enforce_auth=True)
    try:
        run = invoke({"action": "restart"}, env={"STATE_TABLE": state_table,
                                                 "AWS_ENDPOINT_URL_DYNAMODB": strict.endpoint})
    finally:
        strict.stop()
    assert run.error_type == "StateStoreError"
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"):
        assert f"dynamodb:{action}" in run.error_message
    assert state_table in run.error_message


def test_a_warm_run_costs_two_dynamodb_calls(sim, invoke, state_table, _moto_server):
    """Taking the lease reads the state in the same call; saving drops the lease in the same
    call. The second (warm) run is skipped by the guard and only takes and drops the lease."""
    calls = []

    def record(index):
        if index:
            calls.append(_moto_server.dynamodb_calls())
        _moto_server.start_recording()

    runs = invoke([{"action": "restart"}, {"action": "restart"}], env={"STATE_TABLE": state_table},
                  before_each=record)
    calls.append(_moto_server.dynamodb_calls())
    assert [only_job(run.ok())["result"] for run in runs] == ["triggered", "skipped"]
    assert calls == [["UpdateItem", "UpdateItem"], ["UpdateItem", "UpdateItem"]]


def test_a_failed_restart_gives_the_lease_back_and_records_no_trigger(sim, invoke, state_table, _moto_server):
    sim.add_faults([{"method": "POST", "path_contains": "/restart", "status": 403, "times": 1}])
    run = invoke({"action": "restart"}, env={"STATE_TABLE": state_table})
    assert not run.succeeded and run.error_type == "GraphPermissionDenied"
    [item] = _moto_server.state_items(state_table)
    assert "lease_owner" not in item and "last_trigger" not in item
    # Nothing recorded, nothing held: the next run acts at once.
    assert only_job(invoke({"action": "restart"}, env={"STATE_TABLE": state_table}).ok())["result"] == "triggered"


def test_a_dry_run_reads_the_table_without_taking_the_lease(sim, invoke, state_table, _moto_server):
    env = {"STATE_TABLE": state_table}
    _moto_server.start_recording()
    assert only_job(invoke({"action": "restart", "dryRun": True}, env=env).ok())["result"] == "wouldTrigger"
    assert _moto_server.dynamodb_calls() == ["GetItem"]
    assert _moto_server.state_items(state_table) == []
