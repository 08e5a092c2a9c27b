"""The directory and provision-on-demand families over HTTP: Graph's shapes, permissions,
paging, delta links, the 429 and the /_sim controls."""

import json
from urllib.parse import parse_qs, urlsplit

from .on_demand_state import AWS_RULE_ID
from .testing import AWS_JOB, AWS_SP, jobs_path, q, scenario

ROLES = ["Synchronization.ReadWrite.All", "Application.Read.All", "GroupMember.Read.All", "User.Read.All"]
U1, U2, U3 = (f"00000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
G1 = "10000000-0000-4000-8000-000000000001"


def directory_scenario(roles=ROLES, **provisioning):
    s = scenario(directory={
        "users": [{"id": u, "userPrincipalName": f"user{i}@contoso.com"} for i, u in enumerate((U1, U2, U3), 1)],
        "groups": [{"id": G1, "displayName": "O'Brien Admins", "members": [U1, U2]}],
        "assignments": [{"principalId": G1, "principalType": "Group"}, {"principalId": U3}],
    })
    s["tenants"][0]["apps"][0]["roles"] = roles
    if provisioning:
        s["provisioning"] = provisioning
    return s


def test_users_by_id_or_upn_and_groups_by_display_name(sim):
    sim.scenario(directory_scenario())
    assert sim.graph("GET", "/v1.0/users/user2@contoso.com").json["id"] == U2
    assert sim.graph("GET", f"/v1.0/users/{U1}").json["userPrincipalName"] == "user1@contoso.com"
    assert sim.graph("GET", "/v1.0/users/nobody@contoso.com").graph_code == "Request_ResourceNotFound"
    found = sim.graph("GET", "/v1.0/groups" + q(**{"$filter": "displayName eq 'O''Brien Admins'"})).json
    assert [g["id"] for g in found["value"]] == [G1]
    members = sim.graph("GET", f"/v1.0/groups/{G1}/members").json["value"]
    assert [(m["@odata.type"], m["id"]) for m in members] == [("#microsoft.graph.user", U1), ("#microsoft.graph.user", U2)]


def test_assignments_are_app_role_assignments(sim):
    sim.scenario(directory_scenario())
    items = sim.graph("GET", f"/v1.0/servicePrincipals/{AWS_SP}/appRoleAssignedTo").json["value"]
    assert {(a["principalId"], a["principalType"]) for a in items} == {(G1, "Group"), (U3, "User")}
    assert all(a["resourceId"] == AWS_SP and a["appRoleId"] for a in items)


def test_directory_reads_need_their_permissions(sim):
    sim.scenario(directory_scenario(roles=["Synchronization.ReadWrite.All"]))
    assert sim.graph("GET", f"/v1.0/users/{U1}").status == 403
    assert sim.graph("GET", "/v1.0/groups/delta").status == 403
    assert sim.graph("GET", f"/v1.0/servicePrincipals/{AWS_SP}/appRoleAssignedTo").status == 403


def test_delta_links_report_member_changes_made_through_the_controls(sim):
    sim.scenario(directory_scenario())
    first = sim.graph("GET", "/v1.0/groups/delta" + q(**{"$filter": f"id eq '{G1}'", "$select": "displayName,members",
                                                          "$deltatoken": "latest"})).json
    assert first["value"] == [] and "@odata.deltaLink" in first
    reply = sim.call("POST", "/_sim/directory/members", json_body={"group": G1, "add": [U3], "remove": [U1]})
    assert reply.status == 200, reply.body
    changed = sim.graph("GET", first["@odata.deltaLink"]).json
    (group,) = changed["value"]
    assert {m["id"]: "@removed" in m for m in group["members@delta"]} == {U3: False, U1: True}
    link = urlsplit(changed["@odata.deltaLink"])
    assert parse_qs(link.query)["$deltatoken"]
    assert sim.graph("GET", changed["@odata.deltaLink"]).json["value"] == []


def test_expired_delta_tokens_answer_410_or_sync_state_not_found(sim):
    sim.scenario(directory_scenario())
    link = sim.graph("GET", "/v1.0/users/delta" + q(**{"$deltatoken": "latest"})).json["@odata.deltaLink"]
    sim.call("POST", "/_sim/directory/expire-delta-tokens", json_body={"status": 410})
    gone = sim.graph("GET", link)
    assert gone.status == 410 and "location" in gone.headers
    link = sim.graph("GET", "/v1.0/users/delta" + q(**{"$deltatoken": "latest"})).json["@odata.deltaLink"]
    sim.call("POST", "/_sim/directory/expire-delta-tokens", json_body={})
    assert sim.graph("GET", link).graph_code == "syncStateNotFound"


def test_delta_filters_take_at_most_fifty_ids(sim):
    sim.scenario(directory_scenario())
    ids = " or ".join(f"id eq '{i}'" for i in range(51))
    assert sim.graph("GET", "/v1.0/groups/delta" + q(**{"$filter": ids})).status == 400


def pod(sim, subject, rule=AWS_RULE_ID):
    body = {"parameters": [{"ruleId": rule, "subjects": [subject]}]}
    return sim.graph("POST", jobs_path(job=AWS_JOB, action="provisionOnDemand"), json_body=body)


def test_schema_names_the_rule_and_provision_on_demand_answers_key_value_strings(sim):
    sim.scenario(directory_scenario())
    schema = sim.graph("GET", jobs_path(job=AWS_JOB) + "/schema").json
    (rule,) = schema["synchronizationRules"]
    assert rule["id"] == AWS_RULE_ID and {"key": "supportsProvisionOnDemand", "value": "true"} in rule["metadata"]
    reply = pod(sim, {"objectId": G1, "objectTypeName": "Group",
                      "links": {"members": [{"objectId": U1, "objectTypeName": "User"}]}})
    assert reply.status == 200
    assert reply.json["@odata.context"].endswith("#microsoft.graph.stringKeyStringValuePair")
    assert json.loads(reply.json["key"])["result"] == "Success"
    assert json.loads(reply.json["value"])["provisioningSteps"]
    assert pod(sim, {"objectId": U1, "objectTypeName": "User"}, rule="nope").graph_code == "RequestParameterInvalid"


def test_the_limit_is_answered_with_429_and_retry_after(sim):
    sim.scenario(directory_scenario(window_seconds=30, limit=2))
    user = {"objectId": U1, "objectTypeName": "User"}
    assert [pod(sim, user).status for _ in range(2)] == [200, 200]
    throttled = pod(sim, user)
    assert throttled.status == 429 and int(throttled.headers["retry-after"]) >= 1
    assert len(sim.call("GET", "/_sim/provisioning").json["calls"]) == 2


def test_configured_failures_and_bad_controls(sim):
    sim.scenario(directory_scenario())
    reply = sim.call("POST", "/_sim/provisioning", json_body={"failures": {U1: {"errorCode": "EntryConflict"}}})
    assert reply.status == 200
    assert json.loads(pod(sim, {"objectId": U1, "objectTypeName": "User"}).json["key"])["result"] == "Failure"
    assert sim.call("POST", "/_sim/provisioning", json_body={"windw": 1}).status == 400
    assert sim.call("POST", "/_sim/directory/members", json_body={"group": "nope", "add": [U1]}).status == 400
    bad = scenario(directory={"users": [{"id": U1}]})
    assert sim.call("POST", "/_sim/scenario", json_body=bad).status == 400
