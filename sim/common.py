"""Vocabulary shared with the real services, and small helpers every module uses.

Nothing here knows about the world, routes or HTTP: it is the bottom of the import graph.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A tenant may be named by a verified domain; anything else that is not a GUID is "malformed".
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")

JOB_STATUS_CODES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")
SCHEDULE_STATES = ("Active", "Disabled", "Paused")
EXECUTION_STATES = ("Succeeded", "Failed", "EntryLevelErrors")
RESET_SCOPES = ("None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes")
JOB_ACTIONS = ("restart", "start", "pause")
EXECUTION_COUNTS = (
    "countEntitled", "countEntitledForProvisioning", "countEscrowed", "countEscrowedRaw",
    "countExported", "countExports", "countImported", "countImportedDeltas",
    "countImportedReferenceDeltas",
)

# Application permissions (the token's `roles`) and what each Graph operation accepts.
OWNED_BY = "Application.ReadWrite.OwnedBy"
READ_SP_ROLES = frozenset({
    "Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
})
READ_JOB_ROLES = frozenset({"Synchronization.Read.All", "Synchronization.ReadWrite.All"})
WRITE_JOB_ROLES = frozenset({"Synchronization.ReadWrite.All"})

GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
PLAIN_JSON = "application/json; charset=utf-8"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)
DEFAULT_JOB_SETTINGS = [
    {"name": "AzureIngestionAttributeOptimization", "value": "False"},
    {"name": "LookaheadQueryEnabled", "value": "False"},
]
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_LOGGED_REQUESTS = 50_000


def iso(ts: float) -> str:
    """Graph's timestamp style: UTC, seven fractional digits, 'Z'."""
    dt = datetime.fromtimestamp(ts, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_id(token: str) -> str:
    """What the request log shows instead of a bearer token: enough to correlate, useless to replay."""
    return sha256_hex(token)[:16]


def new_id() -> str:
    return str(uuid.uuid4())


def same_id(a: str, b: str) -> bool:
    """GUIDs and job ids compare case-insensitively, as Graph does."""
    return a.lower() == b.lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False  # close the connection without answering
    # A body too big to hold: `stream()` yields it, `length` bytes in all (Content-Length),
    # or with `chunked` as Transfer-Encoding: chunked.
    stream: Callable[[], Iterable[bytes]] | None = None
    length: int = 0
    chunked: bool = False
    # Send `stall_after` bytes of the body, then pause `stall_ms` before the rest.
    stall_after: int | None = None
    stall_ms: int = 0


def json_response(status: int, obj: Any, content_type: str = PLAIN_JSON) -> Response:
    # Encoded at once, under the state lock, so later mutations cannot leak into the answer.
    return Response(status, json.dumps(obj).encode(), [("Content-Type", content_type)])
