"""Self-tests of the directory and provision-on-demand families, on their logic (the HTTP
round trips are in the package's HTTP tests)."""

import json

import pytest

from .directory_state import ControlError, Directory, parse_id_filter
from .graph import GraphError
from .on_demand_state import AWS_RULE_ID, Provisioning

SP = "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a"
BASE = "http://127.0.0.1:1/v1.0/groups/delta"
JOB = "AWSSCIM.abc.def"


def world(members=3):
    users = [{"id": f"00000000-0000-0000-0000-00000000000{i}", "userPrincipalName": f"u{i}@contoso.com"}
             for i in range(members)]
    return Directory.parse({
        "users": users,
        "groups": [{"id": "11111111-0000-0000-0000-000000000000", "displayName": "AWS Admins",
                    "members": [u["id"] for u in users]}],
        "assignments": [{"principalId": "11111111-0000-0000-0000-000000000000"}],
    }, SP)


def read_all(directory, options, now=0.0):
    page = directory.delta("groups", options, now, BASE)
    items = list(page["value"])
    while "@odata.nextLink" in page:
        skip = page["@odata.nextLink"].split("$skiptoken=")[1]
        page = directory.delta("groups", {"$skiptoken": skip}, now, BASE)
        items.extend(page["value"])
    return items, page["@odata.deltaLink"].split("$deltatoken=")[1]


def test_latest_token_then_member_changes_show_in_members_delta_with_removals():
    d = world()
    gid = "11111111-0000-0000-0000-000000000000"
    items, token = read_all(d, {"$filter": f"id eq '{gid}'", "$select": "displayName,members",
                                "$deltatoken": "latest"})
    assert items == []
    d.put_user({"id": "00000000-0000-0000-0000-000000000009", "userPrincipalName": "new@contoso.com"})
    d.change_members(gid, ["00000000-0000-0000-0000-000000000009"], ["00000000-0000-0000-0000-000000000000"])
    items, token2 = read_all(d, {"$deltatoken": token})
    assert [i["id"] for i in items] == [gid]
    members = {m["id"]: m for m in items[0]["members@delta"]}
    assert "@removed" in members["00000000-0000-0000-0000-000000000000"]
    assert "@removed" not in members["00000000-0000-0000-0000-000000000009"]
    assert members["00000000-0000-0000-0000-000000000009"]["@odata.type"] == "#microsoft.graph.user"
    assert read_all(d, {"$deltatoken": token2})[0] == [], "a new token starts after the changes read"


def test_a_large_group_spans_several_pages_under_one_id():
    d = world(members=9)
    d.members_per_page, d.delta_page_size = 4, 1
    items, _ = read_all(d, {"$filter": "id eq '11111111-0000-0000-0000-000000000000'"})
    assert len(items) == 3 and {i["id"] for i in items} == {"11111111-0000-0000-0000-000000000000"}
    assert sum(len(i["members@delta"]) for i in items) == 9


def test_tokens_expire_by_age_or_by_control():
    d = world()
    _, token = read_all(d, {"$deltatoken": "latest"})
    with pytest.raises(GraphError) as aged:
        d.delta("groups", {"$deltatoken": token}, d.token_lifetime + 1, BASE)
    assert aged.value.code == "syncStateNotFound"
    _, token = read_all(d, {"$deltatoken": "latest"})
    d.expire_tokens(410, "resyncRequired")
    with pytest.raises(GraphError) as gone:
        d.delta("groups", {"$deltatoken": token}, 0, BASE)
    assert gone.value.status == 410 and gone.value.headers[0][0] == "Location"


def test_id_filter_reads_or_chains_and_refuses_more_than_fifty():
    assert parse_id_filter("id eq 'A' or id eq 'b''c'") == ("a", "b'c")
    with pytest.raises(GraphError):
        parse_id_filter(" or ".join(f"id eq '{i}'" for i in range(51)))
    with pytest.raises(GraphError):
        parse_id_filter("displayName eq 'x'")


def test_users_are_found_by_id_or_upn_and_bad_controls_say_why():
    d = world()
    assert d.user("U1@CONTOSO.COM")["id"].endswith("1")
    with pytest.raises(GraphError):
        d.user("nobody@contoso.com")
    with pytest.raises(ControlError):
        d.put_user({"userPrincipalName": "x@y", "shoeSize": 4})
    with pytest.raises(ControlError):
        d.assign({"principalId": "99999999-0000-0000-0000-000000000000"}, SP, 0)


def pod(provisioning, directory, subject, now=0.0, rule=AWS_RULE_ID):
    body = {"parameters": [{"ruleId": rule, "subjects": [subject]}]}
    answer = provisioning.provision(directory, SP, JOB, body, now)
    return json.loads(answer["key"]), json.loads(answer["value"])


def test_answers_follow_the_documented_shape_and_repeat_is_redundant():
    d, p = world(), Provisioning()
    user = {"objectId": "00000000-0000-0000-0000-000000000001", "objectTypeName": "User"}
    key, log = pod(p, d, user)
    assert key == {"result": "Success", "details": {}} and log["statusInfo"]["status"] == "Success"
    key, _ = pod(p, d, user)
    assert key["result"] == "Skipped" and key["details"]["errorCode"] == "RedundantExport"


def test_the_sixth_call_in_a_window_is_throttled_with_retry_after():
    d, p = world(), Provisioning(window_seconds=2)
    user = {"objectId": "00000000-0000-0000-0000-000000000001", "objectTypeName": "User"}
    for _ in range(5):
        pod(p, d, user, now=100.0)
    with pytest.raises(GraphError) as throttled:
        pod(p, d, user, now=100.5)
    assert throttled.value.status == 429 and ("Retry-After", "2") in throttled.value.headers
    pod(p, d, user, now=102.1)


def test_groups_take_at_most_five_users_and_only_the_jobs_rule():
    d, p = world(members=6), Provisioning()
    members = [{"objectId": f"00000000-0000-0000-0000-00000000000{i}", "objectTypeName": "User"} for i in range(6)]
    group = {"objectId": "11111111-0000-0000-0000-000000000000", "objectTypeName": "Group",
             "links": {"members": members}}
    with pytest.raises(GraphError) as too_many:
        pod(p, d, group)
    assert too_many.value.code == "RequestParameterInvalid"
    group["links"]["members"] = members[:5]
    assert pod(p, d, group)[0]["result"] == "Success"
    with pytest.raises(GraphError) as wrong_rule:
        pod(p, d, group, rule="00000000-0000-0000-0000-000000000000")
    assert "does not include the rule" in wrong_rule.value.message


def test_configured_failures_fail_a_number_of_times_then_succeed():
    d, p = world(), Provisioning()
    p.configure({"failures": {"00000000-0000-0000-0000-000000000002": {"errorCode": "EntryConflict", "times": 1}}})
    user = {"objectId": "00000000-0000-0000-0000-000000000002", "objectTypeName": "User"}
    key, log = pod(p, d, user)
    assert key["result"] == "Failure" and key["details"]["errorCode"] == "EntryConflict"
    assert log["statusInfo"]["errorCode"] == "EntryConflict"
    assert pod(p, d, user)[0]["result"] == "Success"
