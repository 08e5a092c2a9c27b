"""Fault rules: make matching requests slow, fail or vanish.

Each endpoint family may register the default error body its faults answer with
(`register_default_body(endpoint, builder)`); a rule naming an `endpoint` may name any kind
a route registered (routes.endpoint_kinds()).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, quote

from . import routes
from .common import PLAIN_JSON, Response
from .context import RequestContext
from .scenario import Fields, ScenarioError

FAULT_FIELDS = (
    "method", "path_contains", "endpoint", "status", "headers", "body", "times", "delay_ms", "drop", "when",
    "content_type", "body_bytes", "chunked", "stall_after_bytes", "stall_ms",
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
    body_bytes: int | None = None        # answer with a generated JSON body of this many bytes
    chunked: bool = False                # send the answer with Transfer-Encoding: chunked
    stall_after_bytes: int | None = None  # pause after this many body bytes ...
    stall_ms: int = 0                    # ... for this long (the fault's answer or the real one)
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
            body_bytes=f.get("body_bytes", int, None),
            chunked=f.get("chunked", bool, False),
            stall_after_bytes=f.get("stall_after_bytes", int, None),
            stall_ms=f.get("stall_ms", int, 0),
        )
        if rule.body_bytes is not None and rule.status is None:
            rule.status = 200
        if rule.stall_ms and rule.stall_after_bytes is None:
            rule.stall_after_bytes = 0
        if rule.status is not None and not 100 <= rule.status <= 599:
            raise ScenarioError(f"{where}.status must be an HTTP status code")
        if (rule.body_bytes or 0) < 0 or (rule.stall_after_bytes or 0) < 0 or rule.stall_ms < 0:
            raise ScenarioError(f"{where}: body_bytes, stall_after_bytes and stall_ms must be >= 0")
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
    """The answer a fault rule with a status gives: its body, a generated one of `body_bytes`,
    or a realistic default one. Placeholders in the body and headers are filled in."""
    if rule.body_bytes is not None:
        response = generated_body(rule.status, rule.body_bytes, rule.content_type or PLAIN_JSON)
    else:
        body = default_fault_body(rule.status, ctx) if rule.body is None and rule.status != 204 else rule.body
        if body is None:
            response = Response(rule.status)
        elif isinstance(body, str):
            content_type = rule.content_type or "text/plain; charset=utf-8"
            response = Response(rule.status, fill(body, ctx, json_string=False).encode(),
                                [("Content-Type", content_type)])
        else:
            text = fill(json.dumps(body), ctx, json_string=True)
            response = Response(rule.status, text.encode(), [("Content-Type", rule.content_type or PLAIN_JSON)])
    for name, value in rule.headers.items():
        response.headers = [h for h in response.headers if h[0].lower() != name.lower()]
        response.headers.append((name, fill(str(value), ctx, json_string=False)))
    return response


def shape(rule: FaultRule | None, response: Response) -> Response:
    """Applies a rule's chunking and stall to whatever answer goes out, its own or the real one."""
    if rule is None or response.drop:
        return response
    response.chunked = response.chunked or rule.chunked
    if rule.stall_after_bytes is not None:
        response.stall_after, response.stall_ms = rule.stall_after_bytes, rule.stall_ms
    return response


# -- generated bodies and placeholders -------------------------------------------------------------

_FILL = b" " * (64 * 1024)


def generated_body(status: int, size: int, content_type: str) -> Response:
    """Exactly `size` bytes of valid JSON, `{"value":[]` + spaces + `}`, streamed from one
    reused buffer: a huge answer that costs the simulator no memory."""
    head, tail = b'{"value":[]', b"}"
    if size < len(head) + len(tail):
        return Response(status, b" " * size, [("Content-Type", content_type)])

    def stream():
        yield head
        left = size - len(head) - len(tail)
        while left > 0:
            piece = _FILL[:min(left, len(_FILL))]
            left -= len(piece)
            yield piece
        yield tail
    return Response(status, headers=[("Content-Type", content_type)], stream=stream, length=size)


def placeholders(ctx: RequestContext) -> dict[str, str]:
    pairs = [(k, v) for k, v in parse_qsl(ctx.query, keep_blank_values=True) if k.lower() != "$skiptoken"]
    skip = next((v for k, v in parse_qsl(ctx.query) if k.lower() == "$skiptoken"), "0")
    pairs.append(("$skiptoken", str(int(skip) + 1 if skip.isdigit() else 1)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in pairs)
    return {
        "{self}": ctx.base_url + ctx.target,
        "{next}": f"{ctx.base_url}{ctx.path}?{query}",
        "{base}": ctx.base_url,
        "{authorization}": ctx.headers.get("Authorization") or "",
        "{request_id}": ctx.request_id,
    }


def fill(text: str, ctx: RequestContext, json_string: bool) -> str:
    """Replaces the placeholders in `text`; inside JSON text the values are JSON-escaped."""
    if "{" not in text:
        return text
    for name, value in placeholders(ctx).items():
        if name in text:
            text = text.replace(name, json.dumps(value)[1:-1] if json_string else value)
    return text


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
