"""The `check` action end to end: every check in each of its states, through the Runtime API
against moto_server and the simulator. Each test reads the report (or the CheckFailed error)
as an admin would."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from devtools.services import scenario_with_jobs
from helpers import CLIENT, JOB_ID, SP_ID, TENANT, graph_calls, make_pair

CHECK_NAMES = ["credentials", "permissions", "clientSecretExpiry", "servicePrincipal", "jobs",
               "scimConnection", "provisioningErrors"]
ALL_ROLES = ["Synchronization.ReadWrite.All", "Application.Read.All", "AuditLog.Read.All"]


def app_of(scenario):
    return scenario["tenants"][0]["apps"][0]


def job_of(scenario):
    return scenario["service_principals"][0]["jobs"][0]


def healthy(scenario):
    """The demo with every optional read granted, so that every check can be made."""
    app_of(scenario)["roles"] = list(ALL_ROLES)
    return scenario


def by_name(checks):
    """name -> the check; each test's scenario has one job, so each name appears once."""
    names = [c["name"] for c in checks]
    assert sorted(names) == sorted(CHECK_NAMES), names
    return {c["name"]: c for c in checks}


def checks_of_failure(run):
    """A failed check run: the errorType, the message naming each failed check and its fix, and
    the per-check log lines (the report is not returned when the invocation fails)."""
    assert not run.succeeded and run.error_type == "CheckFailed", (run.error_type, run.error_message)
    lines = [d for d in run.json_logs() if d.get("message") == "check result"]
    return {d["check"]: d for d in lines}


def emf_days_left(run):
    return [d["ClientSecretDaysLeft"] for d in run.json_logs() if "ClientSecretDaysLeft" in d]


def test_all_healthy_every_check_ok(sim, scenario, invoke):
    sim.set_scenario(healthy(scenario))
    report = invoke({"action": "check"}).ok()
    checks = by_name(report["checks"])
    for name, check in checks.items():
        assert check["status"] == "ok", check
        assert check["detail"], name
        assert check["fix"] is None, check
    assert checks["jobs"]["jobId"] == JOB_ID
    assert report["action"] == "check"
    assert "7 checks: 7 ok" in report["summary"]
    assert graph_calls(sim, "POST", "/restart") == [] and graph_calls(sim, "POST", "/start") == []
    tests = sim.state()["scim_tokens"][JOB_ID.lower()]["tests"]
    assert tests == [{"saved": True, "result": "valid"}], "validateCredentials with the saved token"


def test_check_from_sync_action_reads_the_application_and_the_log_as_documented(sim, scenario, invoke):
    sim.set_scenario(healthy(scenario))
    run = invoke({}, env={"SYNC_ACTION": "check"})
    assert by_name(run.ok()["checks"])["clientSecretExpiry"]["status"] == "ok"
    (app_read,) = graph_calls(sim, "GET", "/applications")
    assert app_read["decoded_path"] == f"/v1.0/applications(appId='{CLIENT}')"
    assert app_read["query_params"]["$select"] == "passwordCredentials,keyCredentials"
    (log_read,) = graph_calls(sim, "GET", "/auditLogs/provisioning")
    query = parse_qs(log_read["query"])
    assert query["$top"] == ["10"]
    (expression,) = query["$filter"]
    prefix = f"jobId eq '{JOB_ID}' and provisioningStatusInfo/status eq 'failure' and activityDateTime ge "
    assert expression.startswith(prefix), expression
    assert "'" not in expression[len(prefix):], "the date is an unquoted DateTimeOffset"
    assert emf_days_left(run), "ClientSecretDaysLeft is published"


def test_a_missing_role_fails_naming_it_and_admin_consent(sim, scenario, invoke):
    app_of(scenario)["roles"] = ["Application.Read.All", "AuditLog.Read.All"]
    sim.set_scenario(scenario)
    run = invoke({"action": "check"})
    checks = checks_of_failure(run)
    assert checks["permissions"]["status"] == "failed"
    assert "Synchronization.ReadWrite.All" in checks["permissions"]["detail"]
    assert "admin consent" in checks["permissions"]["fix"]
    assert "permissions" in run.error_message and "admin consent" in run.error_message


def test_an_unneeded_role_is_a_warning_that_does_not_fail(sim, scenario, invoke):
    app_of(scenario)["roles"] = ALL_ROLES + ["User.ReadWrite.All"]
    sim.set_scenario(scenario)
    checks = by_name(invoke({"action": "check"}).ok()["checks"])
    permissions = checks["permissions"]
    assert permissions["status"] == "warning"
    assert permissions["unneeded"] == ["User.ReadWrite.All"]
    assert "User.ReadWrite.All" in permissions["fix"]


def test_a_secret_expiring_in_10_days_warns_and_publishes_the_days_left(sim, scenario, invoke):
    healthy(scenario)
    app_of(scenario)["password_credentials"] = [
        {"displayName": "older", "hint": "xyz", "start_in_days": -400, "end_in_days": 3},
        {"displayName": "lambda", "hint": "dem", "keyId": "6f0c8e8a-1111-4d2b-9c3a-5e6f7a8b9c0d",
         "start_in_days": -355, "end_in_days": 10},
        {"displayName": "newer", "hint": "abc", "start_in_days": -1, "end_in_days": 700},
    ]
    sim.set_scenario(scenario)
    run = invoke({"action": "check"})
    expiry = by_name(run.ok()["checks"])["clientSecretExpiry"]
    assert expiry["status"] == "warning"
    assert expiry["daysLeft"] == 10, "the secret whose hint matches the stored one"
    assert "lambda" in expiry["detail"] and "10 days" in expiry["detail"]
    assert "Certificates & secrets" in expiry["fix"]
    assert emf_days_left(run) == [10]


def test_the_warning_threshold_comes_from_the_environment(sim, scenario, invoke):
    healthy(scenario)
    app_of(scenario)["password_credentials"] = [{"hint": "dem", "end_in_days": 45}]
    sim.set_scenario(scenario)
    assert by_name(invoke({"action": "check"}).ok()["checks"])["clientSecretExpiry"]["status"] == "ok"
    run = invoke({"action": "check"}, env={"SECRET_EXPIRY_WARN_DAYS": "60"})
    assert by_name(run.ok()["checks"])["clientSecretExpiry"]["status"] == "warning"


def test_an_expired_secret_fails_credentials_and_expiry(sim, scenario, invoke):
    app_of(scenario)["secrets"][0]["expired"] = True
    sim.set_scenario(scenario)
    run = invoke({"action": "check"})
    checks = checks_of_failure(run)
    assert checks["credentials"]["status"] == "failed"
    assert "AADSTS7000222" in checks["credentials"]["detail"]
    assert checks["clientSecretExpiry"]["status"] == "failed"
    for name in ("permissions", "servicePrincipal", "jobs", "scimConnection", "provisioningErrors"):
        assert checks[name]["status"] == "unavailable", checks[name]
        assert "credentials" in checks[name]["detail"]
    assert "AADSTS7000222" in run.error_message


def test_a_secret_past_its_end_date_fails_the_expiry_check(sim, scenario, invoke):
    """The registration says the secret in use has ended, while a token was still issued."""
    healthy(scenario)
    app_of(scenario)["password_credentials"] = [{"hint": "dem", "start_in_days": -730, "end_in_days": -2}]
    sim.set_scenario(scenario)
    checks = checks_of_failure(invoke({"action": "check"}))
    assert checks["clientSecretExpiry"]["status"] == "failed"
    assert "expired" in checks["clientSecretExpiry"]["detail"]
    assert checks["credentials"]["status"] == "ok"


def test_no_right_to_read_the_application_is_unavailable_naming_the_permission(sim, scenario, invoke):
    app_of(scenario)["roles"] = ["Synchronization.ReadWrite.All"]
    sim.set_scenario(scenario)
    report = invoke({"action": "check"}, env={"SERVICE_PRINCIPAL_ID": SP_ID, "APP_DISPLAY_NAME": ""}).ok()
    checks = by_name(report["checks"])
    expiry = checks["clientSecretExpiry"]
    assert expiry["status"] == "unavailable"
    assert "Application.Read.All" in expiry["fix"] and "owner" in expiry["fix"]
    assert checks["permissions"]["status"] == "ok", "the check's own reads are optional"
    assert emf_days_left(invoke({"action": "check"}, env={"SERVICE_PRINCIPAL_ID": SP_ID})) == []


def test_scim_validation_refused_fails_with_the_aws_token_fix(sim, scenario, invoke):
    healthy(scenario)
    job_of(scenario)["scim_token"] = "expired"
    sim.set_scenario(scenario)
    run = invoke({"action": "check"})
    checks = checks_of_failure(run)
    scim = checks["scimConnection"]
    assert scim["status"] == "failed"
    assert scim["job_id"] == JOB_ID
    assert "CredentialValidationUnavailable" in scim["detail"]
    for words in ("IAM Identity Center", "Admin credentials", "one year"):
        assert words in scim["fix"]
    assert "scimConnection" in run.error_message and "Generate token" in run.error_message


def test_provisioning_log_failures_are_listed_as_a_warning(sim, scenario, invoke):
    healthy(scenario)
    scenario["provisioning_log"] = [
        {"jobId": JOB_ID, "minutes_ago": 30, "provisioningAction": "create",
         "sourceIdentity": {"id": "u1", "displayName": "Jane Doe", "identityType": "User"},
         "error_code": "EntryConflict", "reason": "A user with this email already exists in AWS.",
         "recommended_action": "Make the email unique."},
        {"jobId": JOB_ID, "minutes_ago": 90, "provisioningAction": "update",
         "sourceIdentity": {"id": "g1", "displayName": "AWS Admins", "identityType": "Group"},
         "error_code": "SchemaAttributeNotFound", "reason": "Attribute missing."},
        {"jobId": JOB_ID, "minutes_ago": 60 * 30, "error_code": "TooOld"},
        {"jobId": JOB_ID, "minutes_ago": 10, "status": "success"},
        {"jobId": "AWSSCIM.other.job", "minutes_ago": 5, "error_code": "OtherJob"},
    ]
    sim.set_scenario(scenario)
    check = by_name(invoke({"action": "check"}).ok()["checks"])["provisioningErrors"]
    assert check["status"] == "warning"
    assert [f["errorCode"] for f in check["failures"]] == ["EntryConflict", "SchemaAttributeNotFound"]
    first = check["failures"][0]
    assert first["identity"] == "Jane Doe" and first["action"] == "create"
    assert first["recommendedAction"] == "Make the email unique."
    for text in ("Jane Doe", "EntryConflict", "already exists", "AWS Admins", "group"):
        assert text in check["detail"]


@pytest.mark.parametrize("premium, roles, expected", [
    (True, ["Synchronization.ReadWrite.All", "Application.Read.All"], "AuditLog.Read.All"),
    (False, ALL_ROLES, "P1"),
])
def test_provisioning_log_unavailable_says_which(sim, scenario, invoke, premium, roles, expected):
    app_of(scenario)["roles"] = roles
    scenario["tenants"][0]["entra_premium"] = premium
    sim.set_scenario(scenario)
    check = by_name(invoke({"action": "check"}).ok()["checks"])["provisioningErrors"]
    assert check["status"] == "unavailable"
    assert expected in check["detail"]


def test_a_quarantined_job_fails_the_jobs_check(sim, scenario, invoke):
    healthy(scenario)
    job_of(scenario)["quarantine"] = {
        "reason": "EncounteredQuarantineException", "currentBegan": "2026-11-28T06:00:00Z",
        "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
                  "message": "Failed to validate the credentials", "tenantActionable": True}}
    sim.set_scenario(scenario)
    run = invoke({"action": "check"})
    jobs = checks_of_failure(run)["jobs"]
    assert jobs["status"] == "failed"
    assert "EncounteredQuarantineException" in jobs["detail"]
    assert "restart" in jobs["fix"]
    assert "jobs" in run.error_message


def test_a_paused_job_is_only_a_warning(sim, scenario, invoke):
    healthy(scenario)
    job_of(scenario).update(status_code="Paused", schedule_state="Paused")
    sim.set_scenario(scenario)
    jobs = by_name(invoke({"action": "check"}).ok()["checks"])["jobs"]
    assert jobs["status"] == "warning" and "start" in jobs["fix"]


def test_an_unknown_app_fails_service_principal_and_blocks_the_job_checks(sim, scenario, invoke):
    sim.set_scenario(healthy(scenario))
    checks = checks_of_failure(invoke({"action": "check"}, env={"APP_DISPLAY_NAME": "No Such App"}))
    assert checks["servicePrincipal"]["status"] == "failed"
    assert "No Such App" in checks["servicePrincipal"]["detail"]
    for name in ("jobs", "scimConnection", "provisioningErrors"):
        assert checks[name]["status"] == "unavailable"
    assert checks["clientSecretExpiry"]["status"] == "ok"


def test_a_certificate_reports_its_own_end_of_validity(sim, scenario, invoke, make_secret):
    certificate, key = make_pair(days_valid=21, days_ago=1)
    healthy(scenario)
    app_of(scenario)["certificates"] = [{"pem": certificate}]
    sim.set_scenario(scenario)
    secret_id = make_secret({"tenant_id": TENANT, "client_id": CLIENT, "certificate": certificate,
                             "private_key": key})
    run = invoke({"action": "check"}, env={"SECRET_ID": secret_id})
    expiry = by_name(run.ok()["checks"])["clientSecretExpiry"]
    assert expiry["status"] == "warning" and expiry["credentialType"] == "certificate"
    assert expiry["daysLeft"] == 20 and "x5t#S256" in expiry["detail"]
    assert graph_calls(sim, "GET", "/applications") == [], "a certificate knows its own end"
    assert emf_days_left(run) == [20]


def test_each_job_gets_its_own_job_checks(sim, invoke):
    scenario = healthy(scenario_with_jobs(2))
    jobs = scenario["service_principals"][0]["jobs"]
    jobs[1]["scim_token"] = "expired"
    sim.set_scenario(scenario)
    run = invoke({"action": "check"})
    assert run.error_type == "CheckFailed"
    lines = [d for d in run.json_logs() if d.get("message") == "check result"]
    per_job = {(d["check"], d["job_id"]): d["status"] for d in lines if d["job_id"]}
    assert per_job == {
        ("jobs", jobs[0]["id"]): "ok", ("jobs", jobs[1]["id"]): "ok",
        ("scimConnection", jobs[0]["id"]): "ok", ("scimConnection", jobs[1]["id"]): "failed",
        ("provisioningErrors", jobs[0]["id"]): "ok", ("provisioningErrors", jobs[1]["id"]): "ok",
    }
    assert jobs[1]["id"] in run.error_message and jobs[0]["id"] not in run.error_message
