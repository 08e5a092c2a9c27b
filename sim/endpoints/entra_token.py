"""The Microsoft identity platform token endpoint (client credentials, v2.0).

Extension point: `register_client_authenticator(field, check)` lets another family verify a
credential the form carries instead of a secret (e.g. `client_assertion`): `check(sim, ctx,
tenant, app, form)` returns None when the credential is good and raises EntraError otherwise.
"""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from .. import faults, routes
from ..common import DOMAIN_RE, GUID_RE, Response, json_response, new_id, token_id
from ..context import RequestContext
from ..world import App, Tenant

if TYPE_CHECKING:
    from ..simulator import Simulator


@dataclass
class IssuedToken:
    tenant_id: str
    client_id: str
    roles: frozenset  # a snapshot, like the `roles` claim of a real token
    caller_sp_id: str | None
    expires_at: float
    expired: bool = False


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, text: str):
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text


def entra_error_body(ctx: RequestContext, error: str, code: int, text: str) -> dict:
    """AADSTS error JSON. The trace id is the response's request-id; like Entra, the correlation
    id is the caller's client-request-id when it sent a GUID."""
    stamp = datetime.fromtimestamp(ctx.now, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    sent = ctx.client_request_id
    correlation = sent if sent and GUID_RE.match(sent) else new_id()
    return {
        "error": error,
        "error_description": (f"AADSTS{code}: {text} Trace ID: {ctx.request_id} "
                              f"Correlation ID: {correlation} Timestamp: {stamp}"),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": ctx.request_id,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def default_fault_body(status: int, ctx: RequestContext) -> dict:
    if status == 429 or status >= 500:
        return entra_error_body(ctx, "temporarily_unavailable", 90033,
                                "A transient error has occurred. Please try again.")
    return entra_error_body(ctx, "invalid_request", 90100, "Invalid request.")


def token_endpoint(sim: "Simulator", ctx: RequestContext, params: dict) -> Response:
    try:
        return issue_token(sim, ctx, params["tenant"])
    except EntraError as e:
        body = entra_error_body(ctx, e.error, e.code, e.text)
        response = json_response(e.status, body)
        response.headers.append(("Cache-Control", "no-store, no-cache"))
        return response


routes.add(None, "/{tenant}/oauth2/v2.0/token", token_endpoint, endpoint="token", body="form")
faults.register_default_body("token", default_fault_body)


def issue_token(sim: "Simulator", ctx: RequestContext, tenant_ref: str) -> Response:
    """Validates in a fixed order (see README) and returns a Bearer token for the app's roles."""
    if ctx.method != "POST":
        raise EntraError(400, "invalid_request", 900561, "The endpoint only accepts POST requests.")
    world, form = sim.world, ctx.form or {}
    if not (GUID_RE.match(tenant_ref) or DOMAIN_RE.match(tenant_ref)):
        raise EntraError(400, "invalid_request", 900023,
                         f"Specified tenant identifier '{tenant_ref}' is neither a valid DNS name, "
                         "nor a valid external domain.")
    tenant = world.find_tenant(tenant_ref)
    if tenant is None:
        raise EntraError(400, "invalid_request", 90002,
                         f"Tenant '{tenant_ref}' not found. Check to make sure you have the correct tenant ID and are "
                         "signing into the correct cloud.")
    for name in ("grant_type", "client_id", "scope"):
        if not form.get(name):
            raise EntraError(400, "invalid_request", 900144,
                             f"The request body must contain the following parameter: '{name}'.")
    if form["grant_type"] != "client_credentials":
        raise EntraError(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{form['grant_type']}'.")
    scope = form["scope"]
    if not scope.endswith("/.default"):
        raise EntraError(400, "invalid_scope", 1002012,
                         f"The provided value for scope {scope} is not valid. Client credential flows must "
                         "have a scope value with /.default suffixed to the resource identifier "
                         "(application ID URI).")
    app = tenant.find_app(form["client_id"])
    if app is None:
        raise EntraError(400, "unauthorized_client", 700016,
                         f"Application with identifier '{form['client_id']}' was not found in the directory "
                         f"'{tenant.display_name}'. This can happen if the application has not been installed "
                         "by the administrator of the tenant or consented to by any user in the tenant. You may "
                         "have sent your authentication request to the wrong tenant.")
    if app.disabled:
        raise EntraError(401, "invalid_client", 7000112,
                         f"Application '{app.client_id}'({app.display_name}) is disabled.")
    check_client_credential(sim, ctx, tenant, app, form)
    if scope != world.graph_scope:
        raise EntraError(400, "invalid_resource", 500011,
                         f"The resource principal named {scope.removesuffix('/.default')} was not found in the tenant "
                         f"named {tenant.display_name}. This can happen if the application has not been installed by "
                         "the administrator of the tenant or consented to by any user in the tenant. You might have "
                         "sent your authentication request to the wrong tenant.")
    return grant(sim, ctx, tenant, app)


# form field -> check(sim, ctx, tenant, app, form); raises EntraError when the credential is bad
ClientAuthenticator = Callable[["Simulator", RequestContext, Tenant, App, dict], None]
CLIENT_AUTHENTICATORS: dict[str, ClientAuthenticator] = {}


def register_client_authenticator(form_field: str, check: ClientAuthenticator) -> None:
    CLIENT_AUTHENTICATORS[form_field] = check


def check_client_credential(sim: "Simulator", ctx: RequestContext, tenant: Tenant, app: App, form: dict) -> None:
    for form_field, check in CLIENT_AUTHENTICATORS.items():
        if form_field in form:
            check(sim, ctx, tenant, app, form)
            return
    check_client_secret(app, form)


def check_client_secret(app: App, form: dict) -> None:
    if "client_assertion" in form:
        raise EntraError(401, "invalid_client", 700027,
                         "Client assertion failed signature validation. (The simulator only supports client secrets.)")
    secret = form.get("client_secret")
    if not secret:
        raise EntraError(401, "invalid_client", 7000216,
                         "'client_assertion', 'client_secret' or 'request' is required for the "
                         "'client_credentials' grant type.")
    # Several secrets may be registered at once (rotation); any unexpired match is good.
    matching = [s for s in app.secrets if hmac.compare_digest(s.value.encode(), secret.encode())]
    if not matching:
        raise EntraError(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                         f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.")
    if all(s.expired for s in matching):
        raise EntraError(401, "invalid_client", 7000222,
                         f"The provided client secret keys for app '{app.client_id}' are expired. Visit the Azure "
                         "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                         "certificate credentials for added security: https://aka.ms/certCreds.")


def b64url_json(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()


def access_token_for(sim: "Simulator", tenant: Tenant, app: App, now: float, expires_at: float) -> str:
    """A JWT-shaped application token like Entra's v1.0 Graph tokens: header.payload.signature,
    base64url, with the app's `roles` (left out when none, as Entra does). Clients may read the
    claims; nothing verifies the signature, which is `simtok-<hex>`: unique per token, and the
    marker the tests' leak check looks for in every output."""
    issuer = f"https://sts.windows.net/{tenant.id}/"
    claims = {
        "aud": sim.world.graph_scope.removesuffix("/.default"), "iss": issuer,
        "iat": int(now), "nbf": int(now), "exp": int(expires_at),
        "app_displayname": app.display_name, "appid": app.client_id, "appidacr": "1", "idp": issuer,
        "idtyp": "app", "oid": app.service_principal_id or "", "sub": app.service_principal_id or app.client_id,
        "tid": tenant.id, "ver": "1.0",
    }
    if app.roles:
        claims["roles"] = list(app.roles)
    header = {"typ": "JWT", "alg": "RS256", "x5t": "simulator", "kid": "simulator"}
    return f"{b64url_json(header)}.{b64url_json(claims)}.simtok-{uuid.uuid4().hex}"


def grant(sim: "Simulator", ctx: RequestContext, tenant: Tenant, app: App) -> Response:
    lifetime = sim.world.token_lifetime
    generated = access_token_for(sim, tenant, app, ctx.now, ctx.now + lifetime)
    whole = int(lifetime)
    answer = with_overrides({"token_type": "Bearer", "expires_in": whole, "ext_expires_in": whole,
                             "access_token": generated}, app.token_response, generated)
    access_token = answer.get("access_token")
    if isinstance(access_token, str) and access_token:
        # Whatever the answer carries is what Graph accepts, so an odd but usable token works.
        sim.tokens[access_token] = IssuedToken(tenant.id, app.client_id, frozenset(app.roles),
                                               app.service_principal_id, ctx.now + lifetime)
        ctx.issued_token_id = token_id(access_token)
    response = json_response(200, answer)
    response.headers.append(("Cache-Control", "no-store, no-cache"))
    return response


ABSENT = "$absent"


def with_overrides(answer: dict, overrides: dict, generated: str) -> dict:
    """The scenario app's `token_response` over the success JSON: `{token}` in a string is the
    generated token, `"$absent"` removes the key (odd answers for client tests)."""
    for key, value in overrides.items():
        if value == ABSENT:
            answer.pop(key, None)
        else:
            answer[key] = value.replace("{token}", generated) if isinstance(value, str) else value
    return answer
