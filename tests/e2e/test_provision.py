"""The provision action end to end (issue 10): the built bootstrap through the Runtime API,
against moto_server (Secrets Manager, DynamoDB) and the Graph simulator's directory and
provision-on-demand endpoints. Each test says what an admin would see."""

from __future__ import annotations

import threading
import time

import pytest

from devtools.directory import AWS_RULE_ID, Directory, group_id, provision_scenario, upn, user_id
from helpers import member_ids, pod_calls, subjects

SP_ID = "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a"
PROVISION = {"action": "provision"}


@pytest.fixture
def directory(sim) -> Directory:
    sim.set_scenario(provision_scenario(users=30))
    return Directory(sim)


def graph_gets(sim, contains: str) -> list[dict]:
    return [r for r in sim.requests() if r["method"] == "GET" and contains in r["decoded_path"]]


# -- named objects -----------------------------------------------------------------------------

def test_an_explicit_user_by_id_and_by_upn_is_provisioned_with_the_schemas_rule(sim, directory, invoke):
    report = invoke({"action": "provision", "users": [user_id(1), upn(2)]}).ok()
    assert report["action"] == "provision" and report["result"] == "provisioned"
    calls = pod_calls(sim)
    assert [c["json_body"] for c in calls] == [
        {"parameters": [{"ruleId": AWS_RULE_ID, "subjects": [{"objectId": user_id(n), "objectTypeName": "User"}]}]}
        for n in (1, 2)]
    objects = report["objects"]
    assert [(o["kind"], o["id"], o["userPrincipalName"], o["result"]) for o in objects] == [
        ("user", user_id(1), upn(1), "provisioned"), ("user", user_id(2), upn(2), "provisioned")]
    assert objects[0]["requestId"] == calls[0]["request_id"]
    assert len(graph_gets(sim, "/schema")) == 1
    assert graph_gets(sim, f"/users/{upn(2)}"), "a UPN is read with GET /users/{upn}"


def test_a_repeat_is_skipped_as_redundant_and_the_schema_is_read_once(sim, directory, invoke):
    runs = invoke([{"action": "provision", "users": [upn(1)]}] * 2)
    second = runs[1].ok()["objects"][0]
    assert second["result"] == "skipped" and second["errorCode"] == "RedundantExport"
    assert len(graph_gets(sim, "/schema")) == 1, "the rule id is cached per execution environment"


def test_an_explicit_group_by_name_goes_with_its_members_five_per_call(sim, invoke):
    sim.set_scenario(provision_scenario(users=12, groups={1: list(range(1, 13))}))
    report = invoke({"action": "provision", "groups": ["AWS Admins"]}).ok()
    sent = subjects(pod_calls(sim))
    assert [s["objectTypeName"] for s in sent] == ["Group"] * 3
    assert {s["objectId"] for s in sent} == {group_id(1)}
    assert [len(member_ids(s)) for s in sent] == [5, 5, 2]
    assert sorted(m for s in sent for m in member_ids(s)) == sorted(user_id(n) for n in range(1, 13))
    assert all(m["objectTypeName"] == "User" for s in sent for m in s["links"]["members"])
    lookup = graph_gets(sim, "/groups")[0]
    assert lookup["query_params"]["$filter"] == "displayName eq 'AWS Admins'"
    assert [len(o["members"]) for o in report["objects"]] == [5, 5, 2]
    assert report["objects"][0]["displayName"] == "AWS Admins"


def test_group_names_are_quote_escaped_and_unknown_or_ambiguous_names_fail_naming_the_group(sim, invoke):
    scenario = provision_scenario(users=3, groups={1: [1], 2: [2], 3: [3]})
    names = {group_id(1): "O'Brien & Co/AWS", group_id(2): "Twins", group_id(3): "Twins"}
    for group in scenario["directory"]["groups"]:
        group["displayName"] = names[group["id"]]
    sim.set_scenario(scenario)
    invoke({"action": "provision", "groups": ["O'Brien & Co/AWS"]}).ok()
    assert graph_gets(sim, "/groups")[0]["query_params"]["$filter"] == "displayName eq 'O''Brien & Co/AWS'"
    missing = invoke({"action": "provision", "groups": ["Nobody"]})
    assert missing.error_type == "GroupNotFound" and "Nobody" in missing.error_message
    twins = invoke({"action": "provision", "groups": ["Twins"]})
    assert twins.error_type == "AmbiguousGroup" and "Twins" in twins.error_message
    assert group_id(2) in twins.error_message and group_id(3) in twins.error_message


def test_names_with_another_action_are_an_invalid_request(sim, directory, invoke):
    run = invoke({"action": "restart", "users": [upn(1)]})
    assert run.error_type == "InvalidRequest" and "provision" in run.error_message
    assert pod_calls(sim) == []


def test_an_unknown_user_fails_naming_it(sim, directory, invoke):
    run = invoke({"action": "provision", "users": ["ghost@contoso.com"]})
    assert run.error_type == "UserNotFound" and "ghost@contoso.com" in run.error_message


# -- change tracking ---------------------------------------------------------------------------

def test_without_a_state_table_change_tracking_is_a_configuration_error(sim, directory, invoke):
    run = invoke(PROVISION)
    assert run.error_type == "ConfigurationError" and "STATE_TABLE" in run.error_message


def test_the_first_run_records_a_baseline_and_provisions_nothing(sim, directory, tracked):
    report = tracked().ok()
    assert report["result"] == "baseline" and "baseline" in report["summary"]
    assert report["stateAdvanced"] is True
    assert pod_calls(sim) == []
    delta = graph_gets(sim, "/groups/delta")
    assert len(delta) == 1 and delta[0]["query_params"]["$deltatoken"] == "latest"
    assert delta[0]["query_params"]["$filter"] == f"id eq '{group_id(1)}' or id eq '{group_id(2)}'"
    assert graph_gets(sim, "/appRoleAssignedTo")


def test_a_run_with_nothing_changed_reads_three_times_at_most_and_provisions_nothing(sim, directory, tracked,
                                                                                   _moto_server):
    def measure(index):
        if index == 1:
            sim._call("DELETE", "/_sim/requests")
            _moto_server.start_recording()
    runs = tracked([PROVISION, PROVISION], before_each=measure)
    assert _moto_server.dynamodb_calls() == ["UpdateItem", "UpdateItem"], "take the lease, save and release"
    report = runs[1].ok()
    assert report["result"] == "unchanged" and report["objects"] == []
    graph = [r for r in sim.requests() if r["endpoint"] == "graph"]
    assert len(graph) <= 3, [r["decoded_path"] for r in graph]
    assert pod_calls(sim) == []


def test_a_member_added_and_a_member_removed_are_sent_with_their_group(sim, directory, tracked):
    def change(index):
        if index == 1:
            directory.add_members(1, 6)
            directory.remove_members(1, 2)
    runs = tracked([PROVISION, PROVISION, PROVISION], before_each=change)
    report = runs[1].ok()
    assert report["result"] == "provisioned" and report["changesDetected"] == 2
    (sent,) = subjects(pod_calls(sim))
    assert sent["objectId"] == group_id(1) and sorted(member_ids(sent)) == sorted([user_id(6), user_id(2)])
    (obj,) = report["objects"]
    assert {m["id"]: m.get("removed", False) for m in obj["members"]} == {user_id(6): False, user_id(2): True}
    assert runs[2].ok()["result"] == "unchanged", "the state advanced past the change"


def test_a_new_assignment_provisions_the_group_with_its_members_and_the_user(sim, directory, tracked):
    def change(index):
        if index == 1:
            directory.sim._call("POST", "/_sim/directory/groups",
                                {"id": group_id(3), "displayName": "AWS Auditors",
                                 "members": [user_id(n) for n in range(10, 17)]})
            directory.assign(groups=(3,), users=(20,))
    runs = tracked([PROVISION, PROVISION], before_each=change)
    report = runs[1].ok()
    sent = subjects(pod_calls(sim))
    groups = [s for s in sent if s["objectTypeName"] == "Group"]
    assert [len(member_ids(s)) for s in groups] == [5, 2] and {s["objectId"] for s in groups} == {group_id(3)}
    assert {"objectId": user_id(20), "objectTypeName": "User"} in sent
    assert {o["reason"] for o in report["objects"]} == {"assigned"}


def test_a_changed_directly_assigned_user_is_provisioned(sim, tracked):
    sim.set_scenario(provision_scenario(users=5, assigned_users=[5]))
    directory = Directory(sim)
    runs = tracked([PROVISION, PROVISION], before_each=lambda i: i == 1 and directory.put_user(5, jobTitle="CTO"))
    assert subjects(pod_calls(sim)) == [{"objectId": user_id(5), "objectTypeName": "User"}]
    assert runs[1].ok()["objects"][0]["userPrincipalName"] == upn(5)


def test_an_expired_delta_token_rebaselines_and_falls_back_to_one_restart(sim, directory, tracked):
    def change(index):
        if index == 1:
            directory.expire_delta_tokens(410)
        if index == 2:
            directory.add_members(2, 7)
    runs = tracked([PROVISION] * 3, before_each=change, env={"MIN_TRIGGER_INTERVAL": "0"})
    report = runs[1].ok()
    assert report["result"] == "restart" and report["restart"]["result"] == "triggered"
    assert "restart" in report["summary"]
    assert len([r for r in sim.requests() if r["decoded_path"].endswith("/restart")]) == 1
    third = runs[2].ok()
    assert third["result"] == "provisioned", "the new baseline works"
    (sent,) = subjects(pod_calls(sim))
    assert sent["objectId"] == group_id(2) and member_ids(sent) == [user_id(7)]


def test_too_many_changes_become_one_guarded_restart(sim, directory, tracked):
    def change(index):
        if index == 1:
            directory.add_members(1, *range(10, 21))   # 11 members: 3 calls > PROVISION_LIMIT 2
    runs = tracked([PROVISION, PROVISION, PROVISION], before_each=change,
                   env={"PROVISION_LIMIT": "2", "MIN_TRIGGER_INTERVAL": "0"})
    report = runs[1].ok()
    assert report["result"] == "restart" and "PROVISION_LIMIT" in report["restart"]["because"]
    assert pod_calls(sim) == []
    assert len([r for r in sim.requests() if r["decoded_path"].endswith("/restart")]) == 1
    assert runs[2].ok()["result"] == "unchanged", "the restart carries the changes"


def test_a_504_to_the_fallback_restart_is_read_again_not_failed(sim, directory, tracked):
    """The fallback restart is sent like every trigger: a 504 Graph did not act on is re-read
    and sent once more, not reported as a failure."""
    def change(index):
        if index == 1:
            directory.add_members(1, *range(10, 21))   # 11 members: 3 calls > PROVISION_LIMIT 2
            sim.add_faults([{"path_contains": "/restart", "status": 504, "times": 1}])
    runs = tracked([PROVISION, PROVISION], before_each=change,
                   env={"PROVISION_LIMIT": "2", "MIN_TRIGGER_INTERVAL": "0"})
    report = runs[1].ok()
    assert report["result"] == "restart" and report["restart"]["result"] == "triggered"
    statuses = [r["status"] for r in sim.requests() if r["decoded_path"].endswith("/restart")]
    assert statuses == [504, 204]


def test_pacing_keeps_five_calls_per_ten_seconds(sim, tracked):
    sim.set_scenario(provision_scenario(users=30, groups={1: [1]}))
    directory = Directory(sim)
    runs = tracked([PROVISION, PROVISION], timeout_s=60,
                   before_each=lambda i: i == 1 and directory.add_members(1, *range(2, 28)))  # 26: 6 calls
    assert len(runs[1].ok()["objects"]) == 6
    calls = pod_calls(sim)
    assert [c["status"] for c in calls] == [200] * 6, "the simulator never had to refuse a call"
    times = [c["time"] for c in directory.calls()]
    assert len(times) == 6


def test_a_throttled_call_waits_for_retry_after(sim, invoke):
    sim.set_scenario(provision_scenario(users=3, groups={1: [1]}, window_seconds=2, limit=2))
    report = invoke({"action": "provision", "users": [upn(1), upn(2), upn(3)]}, timeout_s=60).ok()
    assert [o["result"] for o in report["objects"]] == ["provisioned"] * 3
    statuses = [c["status"] for c in pod_calls(sim)]
    assert statuses.count(429) >= 1 and statuses.count(200) == 3


def test_a_failure_result_fails_the_invocation_naming_the_object_and_keeps_the_state(sim, directory, tracked):
    directory.provisioning(failures={user_id(6): {"errorCode": "EntryConflict",
                                                  "errorMessage": "duplicate userName"}})
    runs = tracked([PROVISION] * 3, before_each=lambda i: i == 1 and directory.add_members(1, 6))
    failed = runs[1]
    assert failed.error_type == "ProvisioningFailed"
    assert group_id(1) in failed.error_message and "EntryConflict" in failed.error_message
    assert runs[2].error_type == "ProvisioningFailed", "the state stayed, so the change is tried again"
    assert len(pod_calls(sim)) == 2


def test_a_transient_failure_is_repaired_by_the_next_run_with_nothing_lost(sim, directory, tracked):
    directory.provisioning(failures={user_id(6): {"errorCode": "SystemForCrossDomainIdentityManagementServiceIncompatible",
                                                  "times": 1}})

    def change(index):
        if index == 1:
            directory.add_members(1, 6, 7)
        if index == 2:
            sim.add_faults([{"method": "POST", "path_contains": "/provisionOnDemand", "status": 503, "times": 4}])
    runs = tracked([PROVISION] * 4, before_each=change)
    assert runs[1].error_type == "ProvisioningFailed"
    assert runs[2].error_type == "GraphUnavailable", "a call that keeps failing fails the run, no restart"
    report = runs[3].ok()
    assert report["result"] == "provisioned" and report["stateAdvanced"] is True
    (obj,) = report["objects"]
    assert sorted(m["id"] for m in obj["members"]) == sorted([user_id(6), user_id(7)])
    assert not [r for r in sim.requests() if r["decoded_path"].endswith("/restart")]


def test_two_overlapping_invocations_act_once(sim, directory, bootstrap, moto, make_secret, state_table):
    from devtools.runtime_api import LambdaProcess
    env = {**moto.function_env(), **sim.function_env(), "SECRET_ID": make_secret(),
           "APP_DISPLAY_NAME": "AWS IAM Identity Center", "STATE_TABLE": state_table, "SYNC_ACTION": "provision"}
    with LambdaProcess(bootstrap, env) as first:
        first.invoke(PROVISION).ok()   # baseline
        directory.add_members(1, 8)
        sim.add_faults([{"method": "POST", "path_contains": "/provisionOnDemand", "delay_ms": 4000, "times": 1}])
        with LambdaProcess(bootstrap, env) as second:
            results = {}
            worker = threading.Thread(target=lambda: results.update(a=first.invoke(PROVISION)))
            worker.start()
            time.sleep(1.2)
            results["b"] = second.invoke(PROVISION)
            worker.join()
    reports = sorted((results["a"].ok(), results["b"].ok()), key=lambda r: r["result"])
    assert [r["result"] for r in reports] == ["provisioned", "skipped"]
    assert "another invocation" in reports[1]["skipReason"] and "skipped" in reports[1]["summary"]
    assert len(pod_calls(sim)) == 1


def test_the_403_advice_names_the_directory_permission(sim, tracked):
    scenario = provision_scenario()
    scenario["tenants"][0]["apps"][0]["roles"] = ["Synchronization.ReadWrite.All", "Application.Read.All"]
    sim.set_scenario(scenario)
    run = tracked()
    assert run.error_type == "GraphPermissionDenied" and "GroupMember.Read.All" in run.error_message


def test_more_than_fifty_assigned_groups_are_tracked_in_chunks_of_fifty(sim, tracked):
    groups = {n: [n] for n in range(1, 56)}
    sim.set_scenario(provision_scenario(users=56, groups=groups))
    directory = Directory(sim)
    runs = tracked([PROVISION, PROVISION], before_each=lambda i: i == 1 and directory.add_members(53, 56))
    assert runs[0].ok()["result"] == "baseline"
    baselines = [r for r in graph_gets(sim, "/groups/delta") if r["query_params"].get("$deltatoken") == "latest"]
    assert sorted(r["query_params"]["$filter"].count("id eq") for r in baselines) == [5, 50]
    (sent,) = subjects(pod_calls(sim))
    assert sent["objectId"] == group_id(53) and member_ids(sent) == [user_id(56)]
    assert runs[1].ok()["result"] == "provisioned"


def test_a_dry_run_names_the_calls_and_sends_none(sim, directory, invoke):
    report = invoke({"action": "provision", "groups": ["AWS Admins"], "dryRun": True}).ok()
    assert report["result"] == "wouldProvision" and report["dryRun"] is True
    assert [o["result"] for o in report["objects"]] == ["wouldProvision"]
    assert pod_calls(sim) == []


def test_a_call_throttled_through_every_retry_gets_one_more_try_a_window_later(sim, directory, invoke):
    sim.add_faults([{"method": "POST", "path_contains": "/provisionOnDemand", "status": 429, "times": 4}])
    report = invoke({"action": "provision", "users": [upn(1)]}, timeout_s=60).ok()
    assert [o["result"] for o in report["objects"]] == ["provisioned"]
    assert [c["status"] for c in pod_calls(sim)] == [429, 429, 429, 429, 200]
