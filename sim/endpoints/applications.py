"""Graph v1.0 applications (app registrations): `GET /applications(appId='…')` and
`GET /applications/{objectId}`, with `$select`, for the credentials' expiry
(`passwordCredentials`, `keyCredentials`) in Microsoft's documented shapes.

Scenario, on an app (`tenants[].apps[]`):
- `password_credentials`: a list of passwordCredential objects (`displayName`, `hint`, `keyId`,
  `startDateTime`, `endDateTime`, `customKeyIdentifier`), where `start_in_days` / `end_in_days`
  (numbers, relative to the scenario load, negative = past) may stand for the two dates. Left out,
  one credential per entry of `secrets`: `hint` = the value's first three characters, valid from
  30 days ago for two years, or ended yesterday when the secret is `expired`.
- `key_credentials`: keyCredential objects (`customKeyIdentifier`, `displayName`, `keyId`, `type`,
  `usage`, dates as above); default none.
- `application_object_id`: the application's object id (default: derived from the client id).
- `application_owners`: service principal ids that own the registration (Application.ReadWrite.OwnedBy
  then lets that caller read it).

Who may read: Application.Read.All, Application.ReadWrite.All, Directory.Read.All,
Directory.ReadWrite.All, or Application.ReadWrite.OwnedBy for an owner; otherwise 403
Authorization_RequestDenied. Another tenant's app, or an unknown one, is 404.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .. import scenario
from ..common import OWNED_BY, READ_SP_ROLES, Response, iso, same_id
from ..context import RequestContext
from ..graph import Caller, GraphError, denied, graph_json, graph_route, not_found, select
from ..routes import KeyRef
from ..scenario import Fields, ScenarioError
from ..world import App, World

if TYPE_CHECKING:
    from ..simulator import Simulator

DAY = 86400.0
PASSWORD_FIELDS = ("customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId", "startDateTime")
KEY_FIELDS = PASSWORD_FIELDS[:-1] + ("startDateTime", "type", "usage")
RELATIVE_FIELDS = ("start_in_days", "end_in_days")

scenario.register_fields("app", "password_credentials", "key_credentials", "application_object_id",
                         "application_owners")


def credential(raw: Any, where: str, fields: tuple[str, ...], now: float, defaults: dict) -> dict:
    """One credential in Microsoft's shape; relative days become ISO dates."""
    f = Fields(raw, where, tuple(dict.fromkeys(fields + RELATIVE_FIELDS)))
    result = {name: None for name in fields}
    result.update(defaults)
    for name in fields:
        if f.has(name):
            result[name] = f.get(name, str)
    for relative, absolute in (("start_in_days", "startDateTime"), ("end_in_days", "endDateTime")):
        if f.has(relative):
            result[absolute] = iso(now + f.get(relative, "number") * DAY)
    return result


def derived_passwords(app: App, now: float) -> list[dict]:
    return [{
        "customKeyIdentifier": None,
        "displayName": f"secret {i + 1}",
        "endDateTime": iso(now - DAY if s.expired else now + 730 * DAY),
        "hint": s.value[:3],
        "keyId": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{app.client_id}/{i}")),
        "startDateTime": iso(now - 30 * DAY),
    } for i, s in enumerate(app.secrets)]


def parse_app_credentials(raw: Any, world: World, now: float) -> dict:
    """client_id (lowercase) -> the application resource, per tenant: {(tenant, client): app}."""
    apps = {}
    for t, tenant in enumerate(world.tenants):
        for a, app in enumerate(tenant.apps):
            where = f"tenants[{t}].apps[{a}]"
            ext = app.ext
            if "password_credentials" in ext:
                if not isinstance(ext["password_credentials"], list):
                    raise ScenarioError(f"{where}.password_credentials must be a list")
                passwords = [credential(c, f"{where}.password_credentials[{i}]", PASSWORD_FIELDS, now,
                                        {"keyId": str(uuid.uuid4())})
                             for i, c in enumerate(ext["password_credentials"])]
            else:
                passwords = derived_passwords(app, now)
            keys_raw = ext.get("key_credentials", [])
            if not isinstance(keys_raw, list):
                raise ScenarioError(f"{where}.key_credentials must be a list")
            keys = [credential(c, f"{where}.key_credentials[{i}]", KEY_FIELDS, now,
                               {"keyId": str(uuid.uuid4()), "type": "AsymmetricX509Cert", "usage": "Verify"})
                    for i, c in enumerate(keys_raw)]
            owners = ext.get("application_owners", [])
            if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
                raise ScenarioError(f"{where}.application_owners must be a list of strings")
            object_id = ext.get("application_object_id") or str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id))
            apps[(tenant.id.lower(), app.client_id.lower())] = {
                "resource": {"id": object_id, "appId": app.client_id, "displayName": app.display_name,
                             "passwordCredentials": passwords, "keyCredentials": keys},
                "owners": owners,
            }
    return apps


scenario.register_section("app_credentials", parse_app_credentials)


def find_application(sim: "Simulator", caller: Caller, key: "str | KeyRef") -> dict:
    apps = sim.world.section("app_credentials") or {}
    if isinstance(key, KeyRef):
        if key.prop.lower() != "appid":
            raise GraphError(400, "BadRequest", f"'{key.prop}' is not an alternate key of application.")
        found = apps.get((caller.tenant_id.lower(), key.value.lower()))
    else:
        found = next((a for (tenant, _), a in apps.items()
                      if tenant == caller.tenant_id.lower() and same_id(a["resource"]["id"], key)), None)
    if found is None:
        raise not_found(key.value if isinstance(key, KeyRef) else key)
    return found


def may_read(caller: Caller, app: dict) -> bool:
    if caller.roles & (READ_SP_ROLES | {"Application.ReadWrite.All"}):
        return True
    owns = caller.sp_id is not None and any(same_id(o, caller.sp_id) for o in app["owners"])
    return OWNED_BY in caller.roles and owns


@graph_route("GET", "/v1.0/applications/{app}", ("$select",))
def get_application(sim: "Simulator", ctx: RequestContext, caller: Caller, params: dict,
                    options: dict) -> Response:
    if not (caller.roles & (READ_SP_ROLES | {"Application.ReadWrite.All", OWNED_BY})):
        raise denied()
    app = find_application(sim, caller, params["app"])
    if not may_read(caller, app):
        raise denied()
    resource = {"@odata.context": f"{sim.base_url}/v1.0/$metadata#applications(passwordCredentials,keyCredentials)/$entity"
                if "$select" in options else f"{sim.base_url}/v1.0/$metadata#applications/$entity"}
    resource.update(select(app["resource"], options))
    return graph_json(resource)
