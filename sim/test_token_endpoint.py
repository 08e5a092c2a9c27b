"""Self-tests of the simulator: scenario loading, the token endpoint and bearer checks.

Run: python3 -m pytest sim   (pytest is the only dependency)
"""

from __future__ import annotations

import time

import pytest

from .testing import DEMO, DOMAIN, OTHER_TENANT, TENANT, scenario, with_app, with_job


# ---------------------------------------------------------------------------------------------
# Basics
# ---------------------------------------------------------------------------------------------

def test_built_in_scenario_equals_demo_json():
    from sim.default_scenario import DEFAULT_SCENARIO
    assert DEFAULT_SCENARIO == DEMO


def test_health_and_empty_scenario_body_loads_the_default(sim):
    assert sim.call("GET", "/_sim/health").json == {"ok": True}
    assert sim.call("POST", "/_sim/scenario", data=b"").json["jobs"] == 2


def test_invalid_scenario_is_rejected_with_the_field_named(sim):
    reply = sim.call("POST", "/_sim/scenario", json_body=with_job(cycle_secnds=2))
    assert reply.status == 400 and "cycle_secnds" in reply.json["error"]
    assert sim.call("GET", "/_sim/state").json["service_principals"][0]["displayName"] == "AWS IAM Identity Center"


# ---------------------------------------------------------------------------------------------
# Token endpoint
# ---------------------------------------------------------------------------------------------

def test_token_success_by_tenant_id_and_by_domain(sim):
    for tenant in (TENANT, DOMAIN):
        reply = sim.token_reply(tenant)
        assert reply.status == 200
        body = reply.json
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
        assert body["access_token"].split(".")[2].startswith("simtok-"), "a JWT signed simtok-<hex>"
        assert reply.headers["request-id"]


@pytest.mark.parametrize("tenant, fields, status, error, code", [
    ("not a tenant!", {}, 400, "invalid_request", 900023),
    (OTHER_TENANT, {}, 400, "invalid_request", 90002),
    ("fabrikam.onmicrosoft.com", {}, 400, "invalid_request", 90002),
    (TENANT, {"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    (TENANT, {"client_id": "00000000-1111-2222-3333-444444444444"}, 400, "unauthorized_client", 700016),
    (TENANT, {"client_secret": None}, 401, "invalid_client", 7000216),
    (TENANT, {"client_secret": "a-secret-id-not-its-value"}, 401, "invalid_client", 7000215),
    (TENANT, {"scope": "https://graph.microsoft.com"}, 400, "invalid_scope", 1002012),
    (TENANT, {"scope": "https://graph.microsoft.us/.default"}, 400, "invalid_resource", 500011),
    (TENANT, {"scope": None}, 400, "invalid_request", 900144),
])
def test_token_errors_carry_aadsts_codes(sim, tenant, fields, status, error, code):
    reply = sim.token_reply(tenant, **fields)
    assert reply.status == status
    body = reply.json
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    trailer = f"Trace ID: {body['trace_id']} Correlation ID: {body['correlation_id']} Timestamp: "
    assert trailer in body["error_description"]
    assert reply.headers["request-id"] == body["trace_id"]
    assert body["error_uri"].endswith(f"code={code}")


def test_disabled_app_gets_7000112(sim):
    sim.scenario(with_app(disabled=True))
    reply = sim.token_reply()
    assert reply.status == 401 and reply.json["error_codes"] == [7000112]


def test_rotation_expired_secret_is_7000222_and_the_new_one_works(sim):
    sim.scenario(with_app(secrets=[{"value": "old", "expired": True}, {"value": "new", "expired": False}]))
    assert sim.token_reply(client_secret="old").json["error_codes"] == [7000222]
    assert sim.token_reply(client_secret="new").status == 200


def test_token_request_as_json_reads_as_missing_fields(sim):
    reply = sim.call("POST", f"/{TENANT}/oauth2/v2.0/token", json_body={"grant_type": "client_credentials"})
    assert reply.status == 400 and reply.json["error_codes"] == [900144]


# ---------------------------------------------------------------------------------------------
# Bearer checks
# ---------------------------------------------------------------------------------------------

def test_bearer_missing_unknown_and_expired(sim):
    missing = sim.call("GET", "/v1.0/servicePrincipals")
    assert missing.status == 401 and missing.graph_code == "InvalidAuthenticationToken"
    assert missing.json["error"]["message"] == "Access token is empty."
    assert "www-authenticate" in missing.headers
    unknown = sim.call("GET", "/v1.0/servicePrincipals", token="simtok-forged")
    assert unknown.status == 401 and unknown.graph_code == "InvalidAuthenticationToken"
    token = sim.token()
    assert sim.call("GET", "/v1.0/servicePrincipals", token=token).status == 200
    assert sim.call("POST", "/_sim/expire-tokens").json["expired"] == 1
    expired = sim.call("GET", "/v1.0/servicePrincipals", token=token)
    assert expired.status == 401
    assert expired.json["error"]["message"] == "Lifetime validation failed, the token is expired."
    assert sim.call("GET", "/v1.0/servicePrincipals", token=sim.token()).status == 200


def test_token_expires_after_its_lifetime(sim):
    sim.scenario(scenario(token_lifetime_seconds=0.3))
    token = sim.token()
    assert sim.call("GET", "/v1.0/servicePrincipals", token=token).status == 200
    time.sleep(0.35)
    assert sim.call("GET", "/v1.0/servicePrincipals", token=token).status == 401


def test_graph_errors_echo_client_request_id(sim):
    sent = "c0ffee00-1111-2222-3333-444444444444"
    reply = sim.call("GET", "/v1.0/servicePrincipals", headers={"client-request-id": sent})
    assert reply.headers["client-request-id"] == sent
    inner = reply.json["error"]["innerError"]
    assert inner["client-request-id"] == sent
    assert inner["request-id"] == reply.headers["request-id"]
