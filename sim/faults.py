"""Fault rules: make matching requests slow, fail or vanish.

Each endpoint family may register the default error body its faults answer with
(`register_default_body(endpoint, builder)`); a rule naming an `endpoint` may name any kind
a route registered (routes.endpoint_kinds()).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from . import routes
from .common import PLAIN_JSON, Response, json_response
from .context import RequestContext
from .scenario import Fields, ScenarioError

FAULT_FIELDS = (
    "method", "path_contains", "endpoint", "status", "headers", "body", "times", "delay_ms", "drop", "when",
    "content_type",
)

# endpoint kind -> (status, ctx) -> the JSON error body a fault answers with when it gives none
DefaultBody = Callable[[int, RequestContext], Any]
DEFAULT_BODIES: dict[str, DefaultBody] = {}


def register_default_body(endpoint: str, builder: DefaultBody) -> None:
    DEFAULT_BODIES[endpoint] = builder


@dataclass
class FaultRule:
    """Makes matching requests slow, fail or vanish. `when` = "before" answers instead of the
    real handler (no side effects); "after" lets the handler act first and then replaces or
    drops its answer (the restart happened, the client never heard)."""

    method: str | None
    path_contains: str | None
    endpoint: str | None
    status: int | None
    headers: dict
    body: Any
    times: int | None
    delay_ms: int
    drop: bool
    when: str
    content_type: str | None
    used: int = 0

    @staticmethod
    def parse(raw: Any, where: str) -> "FaultRule":
        f = Fields(raw, where, FAULT_FIELDS)
        rule = FaultRule(
            method=f.get("method", str, None),
            path_contains=f.get("path_contains", str, None),
            endpoint=f.choice("endpoint", routes.endpoint_kinds(), None),
            status=f.get("status", int, None),
            headers=f.get("headers", dict, {}),
            body=raw.get("body"),
            times=f.get("times", int, None),
            delay_ms=f.get("delay_ms", int, 0),
            drop=f.get("drop", bool, False),
            when=f.choice("when", ("before", "after"), "before"),
            content_type=f.get("content_type", str, None),
        )
        if rule.status is not None and not 100 <= rule.status <= 599:
            raise ScenarioError(f"{where}.status must be an HTTP status code")
        if not all(isinstance(v, (str, int, float)) for v in rule.headers.values()):
            raise ScenarioError(f"{where}.headers values must be strings or numbers")
        return rule

    def matches(self, ctx: RequestContext) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.method and self.method.upper() != ctx.method:
            return False
        if self.endpoint and self.endpoint != ctx.endpoint:
            return False
        # Either spelling of the path counts, so `/restart` or a raw `%2E` both work.
        return not self.path_contains or self.path_contains in ctx.target or self.path_contains in ctx.decoded_path

    def to_json(self, index: int) -> dict:
        view = {k: getattr(self, k) for k in FAULT_FIELDS}
        view.update({"index": index, "used": self.used,
                     "remaining": None if self.times is None else max(self.times - self.used, 0)})
        return view


def fault_response(rule: FaultRule, ctx: RequestContext) -> Response:
    """The answer a fault rule with a status gives: its body, or a realistic default one."""
    if rule.body is None and rule.status != 204:
        body = default_fault_body(rule.status, ctx)
    else:
        body = rule.body
    if body is None:
        response = Response(rule.status)
    elif isinstance(body, str):
        content_type = rule.content_type or "text/plain; charset=utf-8"
        response = Response(rule.status, body.encode(), [("Content-Type", content_type)])
    else:
        response = json_response(rule.status, body, rule.content_type or PLAIN_JSON)
    for name, value in rule.headers.items():
        response.headers = [h for h in response.headers if h[0].lower() != name.lower()]
        response.headers.append((name, str(value)))
    return response


def default_fault_body(status: int, ctx: RequestContext) -> Any:
    builder = DEFAULT_BODIES.get(ctx.endpoint) or DEFAULT_BODIES.get(routes.fallback()[1])
    return builder(status, ctx) if builder else {"error": f"HTTP {status}"}


def fault_answer(rule: FaultRule, ctx: RequestContext) -> Response | None:
    """Sleeps the rule's delay, then drops or answers with its status; None lets the real
    answer through (a delay-only rule)."""
    sleep_ms(rule.delay_ms)
    if rule.drop:
        return Response(0, drop=True)
    if rule.status is None:
        return None
    return fault_response(rule, ctx)


def sleep_ms(ms: int) -> None:
    if ms > 0:
        time.sleep(ms / 1000)
