"""The route registry: method + path pattern -> handler. Every endpoint family registers its
routes here when its module is imported (sim/endpoints/ is imported as a whole at start).

Pattern syntax, over percent-decoded path segments (each segment decoded on its own, so `%2F`
stays inside its segment and `%2E` is a dot):
- a literal segment matches case-insensitively (`servicePrincipals`, `v1.0`);
- `{name}` binds any one segment, as a str;
- `{name:a|b|c}` binds only one of the listed words (case-insensitively), as written in the pattern;
- a literal followed by `{name}` also matches Graph's alternate-key form in ONE segment,
  `literal(prop='value')` (e.g. `servicePrincipals(appId='…')`): `name` is then bound to a KeyRef.
When several routes match, the one with the most literal segments wins, then the most
constrained parameters. A path that matches only with other methods answers 405 (the fallback
sees the allowed methods); a path that matches nothing goes to the fallback (Graph's 404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Union

from .common import Response
from .context import RequestContext

if TYPE_CHECKING:
    from .simulator import Simulator


@dataclass(frozen=True)
class KeyRef:
    """`collection(prop='value')`: Graph's alternate key syntax, e.g. servicePrincipals(appId='…')."""

    prop: str
    value: str


Param = Union[str, KeyRef]
Handler = Callable[["Simulator", RequestContext, dict], Response]
Fallback = Callable[["Simulator", RequestContext, list], Response]

_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\(([A-Za-z][A-Za-z0-9]*)='((?:[^']|'')*)'\)$")
_PARAM_RE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}$")


@dataclass(frozen=True)
class Seg:
    literal: str | None = None        # lowercased literal, or None for a parameter
    name: str | None = None
    choices: tuple[str, ...] = ()     # for {name:a|b}


@dataclass
class Route:
    name: str
    methods: tuple[str, ...] | None   # None: any method (the handler answers wrong ones itself)
    pattern: str
    handler: Handler
    endpoint: str = "graph"           # names the family in the request log and in fault rules
    body: str = "json"                # how the request body is read: "json", "form" or "raw"
    log_body: bool = True             # False: the body carries credentials, keep it out of the log
    segs: tuple[Seg, ...] = field(default=(), repr=False)

    def score(self) -> tuple[int, int]:
        return (sum(1 for s in self.segs if s.literal is not None), sum(1 for s in self.segs if s.choices))


@dataclass
class Match:
    route: Route | None
    params: dict = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)  # methods of routes matching the path (405)


ROUTES: list[Route] = []
_fallback: dict[str, Fallback | str] = {}


def compile_pattern(pattern: str) -> tuple[Seg, ...]:
    segs = []
    for part in pattern.strip("/").split("/"):
        m = _PARAM_RE.match(part)
        if m:
            choices = tuple(m.group(2).split("|")) if m.group(2) else ()
            segs.append(Seg(name=m.group(1), choices=choices))
        else:
            segs.append(Seg(literal=part.lower()))
    return tuple(segs)


def add(method: str | tuple[str, ...] | None, pattern: str, handler: Handler, *, name: str | None = None,
        endpoint: str = "graph", body: str = "json", log_body: bool = True) -> Route:
    """Registers a route; `method` None accepts every method."""
    methods = (method,) if isinstance(method, str) else method
    route = Route(name or handler.__name__, methods, pattern, handler, endpoint, body, log_body,
                  compile_pattern(pattern))
    ROUTES.append(route)
    return route


def route(method: str | tuple[str, ...] | None, pattern: str, **kw) -> Callable[[Handler], Handler]:
    """Decorator form of add()."""
    def register(handler: Handler) -> Handler:
        add(method, pattern, handler, **kw)
        return handler
    return register


def set_fallback(handler: Fallback, endpoint: str) -> None:
    """Who answers paths no route matches (and 405s). Graph's module sets it."""
    _fallback["handler"], _fallback["endpoint"] = handler, endpoint


def fallback() -> tuple[Fallback, str]:
    return _fallback["handler"], _fallback["endpoint"]  # type: ignore[return-value]


def endpoint_kinds() -> tuple[str, ...]:
    return tuple(dict.fromkeys([r.endpoint for r in ROUTES] + [str(_fallback.get("endpoint", "graph"))]))


def bind(segs: tuple[Seg, ...], segments: list[str]) -> dict | None:
    """The parameters if `segments` match the pattern, else None."""
    params: dict[str, Param] = {}
    i = j = 0
    while i < len(segs):
        seg = segs[i]
        if j >= len(segments):
            return None
        text = segments[j]
        if seg.literal is not None:
            key = _KEY_RE.match(text)
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            if key and nxt is not None and nxt.name and not nxt.choices and key.group(1).lower() == seg.literal:
                params[nxt.name] = KeyRef(key.group(2), key.group(3).replace("''", "'"))
                i, j = i + 2, j + 1
                continue
            if text.lower() != seg.literal:
                return None
        elif seg.choices:
            chosen = next((c for c in seg.choices if c.lower() == text.lower()), None)
            if chosen is None:
                return None
            params[seg.name] = chosen
        else:
            params[seg.name] = text
        i, j = i + 1, j + 1
    return params if j == len(segments) else None


def resolve(method: str, segments: list[str]) -> Match:
    best: Match | None = None
    allowed: list[str] = []
    for candidate in ROUTES:
        params = bind(candidate.segs, segments)
        if params is None:
            continue
        if candidate.methods is not None and method not in candidate.methods:
            allowed.extend(candidate.methods)
            continue
        if best is None or candidate.score() > best.route.score():  # type: ignore[union-attr]
            best = Match(candidate, params)
    return best or Match(None, allowed=list(dict.fromkeys(allowed)))
