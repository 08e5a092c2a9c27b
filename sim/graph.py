"""Graph v1.0 plumbing shared by every Graph endpoint family: the error shape, bearer
authentication, OData query options, $select, paging, and the route decorator that wires them.

A Graph handler is `handler(sim, ctx, caller, params, options) -> Response`, registered with
`@graph_route("GET", "/v1.0/...", options=("$select",))`; it raises GraphError for any error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, quote

from . import faults, routes
from .common import GRAPH_JSON, OWNED_BY, WWW_AUTHENTICATE, Response, json_response, same_id
from .context import RequestContext
from .world import ServicePrincipal

if TYPE_CHECKING:
    from .simulator import Simulator


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or []


def graph_error_body(ctx: RequestContext, code: str, message: str) -> dict:
    # Without a client-request-id Graph reports its own request id in that slot.
    return {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.fromtimestamp(ctx.now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": ctx.request_id,
        "client-request-id": ctx.client_request_id or ctx.request_id,
    }}}


def error_response(ctx: RequestContext, e: GraphError) -> Response:
    response = json_response(e.status, graph_error_body(ctx, e.code, e.message))
    response.headers.extend(e.headers)
    return response


def not_found(what: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{what}' does not exist or one of its queried reference-property objects "
                      "are not present.")


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, [("WWW-Authenticate", WWW_AUTHENTICATE)])


# -- fault bodies and unknown paths ----------------------------------------------------------------

GRAPH_FAULT_CODES = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource not found."),
    409: ("Conflict", "The request conflicts with the current state."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("generalException", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway timed out."),
}


def default_fault_body(status: int, ctx: RequestContext) -> dict:
    code, message = GRAPH_FAULT_CODES.get(status, ("UnknownError", f"HTTP {status}."))
    return graph_error_body(ctx, code, message)


def no_route(sim: "Simulator", ctx: RequestContext, allowed: list[str]) -> Response:
    """What Graph answers for a path no route serves: 405 if other methods would do, else 404."""
    path = ctx.decoded_path
    if allowed:
        e = GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri.",
                       [("Allow", ", ".join(allowed))])
    elif not ctx.segments or ctx.segments[0].lower() != "v1.0":
        e = GraphError(404, "Request_ResourceNotFound",
                       f"No resource at {path}: the simulator serves Graph v1.0 only.")
    else:
        e = GraphError(404, "Request_ResourceNotFound",
                       f"Resource not found for the segment '{ctx.segments[-1]}'; the simulator does not serve {path}.")
    return error_response(ctx, e)


routes.set_fallback(no_route, "graph")
faults.register_default_body("graph", default_fault_body)


# -- who is calling --------------------------------------------------------------------------------

@dataclass
class Caller:
    """Who a bearer token speaks for."""

    tenant_id: str
    roles: frozenset
    sp_id: str | None

    def may_try(self, full_roles: frozenset) -> bool:
        """Holds a role that could allow the operation on some service principal."""
        return bool(self.roles & full_roles) or OWNED_BY in self.roles

    def allowed(self, full_roles: frozenset, sp: ServicePrincipal) -> bool:
        """OwnedBy only counts when the caller's own service principal owns the target one."""
        if self.roles & full_roles:
            return True
        owns = self.sp_id is not None and any(same_id(o, self.sp_id) for o in sp.owners)
        return OWNED_BY in self.roles and owns


def authenticate(sim: "Simulator", ctx: RequestContext) -> Caller:
    token = ctx.bearer
    if token is None:
        raise unauthenticated("Access token is empty.")
    issued = sim.tokens.get(token)
    if issued is None:
        raise unauthenticated("Invalid JWT token. The token was not issued by this tenant's token endpoint.")
    if issued.expired or ctx.now >= issued.expires_at:
        raise unauthenticated("Lifetime validation failed, the token is expired.")
    return Caller(issued.tenant_id, issued.roles, issued.caller_sp_id)


# -- the route decorator -----------------------------------------------------------------------

GraphHandler = Callable[["Simulator", RequestContext, Caller, dict, dict], Response]


def graph_route(method: str, pattern: str, options: tuple[str, ...] = (), *, log_body: bool = True
                ) -> Callable[[GraphHandler], GraphHandler]:
    """Registers a Graph handler: bearer check, then the OData options it honours, then it."""
    def register(handler: GraphHandler) -> GraphHandler:
        def serve(sim: "Simulator", ctx: RequestContext, params: dict) -> Response:
            try:
                caller = authenticate(sim, ctx)
                return handler(sim, ctx, caller, params, query_options(ctx, options))
            except GraphError as e:
                return error_response(ctx, e)
        routes.add(method, pattern, serve, name=handler.__name__, endpoint="graph", log_body=log_body)
        return handler
    return register


def query_options(ctx: RequestContext, honoured: tuple[str, ...]) -> dict[str, str]:
    """The OData system query options ($...), each at most once and known to the route."""
    options: dict[str, str] = {}
    for key, value in parse_qsl(ctx.query, keep_blank_values=True):
        if not key.startswith("$"):
            continue  # Graph ignores custom query parameters
        name = key.lower()
        if name in options:
            raise GraphError(400, "BadRequest",
                             f"Query option '{key}' was specified more than once, "
                             "but it must be specified at most once.")
        if name not in honoured:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Query option '{key}' is not supported on this path by the simulator.")
        options[name] = value
    return options


# -- answers -----------------------------------------------------------------------------------

def select(resource: dict, options: dict[str, str]) -> dict:
    """$select: only the named properties (case-insensitively), plus `id` always."""
    if "$select" not in options:
        return resource
    by_lower = {k.lower(): k for k in resource}
    chosen = ["id"]
    for name in (n.strip() for n in options["$select"].split(",")):
        if name.lower() not in by_lower:
            raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on this resource type.")
        chosen.append(by_lower[name.lower()])
    return {k: resource[k] for k in dict.fromkeys(chosen) if k in resource}


def page(sim: "Simulator", ctx: RequestContext, items: list, options: dict[str, str], context: str,
         render: Callable[[Any], Any] | None = None) -> dict:
    """One page of a collection, with an absolute @odata.nextLink while more remain. `render`,
    if given, turns only the items of this page into JSON (large collections stay cheap)."""
    size = sim.world.page_size
    if "$top" in options:
        top = options["$top"]
        if not top.isdigit() or not 1 <= int(top) <= 999:
            raise GraphError(400, "BadRequest",
                             f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")
        size = min(size, int(top))
    skip = options.get("$skiptoken", "0")
    if not skip.isdigit():
        raise GraphError(400, "BadRequest", "Invalid $skiptoken: follow @odata.nextLink as given.")
    start = int(skip)
    chosen = items[start:start + size]
    result = {"@odata.context": context, "value": [render(i) for i in chosen] if render else chosen}
    if start + size < len(items):
        result["@odata.nextLink"] = next_link(sim, ctx, start + size)
    return result


def next_link(sim: "Simulator", ctx: RequestContext, offset: int) -> str:
    pairs = [(k, v) for k, v in parse_qsl(ctx.query, keep_blank_values=True) if k.lower() != "$skiptoken"]
    pairs.append(("$skiptoken", str(offset)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in pairs)
    return f"{sim.base_url}{ctx.path}?{query}"


def graph_json(obj: dict) -> Response:
    return json_response(200, obj, GRAPH_JSON)
