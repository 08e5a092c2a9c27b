"""Client assertions at the token endpoint, checked the way Entra ID checks them.

Two kinds of `client_assertion` (RFC 7523 `jwt-bearer`) reach the token endpoint:

* certificate credentials: a JWT the app signs itself (`iss` = `sub` = its client id, `aud` = the
  token endpoint URL), naming a certificate registered on the app by its `x5t#S256` (or older
  `x5t`) thumbprint, signed PS256 or RS256;
* workload identity federation: a JWT from an external issuer (here the STS stand-in), matched
  against the app's federated identity credentials (issuer, subject, audience) and verified with
  the issuer's published keys (OIDC discovery, then JWKS).

Refusals carry Microsoft's AADSTS codes and texts. Standard library only (sim/jose.py).
"""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from . import jose

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FIC_AUDIENCE = "api://AzureADTokenExchange"
CLOCK_SKEW = 300  # seconds Entra tolerates on nbf/exp
DOCS = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
WIF_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"


class Rejected(Exception):
    """An AADSTS refusal: the token endpoint turns it into Entra's error JSON."""

    def __init__(self, status: int, error: str, code: int, text: str):
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text


@dataclass(frozen=True)
class FederatedCredential:
    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...] = (FIC_AUDIENCE,)


@dataclass
class IssuerKeys:
    """Fetches and caches an issuer's signing keys from its discovery document, as Entra does.
    Only loopback issuers are fetched: the simulator never leaves the machine."""

    cache: dict[str, dict[str, jose.RsaPublicKey]] = field(default_factory=dict)

    def keys(self, issuer: str) -> dict[str, jose.RsaPublicKey]:
        if issuer not in self.cache:
            self.cache[issuer] = fetch_issuer_keys(issuer)
        return self.cache[issuer]


def _is_loopback_url(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _get_json(url: str) -> dict:
    if not _is_loopback_url(url):
        raise OSError(f"{url} is not on loopback")
    with urllib.request.urlopen(url, timeout=3) as response:
        return json.loads(response.read())


def fetch_issuer_keys(issuer: str) -> dict[str, jose.RsaPublicKey]:
    """kid -> key; empty when the issuer publishes nothing usable."""
    try:
        discovery = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        jwks = _get_json(discovery["jwks_uri"])
        return {k.get("kid", ""): jose.RsaPublicKey.from_jwk(k) for k in jwks.get("keys", [])
                if k.get("kty") == "RSA"}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%m/%d/%Y %H:%M:%S")


def decode(form: dict) -> jose.Jws:
    if form.get("client_assertion_type") != JWT_BEARER:
        raise Rejected(400, "invalid_request", 900144,
                       "The request body must contain the following parameter: 'client_assertion_type'.")
    try:
        return jose.decode_jwt(form.get("client_assertion", ""))
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None


def check_times(claims: dict, now: float) -> None:
    nbf, exp = claims.get("nbf", claims.get("iat")), claims.get("exp")
    if not isinstance(exp, (int, float)) or (nbf is not None and not isinstance(nbf, (int, float))):
        raise Rejected(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
    if now > exp + CLOCK_SKEW or (nbf is not None and now < nbf - CLOCK_SKEW):
        raise Rejected(401, "invalid_client", 700024,
                       f"Client assertion is not within its valid time range. Current time: {_stamp(now)}, "
                       f"assertion valid from {_stamp(nbf or 0)}, expiry time of assertion {_stamp(exp)}. "
                       f"Review the documentation at {DOCS} .")


def check_certificate_assertion(jws: jose.Jws, client_id: str, token_urls: set[str],
                                certificates: list[jose.Certificate], now: float) -> str:
    """Checks an assertion the app signed itself; returns the thumbprint that verified it."""
    claims, header = jws.claims, jws.header
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise Rejected(401, "invalid_client", 700021,
                       "Client assertion application identifier doesn't match 'client_id' parameter. "
                       f"Review the documentation at {DOCS} .")
    if claims.get("aud") not in token_urls:
        raise Rejected(401, "invalid_client", 700023,
                       "Client assertion audience claim does not match Realm issuer. "
                       f"Review the documentation at {DOCS} .")
    if not jwt_id_ok(claims):
        raise Rejected(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
    check_times(claims, now)
    thumbprint = header.get("x5t#S256") or header.get("x5t") or ""
    use_sha256 = "x5t#S256" in header
    match = next((c for c in certificates if (c.x5t_s256 if use_sha256 else c.x5t) == thumbprint), None)
    if match is None or match.public_key is None:
        raise Rejected(401, "invalid_client", 700027,
                       "The certificate with identifier used to sign the client assertion is not registered on "
                       f"application. [Reason - The key was not found., Thumbprint of key used by client: "
                       f"'{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph "
                       f"to see configured keys for app Id '{client_id}'.]")
    if now > match.not_after.timestamp():
        raise Rejected(401, "invalid_client", 700027,
                       "The certificate with identifier used to sign the client assertion is expired on "
                       f"application. [Reason - The key used is expired., Thumbprint of key used by client: "
                       f"'{thumbprint}', Found key 'End={match.not_after:%m/%d/%Y %H:%M:%S}']")
    if header.get("alg") not in ("PS256", "RS256") or not jws.verify(match.public_key):
        raise Rejected(401, "invalid_client", 700027,
                       "Client assertion failed signature validation. [Reason - Key was found, but use of the "
                       f"key to verify the signature failed., Thumbprint of key used by client: '{thumbprint}']")
    return thumbprint


def jwt_id_ok(claims: dict) -> bool:
    return isinstance(claims.get("jti"), str) and bool(claims["jti"])


def check_federated_assertion(jws: jose.Jws, client_id: str, credentials: list[FederatedCredential],
                              issuer_keys: IssuerKeys, now: float) -> FederatedCredential:
    """Checks an external issuer's token against the app's federated identity credentials."""
    claims = jws.claims
    issuer, subject = claims.get("iss"), claims.get("sub")
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    shown = ", ".join(audiences)
    same_issuer = [c for c in credentials if c.issuer == issuer]
    if not same_issuer:
        raise Rejected(400, "invalid_request", 700211,
                       f"No matching federated identity record found for presented assertion issuer '{issuer}'. "
                       f"Please check your federated identity credential Subject, Audience and Issuer against the "
                       f"presented assertion. {WIF_DOCS}")
    if not any(a in c.audiences for c in same_issuer for a in audiences):
        raise Rejected(400, "invalid_request", 700212,
                       f"No matching federated identity record found for presented assertion audience '{shown}'. "
                       f"Please check your federated identity credential Subject, Audience and Issuer against the "
                       f"presented assertion. {WIF_DOCS}")
    match = next((c for c in same_issuer if c.subject == subject and any(a in c.audiences for a in audiences)), None)
    if match is None:
        raise Rejected(400, "invalid_request", 70021,
                       f"No matching federated identity record found for presented assertion. Assertion Issuer: "
                       f"'{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{shown}'. {WIF_DOCS}")
    keys = issuer_keys.keys(issuer)
    key = keys.get(jws.header.get("kid", "")) or (next(iter(keys.values())) if len(keys) == 1 else None)
    if key is None or jws.header.get("alg") != "RS256" or not jws.verify(key):
        raise Rejected(401, "invalid_client", 700027,
                       "Client assertion failed signature validation. [Reason - The key was not found in the "
                       f"issuer's published keys, or the signature did not verify. Issuer: '{issuer}'.]")
    check_times(claims, now)
    return match


def check_client_assertion(form: dict, client_id: str, token_urls: set[str], certificates: list[jose.Certificate],
                           credentials: list[FederatedCredential], issuer_keys: IssuerKeys,
                           now: float | None = None) -> dict:
    """Entra's checks for one token request with a client assertion. Returns what the request
    log may show about it (header and claims: no signature, so nothing replayable)."""
    now = time.time() if now is None else now
    jws = decode(form)
    # An app's own assertion names itself as issuer; anything else is a federation token.
    if jws.claims.get("iss") == client_id or jws.claims.get("sub") == client_id:
        check_certificate_assertion(jws, client_id, token_urls, certificates, now)
        kind = "certificate"
    else:
        check_federated_assertion(jws, client_id, credentials, issuer_keys, now)
        kind = "federated"
    return {"kind": kind, "header": jws.header, "claims": jws.claims}
