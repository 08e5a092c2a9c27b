"""The simulator: all mutable state behind one lock, and the dispatch of one request through
fault rules, the route registry and the request log. Sleeps (latency, fault delays) happen
outside the lock."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import control, endpoints, routes
from .common import MAX_LOGGED_REQUESTS, Response, new_id
from .context import RequestContext, log_entry, parse_form
from .faults import FaultRule, fault_answer, shape
from .scenario import build_world
from .server import read_body

if TYPE_CHECKING:
    from .server import SimHandler

endpoints.load_all()


class Simulator:
    """All mutable state, behind one lock. Sleeps (latency, fault delays) happen outside it."""

    def __init__(self, scenario: dict, latency_ms: int = 0, verbose: bool = False):
        self.lock = threading.Lock()
        self.latency_ms = latency_ms
        self.verbose = verbose
        self.base_url = ""
        self.started = time.time()
        self.load(scenario)

    def load(self, scenario: Any) -> None:
        """Replaces the whole state; raises ScenarioError and keeps the old one if invalid."""
        world = build_world(scenario, time.time())
        self.world = world
        self.tokens: dict[str, Any] = {}  # access token -> endpoints.entra_token.IssuedToken
        self.faults: list[FaultRule] = []
        self.requests: list[dict] = []
        self.seq = 0

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, h: "SimHandler") -> None:
        target = h.path
        raw_path, _, query = target.split("#")[0].partition("?")
        if raw_path == "/_sim" or raw_path.startswith("/_sim/"):
            h.send(control.handle(self, h.command, raw_path, read_body(h)))
            return
        ctx, match = self.context(h, target, raw_path, query)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self.lock:
            ctx.now = time.time()
            fault_index, rule = self.take_fault(ctx)
        response = self.answer(ctx, match, rule)
        with self.lock:
            self.record(ctx, None if response.drop else response.status, fault_index)
        h.send(self.with_ids(ctx, response))

    def context(self, h: "SimHandler", target: str, raw_path: str, query: str
                ) -> tuple[RequestContext, routes.Match]:
        segments = [unquote(s) for s in raw_path.split("/")[1:]]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()  # tolerate one trailing slash
        match = routes.resolve(h.command, segments)
        endpoint = match.route.endpoint if match.route else routes.fallback()[1]
        ctx = RequestContext(h.command, target, raw_path, query, segments, h.headers, read_body(h),
                             endpoint, new_id(), time.time(), base_url=self.base_url)
        body_mode = match.route.body if match.route else "json"
        ctx.log_body = match.route.log_body if match.route else True
        if body_mode == "form":
            ctx.form = parse_form(ctx)
        elif body_mode == "json" and ctx.body.strip():
            try:
                ctx.json_body = json.loads(ctx.body)
            except ValueError:
                ctx.json_body = None  # the handler reports it
        return ctx, match

    def answer(self, ctx: RequestContext, match: routes.Match, rule: FaultRule | None) -> Response:
        """The real answer, a fault's answer instead of it, or the fault's after it (`when: after`)."""
        if rule and rule.when == "before":
            faulted = fault_answer(rule, ctx)
            if faulted:
                return shape(rule, faulted)
        with self.lock:
            response = self.route(ctx, match)
        if rule and rule.when == "after":
            response = fault_answer(rule, ctx) or response
        return shape(rule, response)

    def route(self, ctx: RequestContext, match: routes.Match) -> Response:
        if match.route is None:
            return routes.fallback()[0](self, ctx, match.allowed)
        return match.route.handler(self, ctx, match.params)

    def take_fault(self, ctx: RequestContext) -> tuple[int | None, FaultRule | None]:
        for index, rule in enumerate(self.faults):
            if rule.matches(ctx):
                rule.used += 1
                return index, rule
        return None, None

    def record(self, ctx: RequestContext, status: int | None, fault: int | None) -> None:
        self.seq += 1
        self.requests.append(log_entry(self.seq, ctx, status, fault))
        if len(self.requests) > MAX_LOGGED_REQUESTS:
            del self.requests[: len(self.requests) - MAX_LOGGED_REQUESTS]

    @staticmethod
    def with_ids(ctx: RequestContext, response: Response) -> Response:
        response.headers.append(("request-id", ctx.request_id))
        if ctx.endpoint == "token":
            response.headers.append(("x-ms-request-id", ctx.request_id))
        elif ctx.client_request_id:
            response.headers.append(("client-request-id", ctx.client_request_id))
        return response

