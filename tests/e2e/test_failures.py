"""Setup mistakes and outages: every one ends in a failed invocation whose errorType names the
class and whose errorMessage tells the admin what to fix. Never a panic, never a secret."""

import copy

import pytest

from helpers import CLIENT, JOB_ID, SECRET_KEYS, TENANT, graph_calls, token_calls

CANARY = "CANARY-s3cr3t-7Q~value"


def canary_scenario(scenario, secret=CANARY, **app):
    changed = copy.deepcopy(scenario)
    changed["tenants"][0]["apps"][0]["secrets"] = [{"value": secret, "expired": False}]
    changed["tenants"][0]["apps"][0].update(app)
    return changed


def secret_fields(**overrides):
    fields = {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": CANARY}
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def assert_failed(run, error_type, *fragments):
    assert not run.succeeded, f"expected {error_type}, got a report: {run.payload}"
    assert run.error_type == error_type, f"{run.error_type}: {run.error_message}"
    for fragment in fragments:
        assert fragment in run.error_message, f"{fragment!r} not in: {run.error_message}"
    assert CANARY not in run.error_message
    assert "panicked" not in run.log_text()


# (name, how to break the setup, expected errorType, fragments of the message)
SETUP_MISTAKES = [
    ("wrong secret value", dict(secret={"client_secret": "the-secret-ID-not-its-value"}),
     "EntraAuthenticationFailed", ["AADSTS7000215", "VALUE", "Secret ID"]),
    ("expired secret", dict(app={"secrets": [{"value": CANARY, "expired": True}]}),
     "EntraAuthenticationFailed", ["AADSTS7000222", "expired"]),
    ("unknown client id", dict(secret={"client_id": "00000000-0000-0000-0000-000000000001"}),
     "EntraAuthenticationFailed", ["AADSTS700016", "client_id"]),
    ("unknown tenant", dict(secret={"tenant_id": "00000000-0000-0000-0000-000000000002"}),
     "EntraAuthenticationFailed", ["AADSTS90002", "tenant_id", "AZURE_CLOUD"]),
    ("app disabled", dict(app={"disabled": True}), "EntraAuthenticationFailed", ["AADSTS7000112"]),
    ("no Graph permission to read jobs", dict(app={"roles": ["Application.Read.All"]}),
     "GraphPermissionDenied", ["403", "Synchronization.Read", "admin consent", "request-id"]),
    ("no permission to find the app", dict(app={"roles": ["Synchronization.ReadWrite.All"]}),
     "GraphPermissionDenied", ["Application.Read.All", "admin consent"]),
    ("read-only permission", dict(app={"roles": ["Synchronization.Read.All", "Application.Read.All"]}),
     "GraphPermissionDenied", ["restarting", "Synchronization.ReadWrite.All"]),
    # Microsoft: OwnedBy may list every service principal, so the app is found and the
    # synchronization endpoints refuse (403) without ownership.
    ("OwnedBy without ownership", dict(app={"roles": ["Application.ReadWrite.OwnedBy"]}),
     "GraphPermissionDenied", ["OwnedBy", "owner", "Synchronization.ReadWrite.All"]),
    ("malformed secret JSON", dict(raw_secret='{"tenant_id": "x", "client_secret": "' + CANARY + '"'),
     "InvalidSecret", ["invalid JSON", "line 1"]),
    ("secret without client_secret", dict(secret={"client_secret": None}),
     "InvalidSecret", list(SECRET_KEYS["client_secret"])),
    ("secret with a number as client_secret", dict(secret={"client_secret": 12345}),
     "InvalidSecret", ["client_secret", "string"]),
    ("tenant that is neither GUID nor domain", dict(secret={"tenant_id": "my tenant"}),
     "InvalidSecret", ["tenant_id", "GUID"]),
    ("unknown display name", dict(env={"APP_DISPLAY_NAME": "AWS SSO"}),
     "ServicePrincipalNotFound", ["AWS SSO", "SERVICE_PRINCIPAL_ID"]),
    ("unknown service principal id", dict(env={"SERVICE_PRINCIPAL_ID": "00000000-0000-0000-0000-000000000003"}),
     "ServicePrincipalNotFound", ["00000000-0000-0000-0000-000000000003", "SERVICE_PRINCIPAL_ID"]),
    ("missing SECRET_ID", dict(env={"SECRET_ID": ""}), "ConfigurationError", ["SECRET_ID"]),
    ("secret that does not exist", dict(env={"SECRET_ID": "no/such/secret"}),
     "SecretNotFound", ["no/such/secret"]),
    ("no target anywhere", dict(env={"APP_DISPLAY_NAME": ""}),
     "ConfigurationError", ["APP_DISPLAY_NAME", "SERVICE_PRINCIPAL_ID"]),
    ("plain http Graph off loopback", dict(env={"GRAPH_ENDPOINT": "http://graph.example.com"}),
     "ConfigurationError", ["GRAPH_ENDPOINT", "loopback", "https"]),
    ("unknown cloud", dict(env={"AZURE_CLOUD": "mars"}), "ConfigurationError", ["AZURE_CLOUD", "mars"]),
    ("bad reset scope in the environment", dict(env={"RESET_SCOPE": "Everything"}),
     "ConfigurationError", ["RESET_SCOPE", "Everything"]),
]


@pytest.mark.parametrize("name,mistake,error_type,fragments", SETUP_MISTAKES, ids=[m[0] for m in SETUP_MISTAKES])
def test_setup_mistakes_say_what_to_fix(name, mistake, error_type, fragments, sim, scenario, invoke, moto):
    sim.set_scenario(canary_scenario(scenario, **mistake.get("app", {})))
    raw = mistake.get("raw_secret")
    secret_name = moto.put_secret(raw if raw is not None else secret_fields(**mistake.get("secret", {})))
    env = {"SECRET_ID": secret_name, **mistake.get("env", {})}
    assert_failed(invoke({}, env=env), error_type, *fragments)
    triggered = [c for c in graph_calls(sim, "POST") if c["status"] < 300]
    assert triggered == [], "nothing may be triggered when the setup is wrong"


BAD_REQUESTS = [
    ({"action": "reboot"}, ['"reboot"', "restart"]),
    ({"resetScope": "None"}, ['"None"', "start"]),
    ({"resetScope": "ConnectorDataStore"}, ['"ConnectorDataStore"']),
    ({"resetScope": "Watermark,Everything"}, ['"Everything"']),
    ({"acton": "restart"}, ["acton"]),
    ({"dryRun": "yes"}, ["dryRun"]),
    ({"jobId": 7}, ["jobId"]),
    ({"appDisplayName": "   "}, ["appDisplayName", "empty"]),
    ({"servicePrincipalId": "not-a-guid"}, ["servicePrincipalId", "GUID"]),
    ({"appDisplayName": "x" * 1000}, ["appDisplayName", "1000 characters"]),
    ([1, 2, 3], ["array"]),
    ("restart", ["string"]),
    ({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {"action": "nope"}}, ['"nope"']),
]


@pytest.mark.parametrize("payload,fragments", BAD_REQUESTS, ids=[str(p)[:40] for p, _ in BAD_REQUESTS])
def test_bad_requests_fail_before_any_call(payload, fragments, sim, invoke):
    assert_failed(invoke(payload), "InvalidRequest", *fragments)
    assert sim.requests() == [], "a bad request must not reach Entra or Graph"


def test_deeply_nested_payload_is_refused_not_crashed(sim, invoke):
    deep = {"detail": None}
    node = deep
    for _ in range(200):
        node["detail"] = {"x": {}}
        node = node["detail"]["x"]
    assert_failed(invoke(deep), "InvalidRequest")


def test_several_apps_with_the_name_list_their_ids(sim, scenario, invoke):
    twin = copy.deepcopy(scenario["service_principals"][0])
    twin.update(id="11111111-aaaa-bbbb-cccc-000000000001", appId="11111111-aaaa-bbbb-cccc-000000000002")
    scenario["service_principals"].append(twin)
    sim.set_scenario(scenario)
    assert_failed(invoke({}), "AmbiguousServicePrincipal",
                  "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a", "11111111-aaaa-bbbb-cccc-000000000001",
                  "SERVICE_PRINCIPAL_ID")


def test_app_without_provisioning_says_so(sim, scenario, invoke):
    scenario["service_principals"][0]["jobs"] = []
    sim.set_scenario(scenario)
    assert_failed(invoke({}), "ProvisioningNotConfigured", "Provisioning", "Automatic")


def test_unknown_job_id_lists_the_jobs(sim, invoke):
    assert_failed(invoke({"jobId": "AWSSCIM.nope"}), "JobNotFound", "AWSSCIM.nope", JOB_ID)
    assert graph_calls(sim, "POST") == []


def test_rejected_secret_is_reread_once_not_in_a_loop(sim, scenario, invoke, moto):
    sim.set_scenario(canary_scenario(scenario))
    name = moto.put_secret(secret_fields(client_secret="wrong-value"))
    runs = invoke([{}, {}], env={"SECRET_ID": name})
    assert all(r.error_type == "EntraAuthenticationFailed" for r in runs)
    # cold: read, reject (fresh, no re-read); warm: cached, reject, re-read once, reject
    assert runs.log_count("read the credentials secret") == 2
    assert len(token_calls(sim)) == 3
