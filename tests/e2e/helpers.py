"""Helpers shared by the end-to-end test modules: the demo scenario's ids, the event files, and
views of the simulator's request log. Test modules import from here, never from each other."""

import datetime
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
JOB_ID = "AWSSCIM.4f9a2c1b8e7d4f60a1b2c3d4e5f60718.8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"
SP_ID = "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a"
TENANT = "8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"
CLIENT = "5b0e6c1d-2f3a-4b8c-9d7e-1a2b3c4d5e6f"
#: The keys each field of the Entra secret is read from, as src/secret.rs's `SECRET_KEYS` has
#: them (test_harness.py holds the two to each other).
SECRET_KEYS = {
    "tenant_id": ("tenant_id", "tenantId", "tenant"),
    "client_id": ("client_id", "clientId", "appId"),
    "client_secret": ("client_secret", "clientSecret", "password"),
    "certificate": ("certificate",),
    "private_key": ("private_key", "privateKey"),
    "app_display_name": ("app_display_name", "appDisplayName"),
    "service_principal_id": ("service_principal_id", "servicePrincipalId"),
}


def event(name):
    return json.loads((EVENTS / name).read_text())


def graph_calls(sim, method=None, contains=""):
    return [
        r for r in sim.requests()
        if r["endpoint"] == "graph"
        and (method is None or r["method"] == method)
        and contains in r["decoded_path"]
    ]


def token_calls(sim):
    return [r for r in sim.requests() if r["endpoint"] == "token"]


def only_job(report):
    assert len(report["jobs"]) == 1, report
    return report["jobs"][0]


def make_pair(days_valid: int = 365, days_ago: int = 1, kind: str = "rsa"):
    """(certificate PEM, PKCS#8 key PEM) for a fresh self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
           else ec.generate_private_key(ec.SECP256R1()))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entra-idc-sync e2e")])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days_valid)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def pod_calls(sim) -> list[dict]:
    """The provisionOnDemand calls the simulator received."""
    return [r for r in sim.requests() if r["method"] == "POST" and r["decoded_path"].endswith("/provisionOnDemand")]


def subjects(calls: list[dict]) -> list[dict]:
    return [c["json_body"]["parameters"][0]["subjects"][0] for c in calls]


def member_ids(subject: dict) -> list[str]:
    return [m["objectId"] for m in subject.get("links", {}).get("members", [])]
