"""The provision action against issue 10's contract, the way an independent acceptance suite
would drive it: the built bootstrap through the Runtime API, moto_server (Secrets Manager,
DynamoDB) and the Graph simulator, with hostile-but-valid variations of Microsoft's documented
shapes (fields missing or null, `@odata.type` absent, empty pages with a next link, a delta
link on a page with values, ids in another case) and the contract's edge cases.

tests/e2e/test_provision.py covers the main stories; this file covers what it does not."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from devtools.directory import Directory, group_id, provision_scenario, upn, user_id
from helpers import member_ids, pod_calls, subjects

PROVISION = {"action": "provision"}
USER = "#microsoft.graph.user"


def graph(sim) -> list[dict]:
    return [r for r in sim.requests() if r["endpoint"] == "graph"]


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp[:26]).timestamp()


# -- the request ------------------------------------------------------------------------------

@pytest.mark.parametrize("event, field", [
    ({"action": "restart", "groups": ["AWS Admins"]}, "groups"),
    ({"action": "status", "users": [upn(1)]}, "users"),
    ({"action": "provision", "users": [1, 2]}, "users"),
    ({"action": "provision", "users": upn(1)}, "users"),
    ({"action": "provision", "groups": [{"id": group_id(1)}]}, "groups"),
    ({"action": "provision", "users": []}, "users"),
    ({"action": "provision", "users": [""]}, "users"),
])
def test_names_are_lists_of_strings_for_provision_only(sim, invoke, event, field):
    sim.set_scenario(provision_scenario(users=5))
    run = invoke(event)
    assert run.error_type == "InvalidRequest", run.payload
    assert field in run.error_message
    assert pod_calls(sim) == []


def test_names_without_an_action_follow_sync_action(sim, invoke):
    sim.set_scenario(provision_scenario(users=5))
    refused = invoke({"users": [upn(1)]}, env={"SYNC_ACTION": "restart"})
    assert refused.error_type == "InvalidRequest" and "users" in refused.error_message
    report = invoke({"users": [upn(1)]}, env={"SYNC_ACTION": "provision"}).ok()
    assert report["result"] == "provisioned"
    assert subjects(pod_calls(sim)) == [{"objectId": user_id(1), "objectTypeName": "User"}]


def test_sync_action_provision_without_a_state_table_names_it(sim, invoke):
    sim.set_scenario(provision_scenario(users=5))
    run = invoke({}, env={"SYNC_ACTION": "provision"})
    assert run.error_type == "ConfigurationError" and "STATE_TABLE" in run.error_message
    assert pod_calls(sim) == []


def test_user_principal_names_with_ext_apostrophes_and_plus_are_read_by_path(sim, invoke):
    names = {1: "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com", 2: "o'neil@contoso.com", 3: "bob+aws@contoso.com"}
    scenario = provision_scenario(users=3, groups={1: [1, 2, 3]})
    for user in scenario["directory"]["users"]:
        n = int(user["id"][-3:])
        user["userPrincipalName"] = user["mail"] = names[n]
    sim.set_scenario(scenario)
    report = invoke({"action": "provision", "users": list(names.values())}).ok()
    assert subjects(pod_calls(sim)) == [{"objectId": user_id(n), "objectTypeName": "User"} for n in names]
    assert [o["userPrincipalName"] for o in report["objects"]] == list(names.values())
    reads = [r["decoded_path"] for r in graph(sim) if r["decoded_path"].startswith("/v1.0/users/")]
    assert reads == [f"/v1.0/users/{name}" for name in names.values()]


# -- change tracking --------------------------------------------------------------------------

def test_the_baseline_reads_both_deltas_with_latest_and_sends_nothing(sim, tracked, _moto_server):
    sim.set_scenario(provision_scenario(users=10, assigned_users=[9, 10]))
    _moto_server.start_recording()
    report = tracked({}).ok()
    assert report["result"] == "baseline" and "baseline" in report["summary"]
    assert pod_calls(sim) == [] and not [r for r in graph(sim) if r["decoded_path"].endswith("/schema")]
    deltas = [r for r in graph(sim) if r["decoded_path"].endswith("/delta")]
    assert sorted(r["decoded_path"] for r in deltas) == ["/v1.0/groups/delta", "/v1.0/users/delta"]
    assert all(r["query_params"]["$deltatoken"] == "latest" for r in deltas)
    users = next(r for r in deltas if r["decoded_path"] == "/v1.0/users/delta")
    assert users["query_params"]["$filter"] == f"id eq '{user_id(9)}' or id eq '{user_id(10)}'"
    assert len(_moto_server.dynamodb_calls()) <= 2


def test_nothing_changed_with_users_and_groups_assigned_is_three_reads_and_two_table_calls(sim, tracked,
                                                                                          _moto_server):
    sim.set_scenario(provision_scenario(users=10, assigned_users=[9, 10]))

    def measure(index):
        if index == 1:
            sim._call("DELETE", "/_sim/requests")
            _moto_server.start_recording()
    runs = tracked([{}, {}], before_each=measure)
    report = runs[1].ok()
    assert report["result"] == "unchanged" and report["objects"] == []
    assert len(graph(sim)) <= 3, [r["decoded_path"] for r in graph(sim)]
    assert pod_calls(sim) == []
    assert len(_moto_server.dynamodb_calls()) <= 2


def test_twelve_members_added_are_three_calls_of_at_most_five(sim, tracked):
    sim.set_scenario(provision_scenario(users=20, groups={1: [1]}))
    directory = Directory(sim)
    runs = tracked([{}, {}, {}], before_each=lambda i: i == 1 and directory.add_members(1, *range(2, 14)))
    report = runs[1].ok()
    sent = subjects(pod_calls(sim))
    assert [s["objectId"] for s in sent] == [group_id(1)] * 3
    assert sorted(len(member_ids(s)) for s in sent) == [2, 5, 5]
    assert sorted(m for s in sent for m in member_ids(s)) == sorted(user_id(n) for n in range(2, 14))
    assert report["changesDetected"] == 12 and report["result"] == "provisioned"
    assert runs[2].ok()["result"] == "unchanged"


def test_an_unassigned_user_is_sent_once_so_aws_disables_it_and_later_runs_stay_quiet(sim, tracked):
    """Microsoft: "On-demand provisioning supports disabling users that have been unassigned from
    the application". An unassigned group is left to the provisioning cycle."""
    sim.set_scenario(provision_scenario(users=10, assigned_users=[9, 10]))
    directory = Directory(sim)

    def change(index):
        if index == 1:
            directory.unassign(users=(10,), groups=(2,))
        if index == 2:
            directory.put_user(10, jobTitle="Left")   # no longer in scope: not provisioned again
    runs = tracked([{}, {}, {}], before_each=change)
    report = runs[1].ok()
    assert subjects(pod_calls(sim)) == [{"objectId": user_id(10), "objectTypeName": "User"}]
    (obj,) = report["objects"]
    assert obj["reason"] == "unassigned" and obj["result"] in ("provisioned", "skipped")
    assert obj["userPrincipalName"] == upn(10), "the report names the user"
    assert report["changesDetected"] == 1 and report["stateAdvanced"] is True
    third = runs[2].ok()
    assert third["result"] == "unchanged", third
    assert len(pod_calls(sim)) == 1


def test_a_deleted_assigned_user_is_left_to_the_cycle_not_failed_on_every_run(sim, tracked):
    """Deleting a user ends its assignments. Microsoft: on-demand provisioning does not disable
    users deleted from Entra, so a call for one would fail run after run, and the state would
    never move again."""
    sim.set_scenario(provision_scenario(users=10, assigned_users=[9, 10]))
    runs = tracked([{}, {}, {}], before_each=lambda i: i == 1 and sim._call(
        "POST", "/_sim/directory/delete-user", {"id": user_id(10)}))
    second = runs[1].ok()
    assert pod_calls(sim) == [] and second["stateAdvanced"] is True
    assert runs[2].ok()["result"] == "unchanged"


def test_hostile_but_valid_delta_pages_are_read(sim, tracked):
    """A delta round as another Graph may send it: `@odata.type` missing on a member, a member
    removed with reason "changed", a device and a nested group among the members, nulls and
    unknown fields, a deleted group, a group not in scope, an id in upper case, an empty page
    with a next link, and the delta link on a page that still has values."""
    sim.set_scenario(provision_scenario(users=12, assigned_users=[9]))
    directory = Directory(sim)
    g1, g2 = group_id(1), group_id(2)
    link = "{base}/v1.0/groups/delta?$skiptoken="
    faults = [
        {"method": "GET", "path_contains": "/groups/delta?$deltatoken=", "status": 200, "times": 1, "body": {
            "@odata.context": "{base}/v1.0/$metadata#groups", "@odata.nextLink": link + "hostileA",
            "value": [
                {"id": g1, "displayName": None, "description": "x", "securityEnabled": True,
                 "members@delta": [
                     {"id": user_id(6)},
                     {"@odata.type": USER, "id": user_id(2), "@removed": {"reason": "changed"}},
                     {"@odata.type": "#microsoft.graph.device", "id": "dev-1"},
                     {"@odata.type": "#microsoft.graph.group", "id": group_id(7)}]},
                {"id": group_id(8), "members@delta": [{"@odata.type": USER, "id": user_id(1)}]},
                {"id": group_id(9), "@removed": {"reason": "deleted"}},
            ]}},
        {"method": "GET", "path_contains": "$skiptoken=hostileA", "status": 200, "times": 1,
         "body": {"@odata.nextLink": link + "hostileB", "value": []}},
        {"method": "GET", "path_contains": "$skiptoken=hostileB", "status": 200, "times": 1, "body": {
            "@odata.deltaLink": "{base}/v1.0/groups/delta?$deltatoken=hostileFinal",
            "value": [{"id": g1.upper(), "members@delta": [{"@odata.type": USER, "id": user_id(7).upper()}]},
                      {"id": g2, "displayName": "AWS Developers", "members@delta": None}]}},
        {"method": "GET", "path_contains": "/users/delta?$deltatoken=", "status": 200, "times": 1, "body": {
            "@odata.deltaLink": "{base}/v1.0/users/delta?$deltatoken=hostileUsers",
            "value": [{"id": user_id(9), "userPrincipalName": None, "accountEnabled": False, "extra": {"a": 1}}]}},
    ]
    quiet = [
        {"method": "GET", "path_contains": "$deltatoken=hostileFinal", "status": 200, "times": 1,
         "body": {"value": [], "@odata.deltaLink": "{self}"}},
        {"method": "GET", "path_contains": "$deltatoken=hostileUsers", "status": 200, "times": 1,
         "body": {"value": [], "@odata.deltaLink": "{self}"}},
    ]

    def change(index):
        if index == 1:
            sim.add_faults(faults)
        if index == 2:
            sim.add_faults(quiet)
    runs = tracked([{}, {}, {}], before_each=change)
    report = runs[1].ok()
    sent = subjects(pod_calls(sim))
    by_group = {}
    for s in sent:
        by_group.setdefault(s["objectId"].lower(), []).append(s)
    assert sorted(by_group) == sorted([g1, g2, user_id(9)]), sent
    (g1_call,) = by_group[g1]
    assert sorted(m.lower() for m in member_ids(g1_call)) == sorted([user_id(6), user_id(2), user_id(7)])
    assert [member_ids(s) for s in by_group[g2]] == [[]], "an attribute change: the group alone"
    assert by_group[user_id(9)] == [{"objectId": user_id(9), "objectTypeName": "User"}]
    assert report["result"] == "provisioned" and report["stateAdvanced"] is True
    third = runs[2].ok()
    assert third["result"] == "unchanged", "the delta links from the hostile pages were stored and replayed"


@pytest.mark.parametrize("status, code", [(400, "syncStateNotFound"), (400, "resyncRequired")])
def test_an_expired_token_by_code_rebaselines_and_restarts_once(sim, tracked, status, code):
    sim.set_scenario(provision_scenario(users=10))
    directory = Directory(sim)
    runs = tracked([{}, {}], env={"MIN_TRIGGER_INTERVAL": "0"},
                   before_each=lambda i: i == 1 and directory.expire_delta_tokens(status, code))
    report = runs[1].ok()
    assert report["result"] == "restart" and report["restart"]["result"] == "triggered"
    assert pod_calls(sim) == []
    assert len([r for r in sim.requests() if r["decoded_path"].endswith("/restart")]) == 1


def test_a_resync_code_nested_in_innererror_is_an_expired_token(sim, tracked):
    """Microsoft's errors page: apps look through the `innererror` chain for the most detailed
    code they understand; `resyncRequired` there means the token is no longer valid."""
    sim.set_scenario(provision_scenario(users=10))
    body = {"error": {"code": "invalidRequest", "message": "The request is malformed or incorrect.",
                      "innererror": {"code": "resyncRequired", "date": "2026-11-29T06:00:00"}}}
    runs = tracked([{}, {}], env={"MIN_TRIGGER_INTERVAL": "0"}, before_each=lambda i: i == 1 and sim.add_faults(
        [{"method": "GET", "path_contains": "/groups/delta?$deltatoken=", "status": 400, "body": body, "times": 1}]))
    report = runs[1].ok()
    assert report["result"] == "restart" and report["restart"]["result"] == "triggered"


def test_a_failure_names_the_user_and_code_and_leaves_the_state_item_alone(sim, tracked, _moto_server,
                                                                          state_table):
    sim.set_scenario(provision_scenario(users=10, assigned_users=[9]))
    directory = Directory(sim)
    directory.provisioning(failures={user_id(9): {"errorCode": "EntryConflict", "errorMessage": "duplicate"}})
    before = {}

    def change(index):
        if index == 1:
            before["items"] = _moto_server.state_items(state_table)
            directory.put_user(9, jobTitle="CFO")
    runs = tracked([{}, {}], before_each=change)
    failed = runs[1]
    assert failed.error_type == "ProvisioningFailed"
    assert upn(9) in failed.error_message and "EntryConflict" in failed.error_message
    after = _moto_server.state_items(state_table)
    strip = lambda items: [{k: v for k, v in i.items() if not k.startswith("lease")} for i in items]  # noqa: E731
    assert strip(after) == strip(before["items"]), "the state did not advance"


def test_a_429_from_provision_on_demand_waits_its_retry_after(sim, invoke):
    sim.set_scenario(provision_scenario(users=5, window_seconds=3, limit=1))
    report = invoke({"action": "provision", "users": [upn(1), upn(2)]}, timeout_s=60).ok()
    assert [o["result"] for o in report["objects"]] == ["provisioned"] * 2
    calls = pod_calls(sim)
    assert [c["status"] for c in calls] == [200, 429, 200], [c["status"] for c in calls]
    first, refused, retried = (seconds(c["time"]) for c in calls)
    retry_after = max(1, math.ceil(first + 3 - refused))   # what the simulator's 429 said
    assert retried - refused >= retry_after - 0.05, f"retried {retried - refused:.2f}s after Retry-After {retry_after}"


def rule(rule_id: str, source: str, metadata: list | None = None) -> dict:
    return {"id": rule_id, "name": f"rule {rule_id}", "sourceDirectoryName": source,
            "targetDirectoryName": "AWSSingleSignon", "editable": True, "priority": 1,
            "metadata": metadata, "objectMappings": None}


@pytest.mark.parametrize("rules, chosen", [
    # The rule saying so wins, wherever it is and whatever its id looks like.
    ([rule("11111111-0000-0000-0000-000000000001", "Azure Active Directory"),
      rule("33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2", "Azure Active Directory",
           [{"key": "supportsProvisionOnDemand", "value": "True"}])], "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2"),
    # Failing that, the rule reading from Entra ID; null metadata is no metadata.
    ([rule("22222222-0000-0000-0000-000000000002", "customappsso"),
      rule("22222222-0000-0000-0000-000000000003", "Azure Active Directory")], "22222222-0000-0000-0000-000000000003"),
])
def test_the_rule_comes_from_the_schema_never_a_constant(sim, invoke, rules, chosen):
    sim.set_scenario(provision_scenario(users=5, schema_rules=rules))
    invoke({"action": "provision", "users": [upn(1)]}).ok()
    (call,) = pod_calls(sim)
    assert call["json_body"]["parameters"][0]["ruleId"] == chosen


def test_a_schema_without_a_usable_rule_fails_before_any_call(sim, invoke):
    sim.set_scenario(provision_scenario(users=5, schema_rules=[rule("r1", "customappsso")]))
    run = invoke({"action": "provision", "users": [upn(1)]})
    assert run.error_type == "ProvisionOnDemandUnsupported" and "r1" in run.error_message
    assert pod_calls(sim) == []


def test_a_failed_run_still_emits_the_provision_metrics(sim, invoke):
    sim.set_scenario(provision_scenario(users=5))
    Directory(sim).provisioning(failures={user_id(2): {"errorCode": "EntryConflict"}})
    run = invoke({"action": "provision", "users": [upn(1), upn(2)]})
    assert run.error_type == "ProvisioningFailed" and upn(2) in run.error_message
    assert upn(1) not in run.error_message, "only the failed object is named"
    (metrics,) = [line for line in run.json_logs() if "_aws" in line and "ChangesDetected" in line]
    names = {m["Name"] for d in metrics["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert names == {"ChangesDetected", "Provisioned", "ProvisionSkipped", "ProvisionFailed"}
    assert (metrics["ChangesDetected"], metrics["Provisioned"], metrics["ProvisionFailed"]) == (2, 1, 1)


def test_pacing_holds_across_back_to_back_invocations_of_one_environment(sim, invoke):
    """Microsoft's 5 per 10 s is per job, not per invocation: a warm environment's second
    invocation waits for the window its first one opened. Checked on the simulator's clock."""
    sim.set_scenario(provision_scenario(users=6, groups={1: [1]}))
    runs = invoke([{"action": "provision", "users": [upn(n) for n in (1, 2, 3)]},
                   {"action": "provision", "users": [upn(n) for n in (4, 5, 6)]}], timeout_s=60)
    assert all(len(run.ok()["objects"]) == 3 for run in runs)
    calls = pod_calls(sim)
    assert [c["status"] for c in calls] == [200] * 6, "the simulator never had to refuse a call"
    times = [seconds(c["time"]) for c in calls]
    assert all(later - earlier >= 10.0 for earlier, later in zip(times, times[5:])), times
