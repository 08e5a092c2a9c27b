"""One request as the handlers see it, and as the request log records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .common import iso, sha256_hex, token_id


@dataclass
class RequestContext:
    method: str
    target: str           # raw request target, path and query, still percent-encoded
    path: str             # raw path
    query: str            # raw query string
    segments: list[str]   # path segments, each percent-decoded on its own
    headers: Any          # http.client.HTTPMessage
    body: bytes
    endpoint: str         # the route's endpoint kind: "token", "graph", or one a family adds
    request_id: str
    now: float
    form: dict | None = None       # form fields of a form route (raw; never logged as such)
    json_body: Any = None
    issued_token_id: str | None = None
    log_body: bool = True          # False for routes whose JSON body carries credentials
    base_url: str = ""             # http://127.0.0.1:PORT, for absolute links
    notes: dict = field(default_factory=dict)  # anything a handler wants in the log entry

    @property
    def decoded_path(self) -> str:
        return "/" + "/".join(self.segments)

    @property
    def client_request_id(self) -> str | None:
        return self.headers.get("client-request-id")

    @property
    def bearer(self) -> str | None:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def log_entry(seq: int, ctx: RequestContext, status: int | None, fault: int | None) -> dict:
    """One request as tests see it. Secrets and tokens appear only as sha256 digests."""
    bearer = ctx.bearer
    entry = {
        "seq": seq,
        "time": iso(ctx.now),
        "method": ctx.method,
        "path": ctx.path,
        "decoded_path": ctx.decoded_path,
        "query": ctx.query,
        "query_params": dict(parse_qsl(ctx.query, keep_blank_values=True)),
        "endpoint": ctx.endpoint,
        "status": status,
        "client_request_id": ctx.client_request_id,
        "request_id": ctx.request_id,
        "authorization_present": ctx.headers.get("Authorization") is not None,
        "token_id": token_id(bearer) if bearer else None,
        "issued_token_id": ctx.issued_token_id,
        "form": redacted_form(ctx.form) if ctx.form is not None else None,
        "json_body": ctx.json_body if ctx.log_body else None,
        "content_type": ctx.headers.get("Content-Type"),
        "body_length": len(ctx.body),
        "body_text": body_text(ctx),
        "user_agent": ctx.headers.get("User-Agent"),
        "fault": fault,
    }
    entry.update(ctx.notes)
    return entry


MAX_LOGGED_BODY = 64 * 1024


def body_text(ctx: RequestContext) -> str | None:
    """The request body as text for the log; never a form (the token endpoint's carries the
    secret) nor a body its route keeps out of the log."""
    if not ctx.body or ctx.form is not None or not ctx.log_body:
        return None
    return ctx.body[:MAX_LOGGED_BODY].decode("utf-8", "replace")


def redacted_form(form: dict) -> dict:
    safe = {k: v for k, v in form.items() if k not in ("client_secret", "client_assertion")}
    secret = form.get("client_secret")
    safe["client_secret_sha256"] = sha256_hex(secret) if secret is not None else None
    if "client_assertion" in form:
        safe["client_assertion_sha256"] = sha256_hex(form["client_assertion"])
    return safe


def parse_form(ctx: RequestContext) -> dict:
    """Fields of a form body; any other content type reads as an empty form, as with Entra."""
    content_type = (ctx.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    form: dict[str, str] = {}
    for key, value in parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)  # the first of repeated fields wins
    return form
