"""Self-tests of the health families: access tokens with a `roles` claim, the app registration's
credentials, validateCredentials and the provisioning log."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from .testing import AWS_JOB, CLIENT, CALLER_SP, TENANT, jobs_path, q, scenario, with_app, with_job


def claims(token: str) -> dict:
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def test_access_tokens_are_jwts_carrying_the_apps_roles(sim):
    token = sim.token()
    header, _, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["typ"] == "JWT"
    assert signature.startswith("simtok-"), "the leak canary's marker"
    body = claims(token)
    assert sorted(body["roles"]) == ["Application.Read.All", "Synchronization.ReadWrite.All"]
    assert body["tid"] == TENANT and body["appid"] == CLIENT and body["idtyp"] == "app"
    assert body["aud"] == "https://graph.microsoft.com"
    sim.scenario(with_app(roles=[]))
    assert "roles" not in claims(sim.token()), "Entra leaves the claim out when nothing is granted"


# -- applications ---------------------------------------------------------------------------------

def test_application_credentials_by_app_id_in_microsofts_shape(sim):
    sim.scenario(with_app(password_credentials=[
        {"displayName": "lambda", "hint": "dem", "start_in_days": -10, "end_in_days": 10},
        {"displayName": "fixed", "hint": "abc", "endDateTime": "2030-01-01T00:00:00Z"}]))
    reply = sim.graph("GET", f"/v1.0/applications(appId='{CLIENT}')"
                      + q(**{"$select": "passwordCredentials,keyCredentials"}))
    assert reply.status == 200, reply.body
    body = reply.json
    assert set(body) == {"@odata.context", "id", "passwordCredentials", "keyCredentials"}
    first, second = body["passwordCredentials"]
    assert set(first) == {"customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId", "startDateTime"}
    end = datetime.fromisoformat(first["endDateTime"][:26] + "+00:00")
    assert timedelta(days=9.9) < end - datetime.now(timezone.utc) < timedelta(days=10.1)
    assert second["endDateTime"] == "2030-01-01T00:00:00Z" and second["hint"] == "abc"
    assert body["keyCredentials"] == []
    by_object_id = sim.graph("GET", f"/v1.0/applications/{body['id']}")
    assert by_object_id.status == 200 and by_object_id.json["appId"] == CLIENT


def test_default_password_credentials_follow_the_apps_secrets(sim):
    s = scenario()
    s["tenants"][0]["apps"][0]["secrets"].append({"value": "old-secret-value", "expired": True})
    sim.scenario(s)
    creds = sim.graph("GET", f"/v1.0/applications(appId='{CLIENT}')").json["passwordCredentials"]
    assert [c["hint"] for c in creds] == ["dem", "old"]
    now = datetime.now(timezone.utc).isoformat()
    assert creds[0]["endDateTime"] > now > creds[1]["endDateTime"]


def test_reading_an_application_needs_a_read_role_or_ownership(sim):
    sim.scenario(with_app(roles=["Synchronization.ReadWrite.All"]))
    reply = sim.graph("GET", f"/v1.0/applications(appId='{CLIENT}')")
    assert reply.status == 403 and reply.graph_code == "Authorization_RequestDenied"
    sim.scenario(with_app(roles=["Application.ReadWrite.OwnedBy"], application_owners=[CALLER_SP]))
    assert sim.graph("GET", f"/v1.0/applications(appId='{CLIENT}')").status == 200
    sim.scenario(with_app(roles=["Application.ReadWrite.OwnedBy"]))
    assert sim.graph("GET", f"/v1.0/applications(appId='{CLIENT}')").status == 403
    sim.scenario(scenario())
    unknown = sim.graph("GET", "/v1.0/applications(appId='00000000-0000-4000-8000-000000000000')")
    assert unknown.status == 404


def test_bad_credential_fields_are_scenario_errors(sim):
    bad = with_app(password_credentials=[{"hint": "dem", "ends": 3}])
    assert sim.call("POST", "/_sim/scenario", json_body=bad).status == 400


# -- validateCredentials --------------------------------------------------------------------------

def test_validate_credentials_answers_204_or_400_by_the_saved_tokens_state(sim):
    path = jobs_path(job=AWS_JOB, action="validateCredentials")
    assert sim.graph("POST", path, json_body={"useSavedCredentials": True}).status == 204
    sim.scenario(with_job(scim_token="expired"))
    reply = sim.graph("POST", path, json_body={"useSavedCredentials": True})
    assert reply.status == 400 and reply.graph_code == "CredentialValidationUnavailable"
    assert "innerError" in reply.json["error"]
    tests = sim.call("GET", "/_sim/state").json["scim_tokens"][AWS_JOB.lower()]["tests"]
    assert tests == [{"saved": True, "result": "expired"}]


def test_validate_credentials_checks_body_and_permission(sim):
    path = jobs_path(job=AWS_JOB, action="validateCredentials")
    assert sim.graph("POST", path, json_body={"useSavedCredentials": False}).graph_code == \
        "RequestMissingRequiredParameter"
    assert sim.graph("POST", path, json_body={"surprise": 1}).status == 400
    sim.scenario(with_app(roles=["Synchronization.Read.All"]))
    assert sim.graph("POST", path, json_body={"useSavedCredentials": True}).status == 403
    assert sim.graph("POST", jobs_path(job="AWSSCIM.nope", action="validateCredentials"),
                     json_body={"useSavedCredentials": True}).status in (403, 404)


# -- auditLogs/provisioning -----------------------------------------------------------------------

def log_scenario(**tenant_fields) -> dict:
    s = with_app(roles=["AuditLog.Read.All"])
    s["tenants"][0].update(tenant_fields)
    s["provisioning_log"] = [
        {"jobId": AWS_JOB, "minutes_ago": 30, "error_code": "EntryConflict", "reason": "duplicate",
         "recommended_action": "fix it", "sourceIdentity": {"id": "u1", "displayName": "Jane", "identityType": "User"}},
        {"jobId": AWS_JOB, "minutes_ago": 120, "error_code": "SchemaAttributeNotFound"},
        {"jobId": AWS_JOB, "minutes_ago": 60 * 48, "error_code": "Old"},
        {"jobId": AWS_JOB, "minutes_ago": 5, "status": "success"},
        {"jobId": "AWSSCIM.other", "minutes_ago": 5, "error_code": "OtherJob"},
    ]
    return s


def since(hours: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_failure_filter_selects_the_jobs_recent_failures_newest_first(sim):
    sim.scenario(log_scenario())
    expression = (f"jobId eq '{AWS_JOB}' and provisioningStatusInfo/status eq 'failure' "
                  f"and activityDateTime ge {since(24)}")
    reply = sim.graph("GET", "/v1.0/auditLogs/provisioning" + q(**{"$filter": expression, "$top": "10"}))
    assert reply.status == 200, reply.body
    entries = reply.json["value"]
    assert [e["provisioningStatusInfo"]["errorInformation"]["errorCode"] for e in entries] == \
        ["EntryConflict", "SchemaAttributeNotFound"]
    first = entries[0]
    assert first["sourceIdentity"]["displayName"] == "Jane" and first["provisioningAction"] == "create"
    assert first["provisioningStatusInfo"]["errorInformation"]["recommendedAction"] == "fix it"
    assert first["servicePrincipal"]["displayName"] == "AWS IAM Identity Center"
    top = sim.graph("GET", "/v1.0/auditLogs/provisioning" + q(**{"$filter": expression, "$top": "1"}))
    assert len(top.json["value"]) == 1 and "@odata.nextLink" in top.json


@pytest.mark.parametrize("expression", [
    f"jobId eq '{AWS_JOB}' and activityDateTime ge '2026-01-01T00:00:00Z'",  # a quoted date
    "jobId eq 'x' or jobId eq 'y'",
    "startswith(jobId,'x')",
    "nosuch eq 'x'",
])
def test_unsupported_or_mistyped_filters_are_400(sim, expression):
    sim.scenario(log_scenario())
    reply = sim.graph("GET", "/v1.0/auditLogs/provisioning" + q(**{"$filter": expression}))
    assert reply.status == 400, expression


def test_the_log_needs_the_permission_and_a_premium_tenant(sim):
    sim.scenario(scenario())
    reply = sim.graph("GET", "/v1.0/auditLogs/provisioning")
    assert reply.status == 403 and reply.graph_code == "Authorization_RequestDenied"
    sim.scenario(log_scenario(entra_premium=False))
    reply = sim.graph("GET", "/v1.0/auditLogs/provisioning")
    assert reply.status == 403
    assert reply.graph_code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
