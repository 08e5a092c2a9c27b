"""Client assertions at the token endpoint: certificate credentials and federated identity
credentials (workload identity federation), checked by sim/assertions.py.

Scenario keys on an app:
  "certificates": [{"pem": "-----BEGIN CERTIFICATE-----..."}]        the app's keyCredentials
  "federated_credentials": [{"name", "issuer", "subject", "audiences": ["api://AzureADTokenExchange"]}]
An issuer's signing keys come from its OIDC discovery document (loopback issuers only, like the
STS stand-in), or from the optional top-level "trusted_issuers": {"<issuer>": {"jwks": {...}}}.
The optional top-level "assertion_clock_offset_seconds" (number, default 0) moves the clock the
checks use, to test expired or not-yet-valid assertions (AADSTS700024) without waiting.
The request log entry of a token request with an assertion gains "assertion": its kind
("certificate" | "federated"), header and claims (never the signature).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import assertions, jose
from ..scenario import Fields, ScenarioError, register_fields, register_section
from .entra_token import EntraError, register_client_authenticator

if TYPE_CHECKING:
    from ..context import RequestContext
    from ..simulator import Simulator
    from ..world import App, Tenant, World

SECTION = "trusted_issuers"


@dataclass
class Credentials:
    """Per app (tenant id, client id): its certificates and federated credentials."""

    certificates: dict[tuple[str, str], list[jose.Certificate]] = field(default_factory=dict)
    federated: dict[tuple[str, str], list[assertions.FederatedCredential]] = field(default_factory=dict)
    issuer_keys: assertions.IssuerKeys = field(default_factory=assertions.IssuerKeys)
    clock_offset: float = 0.0


def parse_certificate(raw: Any, where: str) -> jose.Certificate:
    pem = Fields(raw, where, ("pem",)).get("pem", str)
    blocks = jose.pem_blocks(pem, "CERTIFICATE")
    if len(blocks) != 1:
        raise ScenarioError(f"{where}.pem must hold exactly one PEM certificate")
    try:
        return jose.parse_certificate(blocks[0])
    except (ValueError, IndexError) as e:
        raise ScenarioError(f"{where}.pem is not an X.509 certificate: {e}") from None


def parse_federated(raw: Any, where: str) -> assertions.FederatedCredential:
    f = Fields(raw, where, ("name", "issuer", "subject", "audiences", "description"))
    audiences = f.strings("audiences") or [assertions.FIC_AUDIENCE]
    if len(audiences) != 1:
        raise ScenarioError(f"{where}.audiences: Federated identity credentials must have exactly one audience.")
    return assertions.FederatedCredential(f.get("name", str), f.get("issuer", str), f.get("subject", str),
                                          tuple(audiences))


def parse(raw: Any, world: "World", now: float) -> Credentials:
    offset = world.ext.get("assertion_clock_offset_seconds", 0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        raise ScenarioError("assertion_clock_offset_seconds must be a number")
    state = Credentials(clock_offset=float(offset))
    for t, tenant in enumerate(world.tenants):
        for a, app in enumerate(tenant.apps):
            where = f"tenants[{t}].apps[{a}]"
            key = (tenant.id, app.client_id.lower())
            certificates = app.ext.get("certificates") or []
            federated = app.ext.get("federated_credentials") or []
            if not isinstance(certificates, list) or not isinstance(federated, list):
                raise ScenarioError(f"{where}: certificates and federated_credentials must be lists")
            state.certificates[key] = [parse_certificate(c, f"{where}.certificates[{i}]")
                                       for i, c in enumerate(certificates)]
            state.federated[key] = [parse_federated(c, f"{where}.federated_credentials[{i}]")
                                    for i, c in enumerate(federated)]
    for issuer, entry in (raw or {}).items():
        jwks = Fields(entry, f"{SECTION}[{issuer!r}]", ("jwks",)).get("jwks", dict)
        try:
            state.issuer_keys.cache[issuer] = {k.get("kid", ""): jose.RsaPublicKey.from_jwk(k)
                                               for k in jwks.get("keys", [])}
        except (ValueError, KeyError, TypeError) as e:
            raise ScenarioError(f"{SECTION}[{issuer!r}].jwks is not a JWKS of RSA keys: {e}") from None
    return state


def view(state: Credentials) -> dict:
    return {
        "certificates": {f"{t}/{c}": [cert.x5t_s256 for cert in certs]
                         for (t, c), certs in state.certificates.items() if certs},
        "federated_credentials": {f"{t}/{c}": [vars(fic) for fic in fics]
                                  for (t, c), fics in state.federated.items() if fics},
    }


def check(sim: "Simulator", ctx: "RequestContext", tenant: "Tenant", app: "App", form: dict) -> None:
    state: Credentials = sim.world.section(SECTION)
    key = (tenant.id, app.client_id.lower())
    # The assertion's aud is the URL the app posted to, with the tenant as it wrote it.
    token_urls = {f"{sim.base_url}/{ref}/oauth2/v2.0/token" for ref in [tenant.id, *tenant.domains]}
    try:
        ctx.notes["assertion"] = assertions.check_client_assertion(
            form, app.client_id, token_urls, state.certificates.get(key, []), state.federated.get(key, []),
            state.issuer_keys, ctx.now + state.clock_offset)
    except assertions.Rejected as e:
        raise EntraError(e.status, e.error, e.code, e.text) from None


register_fields("app", "certificates", "federated_credentials")
register_fields("scenario", "assertion_clock_offset_seconds")
register_section(SECTION, parse, view)
register_client_authenticator("client_assertion", check)
