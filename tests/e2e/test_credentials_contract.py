"""Issue 12's contract as an outside acceptance suite would check it, through the built bootstrap
and the Runtime API: certificates in the shapes admins really store (extra text, CRLF, chains,
PKCS#1, 4096-bit keys, encrypted or EC keys, not-yet-valid certificates), every field of the
assertion and the token request, and an STS that answers with AWS's minimal documented XML
(success and `ErrorResponse`, HTTP 400 or 403) rather than our own stand-in's fuller answer."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from helpers import CLIENT, TENANT, token_calls

STATUS = {"action": "status"}
FIC_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


# ---------------------------------------------------------------------------------------------
# Certificates and keys, made with `cryptography`
# ---------------------------------------------------------------------------------------------

def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def new_key(kind: str = "rsa", bits: int = 2048):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def new_certificate(key, name: str = "entra-idc-sync contract", issuer_key=None, start=None, days=365):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = start or _now() - datetime.timedelta(days=1)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
            .sign(issuer_key or key, hashes.SHA256()))


def cert_pem(cert) -> str:
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key, form: str = "pkcs8", password: bytes | None = None) -> str:
    from cryptography.hazmat.primitives import serialization
    fmt = {"pkcs8": serialization.PrivateFormat.PKCS8,
           "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL}[form]
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def x5t_s256(cert) -> str:
    from cryptography.hazmat.primitives import serialization
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def with_certificates(scenario: dict, *certs) -> dict:
    scenario = copy.deepcopy(scenario)
    scenario["tenants"][0]["apps"][0]["certificates"] = [{"pem": cert_pem(c)} for c in certs]
    return scenario


def certificate_secret(certificate: str, key: str, key_field: str = "private_key") -> dict:
    return {"tenant_id": TENANT, "client_id": CLIENT, "certificate": certificate, key_field: key}


@pytest.fixture(scope="module")
def rsa_pair():
    key = new_key()
    return key, new_certificate(key)


# ---------------------------------------------------------------------------------------------
# The assertion and the token request, field by field
# ---------------------------------------------------------------------------------------------

def test_the_assertion_and_the_form_match_microsofts_document_exactly(invoke, sim, scenario, make_secret,
                                                                      rsa_pair):
    key, cert = rsa_pair
    sim.set_scenario(with_certificates(scenario, cert))
    secret_id = make_secret(certificate_secret(cert_pem(cert), key_pem(key)))
    before = int(time.time())
    runs = invoke([STATUS, STATUS], env={"SECRET_ID": secret_id},
                  before_each=lambda index: index and sim.expire_tokens())
    after = int(time.time())
    assert [run.error_type for run in runs] == [None, None], [run.error_message for run in runs]
    requests = token_calls(sim)
    assert len(requests) == 2 and all(r["status"] == 200 for r in requests), requests
    jtis = set()
    for request in requests:
        form = request["form"]
        assert form["client_secret_sha256"] is None, "no client_secret with a certificate"
        assert form["client_assertion_type"] == JWT_BEARER
        assert form["grant_type"] == "client_credentials"
        assert form["client_id"] == CLIENT
        assert form["scope"].endswith("/.default"), form
        assertion = request["assertion"]
        assert assertion["kind"] == "certificate"
        assert assertion["header"] == {"alg": "PS256", "typ": "JWT", "x5t#S256": x5t_s256(cert)}
        claims = assertion["claims"]
        assert set(claims) == {"aud", "iss", "sub", "jti", "nbf", "iat", "exp"}, claims
        assert claims["aud"] == f"{sim.url}/{TENANT}/oauth2/v2.0/token"
        assert claims["iss"] == claims["sub"] == CLIENT
        assert GUID.match(claims["jti"]), claims["jti"]
        assert before - 5 <= claims["iat"] <= after + 5 and claims["nbf"] == claims["iat"]
        assert 0 < claims["exp"] - claims["iat"] <= 600
        jtis.add(claims["jti"])
    assert len(jtis) == 2, "each token request signs a fresh assertion"


def test_a_retried_token_request_signs_a_new_assertion(invoke, sim, scenario, make_secret, rsa_pair):
    key, cert = rsa_pair
    sim.set_scenario(with_certificates(scenario, cert))
    sim.add_faults([{"endpoint": "token", "status": 503, "times": 1}])
    result = invoke(STATUS, env={"SECRET_ID": make_secret(certificate_secret(cert_pem(cert), key_pem(key)))})
    assert result.error_type is None, result.error_message
    refused, accepted = token_calls(sim)
    assert (refused["status"], accepted["status"]) == (503, 200)
    assert refused["form"]["client_assertion_sha256"] != accepted["form"]["client_assertion_sha256"], \
        "the retry replayed the assertion (and its jti)"


# ---------------------------------------------------------------------------------------------
# Certificates as admins store them
# ---------------------------------------------------------------------------------------------

def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@pytest.mark.parametrize("shape", [
    "extra-text-and-whitespace", "crlf", "chain", "pkcs1", "rsa-4096", "escaped-newlines",
])
def test_certificates_in_every_usual_shape_get_a_token(invoke, sim, scenario, make_secret, rsa_pair, shape):
    key, cert = rsa_pair
    certificate, private_key = cert_pem(cert), key_pem(key)
    if shape == "extra-text-and-whitespace":
        # What `openssl pkcs12 -nodes` writes: bag attributes and subject lines around the blocks.
        certificate = (f"Bag Attributes\n    localKeyID: 01 00 00 00\nsubject=CN = x\n\n"
                       f"{certificate}   \n\n")
        private_key = f"Bag Attributes\n    localKeyID: 01 00 00 00\nKey Attributes: <No Attributes>\n{private_key}\n \t"
    elif shape == "crlf":
        certificate, private_key = _crlf(certificate), _crlf(private_key)
    elif shape == "chain":
        ca_key = new_key()
        ca = new_certificate(ca_key, "contract CA")
        leaf = new_certificate(key, "contract leaf", issuer_key=ca_key)
        certificate = cert_pem(leaf) + cert_pem(ca)
        cert = leaf
    elif shape == "pkcs1":
        private_key = key_pem(key, "pkcs1")
        assert "BEGIN RSA PRIVATE KEY" in private_key
    elif shape == "rsa-4096":
        key = new_key(bits=4096)
        cert = new_certificate(key)
        certificate, private_key = cert_pem(cert), key_pem(key)
    elif shape == "escaped-newlines":
        # Stored through a shell or a console that kept `\n` as two characters.
        certificate, private_key = certificate.replace("\n", "\\n"), private_key.replace("\n", "\\n")
    sim.set_scenario(with_certificates(scenario, cert))
    secret_id = make_secret(certificate_secret(certificate, private_key))
    result = invoke(STATUS, env={"SECRET_ID": secret_id})
    assert result.error_type is None, result.error_message
    (request,) = token_calls(sim)
    assert request["status"] == 200
    assert request["assertion"]["header"]["x5t#S256"] == x5t_s256(cert), "the leaf names the credential"


@pytest.mark.parametrize("case,field,expected", [
    ("encrypted-pkcs8", "private_key", "is encrypted"),
    ("encrypted-pkcs1", "private_key", "is encrypted"),
    ("ec-key-rsa-certificate", "private_key", "not an RSA key"),
    ("ec-sec1-key", "private_key", "not an RSA key"),
    ("ec-certificate-and-key", "", "not an RSA key"),
    ("not-yet-valid", "certificate", "valid now"),
    ("key-in-certificate-field", "certificate", "BEGIN CERTIFICATE"),
    ("truncated-key", "private_key", "private_key"),
    ("rsa-1024", "private_key", "2048 bits"),
])
def test_bad_certificates_fail_as_invalid_secret_before_any_token_request(invoke, sim, make_secret, moto,
                                                                          rsa_pair, case, field, expected):
    key, cert = rsa_pair
    certificate, private_key = cert_pem(cert), key_pem(key)
    if case == "encrypted-pkcs8":
        private_key = key_pem(key, password=b"correct horse")
        assert "BEGIN ENCRYPTED PRIVATE KEY" in private_key
    elif case == "encrypted-pkcs1":
        private_key = key_pem(key, "pkcs1", password=b"correct horse")
        assert "Proc-Type: 4,ENCRYPTED" in private_key
    elif case == "ec-key-rsa-certificate":
        private_key = key_pem(new_key("ec"))
    elif case == "ec-sec1-key":
        private_key = key_pem(new_key("ec"), "pkcs1")
        assert "BEGIN EC PRIVATE KEY" in private_key
    elif case == "ec-certificate-and-key":
        ec_key = new_key("ec")
        certificate, private_key = cert_pem(new_certificate(ec_key)), key_pem(ec_key)
    elif case == "not-yet-valid":
        certificate = cert_pem(new_certificate(key, start=_now() + datetime.timedelta(days=2)))
    elif case == "key-in-certificate-field":
        certificate = private_key
    elif case == "rsa-1024":
        small = new_key(bits=1024)
        certificate, private_key = cert_pem(new_certificate(small)), key_pem(small)
    elif case == "truncated-key":
        lines = private_key.splitlines()
        private_key = "\n".join(lines[:5] + lines[-1:])
    secret_id = make_secret(certificate_secret(certificate, private_key))
    result = invoke(STATUS, env={"SECRET_ID": secret_id})
    assert result.error_type == "InvalidSecret", result.error_message
    assert expected in result.error_message, result.error_message
    assert field in result.error_message and secret_id in result.error_message, result.error_message
    assert token_calls(sim) == [], "found locally, before any token request"


# ---------------------------------------------------------------------------------------------
# STS as AWS documents it: a minimal answer and the standard ErrorResponse
# ---------------------------------------------------------------------------------------------

ROLE_ARN = "arn:aws:iam::210987654321:role/contract-sync"


class MinimalSts:
    """GetWebIdentityToken answered the way AWS's API reference shows it, nothing more: the
    result holds only WebIdentityToken and Expiration, no namespace, no ResponseMetadata. Errors
    are `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.forms: list[dict] = []
        self.issued: list[str] = []
        self.refusal: tuple[int, str, str] | None = None
        sts = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                sts.forms.append(form)
                status, body = sts.answer(form)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = f"https://{uuid.uuid4()}.tokens.sts.global.api.aws"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": "RSA_0", "alg": "RS256", "use": "sig",
                          "n": _b64_int(numbers.n), "e": _b64_int(numbers.e)}]}

    def answer(self, form: dict) -> tuple[int, str]:
        if self.refusal:
            status, code, message = self.refusal
            return status, (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                            f"<Message>{message}</Message></Error>"
                            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
        token = self.sign(form)
        expiration = (_now() + datetime.timedelta(seconds=int(form.get("DurationSeconds", "300"))))
        return 200, ("<GetWebIdentityTokenResponse><GetWebIdentityTokenResult>"
                     f"<WebIdentityToken>{token}</WebIdentityToken>"
                     f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}</Expiration>"
                     "</GetWebIdentityTokenResult></GetWebIdentityTokenResponse>")

    def sign(self, form: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        header = {"kid": "RSA_0", "typ": "JWT", "alg": "RS256"}
        claims = {"aud": form.get("Audience.member.1"), "sub": ROLE_ARN, "iss": self.issuer,
                  "iat": now, "nbf": now, "exp": now + int(form.get("DurationSeconds", "300")),
                  "jti": str(uuid.uuid4()),
                  "https://sts.amazonaws.com/": {"aws_account": "210987654321", "source_region": "us-east-1"}}
        signing_input = f"{_b64_json(header)}.{_b64_json(claims)}".encode()
        signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        self.issued.append(token)
        return token

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _b64_int(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def _b64_json(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()


@pytest.fixture
def minimal_sts(leak_sources):
    sts = MinimalSts()
    leak_sources.append(lambda: list(sts.issued))
    yield sts
    sts.stop()


def federated(scenario: dict, sts: MinimalSts, subject: str = ROLE_ARN) -> dict:
    scenario = copy.deepcopy(scenario)
    scenario["tenants"][0]["apps"][0]["federated_credentials"] = [
        {"name": "contract", "issuer": sts.issuer, "subject": subject, "audiences": [FIC_AUDIENCE]}]
    scenario["trusted_issuers"] = {sts.issuer: {"jwks": sts.jwks()}}
    return scenario


def federation_env(sts: MinimalSts) -> dict:
    # Secrets Manager points at a closed port: any call would fail the run.
    return {"CREDENTIAL_SOURCE": "aws-federation", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT,
            "SECRET_ID": "", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9",
            "AWS_ENDPOINT_URL_STS": sts.url}


def test_a_minimal_sts_answer_is_exchanged_unchanged(invoke, sim, scenario, minimal_sts):
    sim.set_scenario(federated(scenario, minimal_sts))
    runs = invoke([STATUS, STATUS], env=federation_env(minimal_sts))
    assert [run.error_type for run in runs] == [None, None], [run.error_message for run in runs]
    (form,) = minimal_sts.forms
    assert form == {"Action": "GetWebIdentityToken", "Version": "2011-06-15",
                    "Audience.member.1": FIC_AUDIENCE, "SigningAlgorithm": "RS256", "DurationSeconds": "300"}
    (request,) = token_calls(sim)
    sent = request["form"]
    assert sent["client_assertion_type"] == JWT_BEARER and sent["client_secret_sha256"] is None
    assert sent["client_assertion_sha256"] == hashlib.sha256(minimal_sts.issued[0].encode()).hexdigest()
    assert sent["grant_type"] == "client_credentials" and sent["client_id"] == CLIENT


@pytest.mark.parametrize("status", [400, 403])
@pytest.mark.parametrize("code,fix", [
    ("AccessDenied", "sts:GetWebIdentityToken"),
    ("OutboundWebIdentityFederationDisabledException", "aws iam enable-outbound-web-identity-federation"),
])
def test_documented_sts_error_responses_name_the_fix(invoke, sim, scenario, minimal_sts, status, code, fix):
    sim.set_scenario(federated(scenario, minimal_sts))
    minimal_sts.refusal = (status, code, "Not authorized to perform sts:GetWebIdentityToken")
    result = invoke(STATUS, env=federation_env(minimal_sts))
    assert result.error_type == "AwsFederationFailed", result.error_message
    assert code in result.error_message and fix in result.error_message, result.error_message
    assert len(minimal_sts.forms) == 1, "a refusal is not retried"
    assert token_calls(sim) == []


def test_no_matching_federated_credential_names_issuer_subject_and_audience(invoke, sim, scenario,
                                                                           minimal_sts):
    sim.set_scenario(federated(scenario, minimal_sts, subject="arn:aws:iam::210987654321:role/other"))
    result = invoke(STATUS, env=federation_env(minimal_sts))
    assert result.error_type == "EntraAuthenticationFailed", result.error_message
    for expected in ("AADSTS70021", minimal_sts.issuer, ROLE_ARN, FIC_AUDIENCE, "propagate"):
        assert expected in result.error_message, result.error_message


# ---------------------------------------------------------------------------------------------
# Entra's refusals in the shape Microsoft documents, whatever else the token endpoint sends
# ---------------------------------------------------------------------------------------------

def aadsts_body(code: int, text: str, with_codes: bool = True) -> dict:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"error": "invalid_client" if code != 70021 else "invalid_request",
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
                                 "Timestamp: 2026-11-29 05:00:00Z",
            "timestamp": "2026-11-29 05:00:00Z", "trace_id": trace, "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}"}
    if with_codes:
        body["error_codes"] = [code]
    return body


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize("code,text,with_codes", [
    (70021, "No matching federated identity record found for presented assertion. Assertion Issuer: 'x'.", True),
    (700024, "Client assertion is not within its valid time range.", True),
    (700027, "Client assertion failed signature validation.", True),
    (70021, "No matching federated identity record found for presented assertion.", False),
])
def test_documented_aadsts_refusals_of_the_aws_token_name_the_credential(invoke, sim, scenario, minimal_sts,
                                                                        status, code, text, with_codes):
    sim.set_scenario(federated(scenario, minimal_sts))
    sim.add_faults([{"endpoint": "token", "status": status, "body": aadsts_body(code, text, with_codes)}])
    result = invoke(STATUS, env=federation_env(minimal_sts))
    assert result.error_type == "EntraAuthenticationFailed", result.error_message
    for expected in (f"AADSTS{code}", minimal_sts.issuer, ROLE_ARN, FIC_AUDIENCE):
        assert expected in result.error_message, result.error_message
    assert len(minimal_sts.forms) == 1


@pytest.mark.parametrize("status,body,expected", [
    (502, "<html>Bad Gateway</html>", "HTTP 502 without an AWS error code"),
    (200, "<html>captive portal</html>", "no usable answer"),
    (200, "<GetWebIdentityTokenResponse><GetWebIdentityTokenResult/></GetWebIdentityTokenResponse>",
     "no WebIdentityToken"),
])
def test_an_sts_answer_without_a_token_or_error_code_is_aws_federation_failed(invoke, sim, scenario,
                                                                              minimal_sts, status, body,
                                                                              expected):
    sim.set_scenario(federated(scenario, minimal_sts))
    minimal_sts.answer = lambda form: (status, body)
    result = invoke(STATUS, env=federation_env(minimal_sts))
    assert result.error_type == "AwsFederationFailed", result.error_message
    assert expected in result.error_message and "AWS_ENDPOINT_URL_STS" in result.error_message, \
        result.error_message
    assert token_calls(sim) == []
