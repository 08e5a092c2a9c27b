"""Certificate credentials and AWS outbound identity federation, end to end: the built bootstrap
through the Runtime API, the secret in moto_server, Entra's token endpoint in the simulator
(which verifies the assertions), and STS in sim/sts.py (GetWebIdentityToken)."""

from __future__ import annotations

import copy
import socket

import pytest

from helpers import CLIENT, TENANT, make_pair, token_calls

FIC_AUDIENCE = "api://AzureADTokenExchange"
STATUS = {"action": "status"}


# ---------------------------------------------------------------------------------------------
# Certificates, made here with `cryptography` (the simulator itself is standard library only)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pair():
    return make_pair()


def with_app(scenario: dict, **fields) -> dict:
    scenario = copy.deepcopy(scenario)
    scenario["tenants"][0]["apps"][0].update(fields)
    return scenario


def certificate_secret(certificate: str, key: str, key_field: str = "private_key") -> dict:
    return {"tenant_id": TENANT, "client_id": CLIENT, "certificate": certificate, key_field: key}


def assertion_of(request: dict) -> dict:
    assert request["form"].get("client_secret_sha256") is None, "a client secret was sent"
    return request["assertion"]


# ---------------------------------------------------------------------------------------------
# Certificate credentials
# ---------------------------------------------------------------------------------------------

def test_a_certificate_gets_a_token_with_a_fresh_assertion_each_time(invoke, sim, scenario, make_secret, pair):
    certificate, key = pair
    sim.set_scenario(with_app(scenario, certificates=[{"pem": certificate}]))
    secret_id = make_secret(certificate_secret(certificate, key))

    def expire(index):
        if index:
            sim.expire_tokens()  # the second run must ask for a new token

    runs = invoke([STATUS, STATUS], env={"SECRET_ID": secret_id}, before_each=expire)
    for run in runs:
        assert run.error_type is None, run.error_message
    requests = token_calls(sim)
    assert len(requests) >= 2 and all(r["status"] == 200 for r in requests), requests
    first, last = assertion_of(requests[0]), assertion_of(requests[-1])
    assert first["kind"] == "certificate"
    assert first["header"]["alg"] == "PS256" and first["header"]["typ"] == "JWT"
    assert "x5t#S256" in first["header"]
    claims = first["claims"]
    assert claims["aud"] == f"{sim.url}/{TENANT}/oauth2/v2.0/token"
    assert claims["iss"] == claims["sub"] == CLIENT
    assert claims["nbf"] == claims["iat"] and 0 < claims["exp"] - claims["iat"] <= 600
    assert last["claims"]["jti"] != claims["jti"], "each token request needs a fresh assertion"


def test_the_certificate_wins_over_a_client_secret_and_privateKey_is_accepted(invoke, sim, scenario,
                                                                              make_secret, pair):
    certificate, key = pair
    sim.set_scenario(with_app(scenario, certificates=[{"pem": certificate}]))
    secret = {**certificate_secret(certificate, key, "privateKey"), "client_secret": "demo-client-secret-value"}
    result = invoke(STATUS, env={"SECRET_ID": make_secret(secret)})
    assert result.error_type is None, result.error_message
    assert assertion_of(token_calls(sim)[0])["kind"] == "certificate"


@pytest.mark.parametrize("case,expected", [
    ("mismatch", "does not belong"),
    ("expired", "expired on"),
    ("not-pem", "BEGIN CERTIFICATE"),
    ("ec-key", "not an RSA key"),
])
def test_local_certificate_problems_fail_before_any_token_request(invoke, sim, make_secret, pair, case, expected):
    certificate, key = pair
    if case == "mismatch":
        key = make_pair()[1]
    elif case == "expired":
        certificate, key = make_pair(days_valid=30, days_ago=60)
    elif case == "not-pem":
        certificate = "MIIB" + certificate.splitlines()[1]
    elif case == "ec-key":
        certificate, key = make_pair(kind="ec")
    result = invoke(STATUS, env={"SECRET_ID": make_secret(certificate_secret(certificate, key))})
    assert result.error_type == "InvalidSecret", result.error_message
    assert expected in result.error_message
    assert token_calls(sim) == [], "the problem must be found before asking Entra"


def test_entra_rejects_a_certificate_it_does_not_know(invoke, sim, make_secret, pair):
    certificate, key = pair  # the demo app has no certificate registered
    result = invoke(STATUS, env={"SECRET_ID": make_secret(certificate_secret(certificate, key))})
    assert result.error_type == "EntraAuthenticationFailed"
    assert "AADSTS700027" in result.error_message
    assert "Certificates & secrets" in result.error_message


# ---------------------------------------------------------------------------------------------
# AWS outbound identity federation
# ---------------------------------------------------------------------------------------------

class NoCallsListener:
    """A port that must see no connection: Secrets Manager, in federation mode."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.setblocking(False)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def connections(self) -> int:
        count = 0
        while True:
            try:
                connection, _ = self.socket.accept()
            except BlockingIOError:
                return count
            connection.close()
            count += 1


@pytest.fixture
def secrets_manager_trap():
    trap = NoCallsListener()
    yield trap
    trap.socket.close()


def federation_env(sts, trap, **extra) -> dict:
    return {"CREDENTIAL_SOURCE": "aws-federation", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT,
            "SECRET_ID": "", "AWS_ENDPOINT_URL_SECRETS_MANAGER": trap.url, **sts.function_env(), **extra}


def trusting(scenario: dict, sts, subject: str | None = None) -> dict:
    credential = {"name": "aws-entra-idc-sync", "issuer": sts.issuer, "subject": subject or sts.role_arn,
                  "audiences": [FIC_AUDIENCE]}
    return with_app(scenario, federated_credentials=[credential])


def test_federation_gets_a_token_without_secrets_manager_and_reuses_it_warm(invoke, sim, scenario, sts,
                                                                            secrets_manager_trap):
    sim.set_scenario(trusting(scenario, sts))
    runs = invoke([STATUS, STATUS], env=federation_env(sts, secrets_manager_trap))
    for run in runs:
        assert run.error_type is None, run.error_message
    assert secrets_manager_trap.connections() == 0, "Secrets Manager must not be called"
    assert sts.calls() == 1, "the warm run must reuse the Entra token without asking STS again"
    requests = token_calls(sim)
    assert len(requests) == 1
    assertion = assertion_of(requests[0])
    assert assertion["kind"] == "federated"
    assert assertion["claims"]["sub"] == sts.role_arn and assertion["claims"]["aud"] == FIC_AUDIENCE
    sent = sts.state()["requests"][0]
    assert sent["audience"] == [FIC_AUDIENCE]
    assert sent["signing_algorithm"] == "RS256" and sent["duration_seconds"] == "300"


def test_a_new_entra_token_brings_a_new_sts_token(invoke, sim, scenario, sts, secrets_manager_trap):
    sim.set_scenario(trusting(scenario, sts))
    runs = invoke([STATUS, STATUS], env=federation_env(sts, secrets_manager_trap),
                  before_each=lambda index: index and sim.expire_tokens())
    assert [run.error_type for run in runs] == [None, None], [run.error_message for run in runs]
    assert sts.calls() == 2


@pytest.mark.parametrize("refusal,fix", [
    ("AccessDenied", "sts:GetWebIdentityToken"),
    ("OutboundWebIdentityFederationDisabledException", "aws iam enable-outbound-web-identity-federation"),
])
def test_sts_refusals_name_the_fix(invoke, sim, scenario, sts, secrets_manager_trap, refusal, fix):
    sim.set_scenario(trusting(scenario, sts))
    sts.reset(refusal=refusal)
    result = invoke(STATUS, env=federation_env(sts, secrets_manager_trap))
    assert result.error_type == "AwsFederationFailed", result.error_message
    assert refusal in result.error_message and fix in result.error_message
    assert token_calls(sim) == []


def test_no_matching_federated_credential_names_what_to_configure(invoke, sim, scenario, sts,
                                                                 secrets_manager_trap):
    sim.set_scenario(trusting(scenario, sts, subject="arn:aws:iam::123456789012:role/someone-else"))
    result = invoke(STATUS, env=federation_env(sts, secrets_manager_trap))
    assert result.error_type == "EntraAuthenticationFailed", result.error_message
    for expected in ("AADSTS70021", sts.issuer, sts.role_arn, FIC_AUDIENCE):
        assert expected in result.error_message


@pytest.mark.parametrize("missing", ["ENTRA_TENANT_ID", "ENTRA_CLIENT_ID"])
def test_federation_needs_the_tenant_and_the_client(invoke, sts, secrets_manager_trap, missing):
    result = invoke(STATUS, env=federation_env(sts, secrets_manager_trap, **{missing: ""}))
    assert result.error_type == "ConfigurationError"
    assert missing in result.error_message
    assert sts.calls() == 0


def test_an_expired_aws_token_is_explained_with_the_credential_to_configure(invoke, sim, scenario, sts,
                                                                            secrets_manager_trap):
    later = {**trusting(scenario, sts), "assertion_clock_offset_seconds": 3600}
    sim.set_scenario(later)
    result = invoke(STATUS, env=federation_env(sts, secrets_manager_trap))
    assert result.error_type == "EntraAuthenticationFailed", result.error_message
    for expected in ("AADSTS700024", sts.issuer, sts.role_arn, FIC_AUDIENCE):
        assert expected in result.error_message


def test_a_token_signed_with_keys_entra_does_not_trust_names_the_issuer(invoke, sim, scenario, sts,
                                                                       secrets_manager_trap):
    from cryptography.hazmat.primitives.asymmetric import rsa

    import base64
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    other_keys = {"keys": [{"kty": "RSA", "kid": "RSA_0", "n": b64(numbers.n), "e": b64(numbers.e)}]}
    sim.set_scenario({**trusting(scenario, sts), "trusted_issuers": {sts.issuer: {"jwks": other_keys}}})
    result = invoke(STATUS, env=federation_env(sts, secrets_manager_trap))
    assert result.error_type == "EntraAuthenticationFailed", result.error_message
    assert "AADSTS700027" in result.error_message and sts.issuer in result.error_message
