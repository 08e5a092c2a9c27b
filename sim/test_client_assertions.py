"""Self-tests of the STS stand-in (driven by boto3, an independent AWS SDK, over the wire) and of
client assertions at the token endpoint: the checks themselves (fed by assertions that
`cryptography` signs) and the endpoint family over HTTP.

Needs the test venv (boto3, cryptography): .venv/bin/python -m pytest sim/test_client_assertions.py
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from . import assertions, jose
from .testing import CLIENT as DEMO_CLIENT, GRAPH_SCOPE, TENANT, with_app

REPO = Path(__file__).resolve().parents[1]
CLIENT = "5b0e6c1d-2f3a-4b8c-9d7e-1a2b3c4d5e6f"
TOKEN_URL = "http://127.0.0.1:1/contoso.onmicrosoft.com/oauth2/v2.0/token"
ROLE = "arn:aws:iam::210987654321:role/sync-fn"


@pytest.fixture(scope="module")
def sts():
    process = subprocess.Popen([sys.executable, "-m", "sim.sts", "--port", "0", "--role-arn", ROLE,
                                "--exit-on-stdin-eof", "--max-lifetime", "120"],
                               cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("LISTENING "), line
    url = line.split(" ", 1)[1]
    yield url
    process.stdin.close()
    process.wait(timeout=10)


def sts_client(url):
    import boto3
    return boto3.client("sts", region_name="eu-west-1", endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def control(url, body):
    import json
    import urllib.request
    request = urllib.request.Request(url + "/_sts/config", data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_sts_issues_rs256_tokens_an_sdk_can_read_and_a_relying_party_can_verify(sts):
    control(sts, {"refusal": None, "reset": True})
    answer = sts_client(sts).get_web_identity_token(Audience=["api://AzureADTokenExchange"],
                                                    SigningAlgorithm="RS256", DurationSeconds=300)
    token = answer["WebIdentityToken"]
    jws = jose.decode_jwt(token)
    assert jws.header["alg"] == "RS256"
    assert jws.claims["sub"] == ROLE and jws.claims["iss"] == sts
    assert jws.claims["aud"] == "api://AzureADTokenExchange"
    assert jws.claims["exp"] - jws.claims["iat"] == 300
    assert jws.claims["https://sts.amazonaws.com/"]["source_region"] == "eu-west-1"
    assert abs(answer["Expiration"].timestamp() - jws.claims["exp"]) < 1
    keys = assertions.fetch_issuer_keys(sts)
    assert jws.verify(keys[jws.header["kid"]])
    state = control(sts, {})
    assert state["calls"] == 1
    assert state["requests"][0]["audience"] == ["api://AzureADTokenExchange"]
    assert token not in str(state)


@pytest.mark.parametrize("refusal", ["AccessDenied", "OutboundWebIdentityFederationDisabledException"])
def test_sts_refusals_reach_the_sdk_as_their_codes(sts, refusal):
    import botocore.exceptions
    control(sts, {"refusal": refusal})
    try:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            sts_client(sts).get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
        assert caught.value.response["Error"]["Code"] == refusal
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    finally:
        control(sts, {"refusal": None})


def test_sts_validates_like_aws(sts):
    import urllib.error
    import urllib.request
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/sts/aws4_request, "
                               "SignedHeaders=host, Signature=00",
              "Content-Type": "application/x-www-form-urlencoded"}
    for body, code in [
        ("Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=a&SigningAlgorithm=RS256"
         "&DurationSeconds=30", "ValidationError"),
        ("Action=GetWebIdentityToken&Version=2011-06-15&SigningAlgorithm=RS256", "ValidationError"),
        ("Action=GetCallerIdentity&Version=2011-06-15", "InvalidAction"),
    ]:
        request = urllib.request.Request(sts + "/", data=body.encode(), headers=signed, method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert f"<Code>{code}</Code>" in caught.value.read().decode()
    unsigned = urllib.request.Request(sts + "/", data=b"Action=GetWebIdentityToken", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(unsigned, timeout=5)
    assert caught.value.code == 403


# ---------------------------------------------------------------------------------------------
# Client assertions
# ---------------------------------------------------------------------------------------------

def make_certificate(days_valid=365, days_ago=1):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days_valid)).sign(key, hashes.SHA256()))
    return key, jose.parse_certificate(cert.public_bytes(serialization.Encoding.DER))


def sign(key, header, claims, alg="PS256"):
    import json
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": alg, "typ": "JWT", **header}
    signing_input = (jose.b64url(json.dumps(header).encode()) + "." + jose.b64url(json.dumps(claims).encode()))
    pad = (padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if alg == "PS256"
           else padding.PKCS1v15())
    return signing_input + "." + jose.b64url(key.sign(signing_input.encode(), pad, hashes.SHA256()))


def own_claims(**overrides):
    now = int(time.time())
    return {"aud": TOKEN_URL, "iss": CLIENT, "sub": CLIENT, "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
            "exp": now + 600, **overrides}


def check(token, certificates=(), credentials=(), keys=None):
    form = {"client_assertion_type": assertions.JWT_BEARER, "client_assertion": token}
    return assertions.check_client_assertion(form, CLIENT, {TOKEN_URL}, list(certificates), list(credentials),
                                             keys or assertions.IssuerKeys())


def aadsts(token, **kwargs) -> int:
    with pytest.raises(assertions.Rejected) as caught:
        check(token, **kwargs)
    return caught.value.code


@pytest.mark.parametrize("alg,thumb", [("PS256", "x5t#S256"), ("RS256", "x5t")])
def test_certificate_assertions_verify_with_either_algorithm_and_thumbprint(alg, thumb):
    key, cert = make_certificate()
    header = {thumb: cert.x5t_s256 if thumb == "x5t#S256" else cert.x5t}
    assert check(sign(key, header, own_claims(), alg), certificates=[cert])["kind"] == "certificate"


def test_certificate_assertions_are_refused_with_entras_codes():
    key, cert = make_certificate()
    other_key, other = make_certificate()
    header = {"x5t#S256": cert.x5t_s256}
    assert aadsts(sign(key, header, own_claims()), certificates=[other]) == 700027  # not registered
    assert aadsts(sign(other_key, header, own_claims()), certificates=[cert]) == 700027  # wrong key
    assert aadsts(sign(key, header, own_claims(aud="https://elsewhere/token")), certificates=[cert]) == 700023
    assert aadsts(sign(key, header, own_claims(sub="someone-else")), certificates=[cert]) == 700021
    stale = own_claims(nbf=int(time.time()) - 3600, exp=int(time.time()) - 1200)
    assert aadsts(sign(key, header, stale), certificates=[cert]) == 700024
    assert aadsts("not.a.jwt", certificates=[cert]) == 50027
    expired_key, expired = make_certificate(days_valid=10, days_ago=20)
    assert aadsts(sign(expired_key, {"x5t#S256": expired.x5t_s256}, own_claims()), certificates=[expired]) == 700027


def test_federated_assertions_match_issuer_subject_audience_and_verify(sts):
    control(sts, {"refusal": None})
    token = sts_client(sts).get_web_identity_token(Audience=["api://AzureADTokenExchange"],
                                                   SigningAlgorithm="RS256")["WebIdentityToken"]
    good = assertions.FederatedCredential("aws", sts, ROLE)
    keys = assertions.IssuerKeys()
    assert check(token, credentials=[good], keys=keys)["kind"] == "federated"
    assert aadsts(token, credentials=[assertions.FederatedCredential("aws", sts, ROLE + "-other")], keys=keys) == 70021
    assert aadsts(token, credentials=[assertions.FederatedCredential("aws", "https://other", ROLE)], keys=keys) == 700211
    assert aadsts(token, credentials=[assertions.FederatedCredential("aws", sts, ROLE, ("api://x",))], keys=keys) == 700212
    forged_key, _ = make_certificate()
    forged = sign(forged_key, {"kid": "RSA_0"}, jose.decode_jwt(token).claims, "RS256")
    assert aadsts(forged, credentials=[good], keys=keys) == 700027


def test_pure_python_rsa_round_trip():
    key = jose.generate_rsa_key(1024)
    signature = jose.sign_rs256(key, b"payload")
    assert jose.verify_rs256(key.public, b"payload", signature)
    assert not jose.verify_rs256(key.public, b"payload!", signature)
    assert not jose.verify_ps256(key.public, b"payload", signature)


# ---------------------------------------------------------------------------------------------
# The token endpoint over HTTP
# ---------------------------------------------------------------------------------------------

def pem(cert: jose.Certificate) -> str:
    import base64
    body = base64.encodebytes(cert.der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def assertion_form(token: str) -> dict:
    return {"client_id": DEMO_CLIENT, "scope": GRAPH_SCOPE, "grant_type": "client_credentials",
            "client_assertion_type": assertions.JWT_BEARER, "client_assertion": token}


def post_token(sim, token: str):
    return sim.call("POST", f"/{TENANT}/oauth2/v2.0/token", form=assertion_form(token))


def test_token_endpoint_grants_on_a_registered_certificate_and_logs_no_signature(sim):
    key, cert = make_certificate()
    sim.scenario(with_app(certificates=[{"pem": pem(cert)}]))
    claims = own_claims(aud=f"{sim.base}/{TENANT}/oauth2/v2.0/token")
    claims["iss"] = claims["sub"] = DEMO_CLIENT
    token = sign(key, {"x5t#S256": cert.x5t_s256}, claims)
    reply = post_token(sim, token)
    assert reply.status == 200, reply.body
    assert sim.graph("GET", "/v1.0/servicePrincipals", token=reply.json["access_token"]).status == 200
    entry = [r for r in sim.requests() if r["endpoint"] == "token"][0]
    assert entry["assertion"]["kind"] == "certificate" and entry["assertion"]["claims"]["jti"] == claims["jti"]
    assert token.split(".")[2] not in str(sim.requests())
    state = sim.call("GET", "/_sim/state").json
    assert state["trusted_issuers"]["certificates"][f"{TENANT}/{DEMO_CLIENT}"] == [cert.x5t_s256]


def test_token_endpoint_answers_aadsts_700027_for_an_unknown_certificate(sim):
    key, cert = make_certificate()
    claims = own_claims(aud=f"{sim.base}/{TENANT}/oauth2/v2.0/token", iss=DEMO_CLIENT, sub=DEMO_CLIENT)
    reply = post_token(sim, sign(key, {"x5t#S256": cert.x5t_s256}, claims))
    assert reply.status == 401 and reply.json["error_codes"] == [700027], reply.body
    assert reply.json["error"] == "invalid_client"


def test_token_endpoint_checks_federated_credentials_against_the_issuers_keys(sim, sts):
    control(sts, {"refusal": None})
    token = sts_client(sts).get_web_identity_token(Audience=["api://AzureADTokenExchange"],
                                                   SigningAlgorithm="RS256")["WebIdentityToken"]
    fic = {"name": "aws", "issuer": sts, "subject": ROLE, "audiences": ["api://AzureADTokenExchange"]}
    sim.scenario(with_app(federated_credentials=[fic]))
    assert post_token(sim, token).status == 200
    sim.scenario(with_app(federated_credentials=[{**fic, "subject": ROLE + "x"}]))
    reply = post_token(sim, token)
    assert reply.status == 400 and reply.json["error_codes"] == [70021]
    assert ROLE in reply.json["error_description"] and sts in reply.json["error_description"]


def test_scenario_rejects_a_federated_credential_with_two_audiences(sim):
    fic = {"name": "x", "issuer": "https://i", "subject": "s", "audiences": ["a", "b"]}
    reply = sim.call("POST", "/_sim/scenario", json_body=with_app(federated_credentials=[fic]))
    assert reply.status == 400 and "exactly one audience" in reply.json["error"]
