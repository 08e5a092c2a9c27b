"""Self-tests of the simulator: Graph service principals, synchronization jobs and permissions.

Run: python3 -m pytest sim   (pytest is the only dependency)
"""

from __future__ import annotations

import time

import pytest

from .testing import (AWS_APP, AWS_JOB, AWS_SP, CALLER_SP, OTHER_TENANT, TENANT, jobs_path, q, scenario,
                      with_app, with_job)


# ---------------------------------------------------------------------------------------------
# Service principals
# ---------------------------------------------------------------------------------------------

def extra_sp(i: int, name: str, tenant: str = TENANT) -> dict:
    return {"id": f"aaaaaaaa-0000-4000-8000-{i:012d}", "appId": f"bbbbbbbb-0000-4000-8000-{i:012d}",
            "displayName": name, "tenant_id": tenant, "jobs": []}


def test_filter_by_display_name_with_a_quote_and_select(sim):
    s = scenario()
    s["service_principals"].append(extra_sp(1, "O'Brien's App"))
    sim.scenario(s)
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName eq 'o''brien''s app'",
                                                                "$select": "id,displayName"}))
    assert reply.status == 200
    assert reply.json["value"] == [{"id": "aaaaaaaa-0000-4000-8000-000000000001", "displayName": "O'Brien's App"}]
    unescaped = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName eq 'O'Brien's App'"}))
    assert unescaped.status == 400 and unescaped.graph_code == "BadRequest"


def test_filter_finds_the_aws_app_case_insensitively_and_space_as_plus(sim):
    reply = sim.graph("GET", "/v1.0/servicePrincipals?$filter=displayName+eq+%27aws+IAM+identity+center%27"
                             "&$select=id,appId,displayName")
    assert reply.json["value"] == [{"id": AWS_SP, "appId": AWS_APP, "displayName": "AWS IAM Identity Center"}]


def test_unsupported_filter_and_unknown_option(sim):
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "startswith(displayName,'AWS')"}))
    assert reply.status == 400 and reply.graph_code in ("Request_UnsupportedQuery", "BadRequest")
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$filter": "displayName ne 'x'"}))
    assert reply.status == 400 and reply.graph_code == "Request_UnsupportedQuery"
    reply = sim.graph("GET", "/v1.0/servicePrincipals" + q(**{"$orderby": "displayName"}))
    assert reply.status == 400 and reply.graph_code == "Request_UnsupportedQuery"


def test_paging_follows_absolute_next_links(sim):
    s = scenario(page_size=2)
    s["service_principals"] += [extra_sp(i, f"App {i}") for i in range(5)]
    s["service_principals"].append(extra_sp(9, "Hidden", OTHER_TENANT))
    s["tenants"].append({"id": OTHER_TENANT, "domains": ["fabrikam.onmicrosoft.com"], "apps": []})
    sim.scenario(s)
    token = sim.token()
    names, url, pages = [], "/v1.0/servicePrincipals" + q(**{"$select": "id,displayName"}), 0
    while url:
        body = sim.call("GET", url, token=token).json
        pages += 1
        names += [sp["displayName"] for sp in body["value"]]
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith(sim.base + "/v1.0/servicePrincipals?")
    assert pages == 4 and len(names) == 7 and "Hidden" not in names


def test_service_principal_by_id_and_by_app_id(sim):
    assert sim.graph("GET", f"/v1.0/servicePrincipals/{AWS_SP}").json["appId"] == AWS_APP
    assert sim.graph("GET", f"/v1.0/servicePrincipals(appId='{AWS_APP}')").json["id"] == AWS_SP
    missing = sim.graph("GET", "/v1.0/servicePrincipals/00000000-0000-4000-8000-000000000000")
    assert missing.status == 404 and missing.graph_code == "Request_ResourceNotFound"
    assert sim.graph("GET", "/v1.0/servicePrincipals(appId='00000000-0000-4000-8000-000000000000')").status == 404


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------

def test_jobs_list_and_get_with_dotted_and_percent_encoded_ids(sim):
    token = sim.token()
    listed = sim.call("GET", jobs_path(), token=token).json["value"]
    assert [j["id"] for j in listed] == [AWS_JOB]
    assert set(listed[0]["status"]) >= {"code", "lastExecution", "quarantine", "countSuccessiveCompleteFailures"}
    assert listed[0]["schedule"] == {"expiration": None, "interval": "PT40M", "state": "Active"}
    for job_segment in (AWS_JOB, AWS_JOB.replace(".", "%2E"), "".join(f"%{b:02X}" for b in AWS_JOB.encode())):
        reply = sim.call("GET", jobs_path(job=job_segment), token=token)
        assert reply.status == 200 and reply.json["id"] == AWS_JOB
    by_app_id = sim.call("GET", jobs_path(sp=AWS_APP, job=AWS_JOB), token=token)
    assert by_app_id.json["id"] == AWS_JOB
    assert sim.call("GET", jobs_path(job="AWSSCIM.nope.nope"), token=token).status == 404
    assert sim.call("GET", jobs_path(sp="00000000-0000-4000-8000-000000000000"), token=token).status == 404


def test_jobs_are_paged(sim):
    s = scenario(page_size=1)
    s["service_principals"][0]["jobs"].append({"id": "AWSSCIM.second.job"})
    sim.scenario(s)
    first = sim.graph("GET", jobs_path()).json
    assert len(first["value"]) == 1 and first["@odata.nextLink"].endswith("$skiptoken=1")
    second = sim.graph("GET", first["@odata.nextLink"]).json
    assert second["value"][0]["id"] == "AWSSCIM.second.job" and "@odata.nextLink" not in second


def test_restart_with_and_without_criteria(sim):
    token = sim.token()
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == 204
    body = {"criteria": {"resetScope": "Watermark, Escrows"}}
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token, json_body=body).status == 204
    state = sim.job_state()
    assert state["restart_count"] == 2 and state["trigger_count"] == 2
    assert [t["reset_scope"] for t in state["triggers"]] == [None, ["Watermark", "Escrows"]]
    assert state["last_restart_criteria"] == {"resetScope": "Watermark, Escrows"}


@pytest.mark.parametrize("body, named", [
    ({"criteria": {"resetScope": "Watermark,Everything"}}, "Everything"),
    ({"criteria": {"resetScope": "watermark"}}, "watermark"),
    ({"criteria": {"scope": "Full"}}, "resetScope"),
    ({"resetScope": "Full"}, "resetScope"),
])
def test_restart_rejects_bad_criteria(sim, body, named):
    reply = sim.graph("POST", jobs_path(job=AWS_JOB, action="restart"), json_body=body)
    assert reply.status == 400 and reply.graph_code == "BadRequest" and named in reply.json["error"]["message"]
    assert sim.job_state()["trigger_count"] == 0


def test_cycle_finishes_after_cycle_seconds_with_the_outcome(sim):
    outcome = {"state": "Succeeded", "countEntitled": 7, "countImported": 7, "countExported": 2}
    sim.scenario(with_job(cycle_seconds=0.3, cycle_outcome=outcome, steadyStateLastAchievedTime=None))
    token = sim.token()
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == 204
    running = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert running["code"] == "Active" and running["lastExecution"]["timeEnded"] is None
    assert running["lastExecution"]["state"] is None
    activity = running["lastExecution"]["activityIdentifier"]
    time.sleep(0.35)
    done = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
    assert done["lastExecution"]["state"] == "Succeeded" and done["lastExecution"]["timeEnded"]
    assert done["lastExecution"]["countExported"] == 2 and done["lastExecution"]["countEntitled"] == 7
    assert done["lastSuccessfulExecution"]["activityIdentifier"] == activity
    assert done["lastSuccessfulExecutionWithExports"]["activityIdentifier"] == activity
    assert done["steadyStateLastAchievedTime"] == done["lastExecution"]["timeEnded"]


def test_failed_cycles_count_and_may_quarantine(sim):
    error = {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure", "message": "401",
             "tenantActionable": True}
    outcome = {"state": "Failed", "error": error, "quarantine": {"reason": "EncounteredQuarantineException"}}
    sim.scenario(with_job(cycle_seconds=0.05, cycle_outcome=outcome))
    token = sim.token()
    for expected in (1, 2):
        sim.call("POST", jobs_path(job=AWS_JOB, action="start"), token=token)
        time.sleep(0.08)
        status = sim.call("GET", jobs_path(job=AWS_JOB), token=token).json["status"]
        assert status["countSuccessiveCompleteFailures"] == expected
    assert status["code"] == "Quarantine" and status["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert status["lastExecution"]["error"]["code"].startswith("SystemForCrossDomain")


def test_quarantine_start_restart_scopes_and_pause(sim):
    quarantine = {"reason": "EncounteredBaseEscrowThreshold", "seriesCount": 2}
    sim.scenario(with_job(quarantine=quarantine, status_code="Quarantine"))
    token = sim.token()
    path = lambda action: jobs_path(job=AWS_JOB, action=action)  # noqa: E731
    sim.call("POST", path("restart"), token=token, json_body={"criteria": {"resetScope": "Watermark"}})
    assert sim.job_state()["job"]["status"]["code"] == "Quarantine"
    sim.call("POST", path("restart"), token=token, json_body={"criteria": {"resetScope": "QuarantineState"}})
    assert sim.job_state()["job"]["status"]["quarantine"] is None
    assert sim.call("POST", path("pause"), token=token).status == 204
    job = sim.job_state()["job"]
    assert job["status"]["code"] == "Paused" and job["schedule"]["state"] == "Paused"
    sim.scenario(with_job(quarantine=quarantine, status_code="Quarantine"))
    assert sim.call("POST", path("start"), token=sim.token()).status == 204
    state = sim.job_state()
    assert state["job"]["status"]["code"] == "Active" and state["job"]["status"]["quarantine"] is None
    assert state["start_count"] == 1 and state["triggers"][0]["status_before"] == "Quarantine"


def test_trigger_while_running_is_recorded(sim):
    sim.scenario(with_job(cycle_running=True, cycle_seconds=30))
    sim.graph("POST", jobs_path(job=AWS_JOB, action="start"))
    assert sim.job_state()["triggers"][0]["while_running"] is True


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------

def test_no_roles_means_403_everywhere(sim):
    sim.scenario(with_app(roles=[]))
    token = sim.token()
    for method, path in (("GET", "/v1.0/servicePrincipals"), ("GET", jobs_path()),
                         ("POST", jobs_path(job=AWS_JOB, action="restart"))):
        reply = sim.call(method, path, token=token)
        assert reply.status == 403 and reply.graph_code == "Authorization_RequestDenied"
        assert reply.json["error"]["message"] == "Insufficient privileges to complete the operation."


def test_read_only_roles_cannot_restart(sim):
    sim.scenario(with_app(roles=["Synchronization.Read.All", "Application.Read.All"]))
    token = sim.token()
    assert sim.call("GET", jobs_path(), token=token).status == 200
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == 403


@pytest.mark.parametrize("owner, expected", [(True, 204), (False, 403)])
def test_owned_by_needs_the_caller_to_own_the_service_principal(sim, owner, expected):
    s = with_app(roles=["Application.ReadWrite.OwnedBy"])
    s["service_principals"][0]["owners"] = [CALLER_SP] if owner else ["11111111-2222-4333-8444-555555555555"]
    sim.scenario(s)
    token = sim.token()
    by_name = q(**{"$filter": "displayName eq 'AWS IAM Identity Center'"})
    found = sim.call("GET", "/v1.0/servicePrincipals" + by_name, token=token)
    # Microsoft: OwnedBy may list every service principal; ownership gates the sync endpoints.
    assert len(found.json["value"]) == 1
    assert sim.call("GET", f"/v1.0/servicePrincipals/{AWS_SP}", token=token).status == 200
    assert sim.call("GET", jobs_path(), token=token).status == (200 if owner else 403)
    assert sim.call("POST", jobs_path(job=AWS_JOB, action="restart"), token=token).status == expected
