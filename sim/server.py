"""HTTP plumbing: the threaded loopback server, request bodies in, responses out."""

from __future__ import annotations

import json
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .common import MAX_BODY_BYTES, PLAIN_JSON, Response

if TYPE_CHECKING:
    from .simulator import Simulator


def read_body(h: BaseHTTPRequestHandler) -> bytes:
    """The request body, Content-Length or chunked; read once and cached on the handler."""
    if getattr(h, "_body", None) is not None:
        return h._body
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        body = read_chunked(h.rfile)
    else:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""
    h._body = body
    return body


def read_chunked(rfile) -> bytes:
    chunks, total = [], 0
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        chunks.append(rfile.read(size))
        rfile.readline()


class BodyWriter:
    """Writes a body as given or chunked, pausing once after `stall_after` bytes if asked (a
    body that stalls mid-stream)."""

    def __init__(self, wfile, chunked: bool, stall_after: int | None, stall_ms: int):
        self.wfile, self.chunked = wfile, chunked
        self.stall_after, self.stall_ms, self.sent = stall_after, stall_ms, 0

    def write(self, data: bytes) -> None:
        if self.stall_after is not None and self.sent <= self.stall_after < self.sent + len(data):
            cut = self.stall_after - self.sent
            self._raw(data[:cut])
            self.wfile.flush()
            time.sleep(self.stall_ms / 1000)
            self.stall_after = None
            data = data[cut:]
        self._raw(data)

    def _raw(self, data: bytes) -> None:
        if not data:
            return
        self.sent += len(data)
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    def finish(self) -> None:
        if self.stall_after is not None:  # asked to stall at (or past) the end of the body
            self.wfile.flush()
            time.sleep(self.stall_ms / 1000)
        if self.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class SimHandler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; without this, Nagle's algorithm meets the
    # client's delayed ACK and every answer stalls ~40 ms, which real Graph does not do.
    disable_nagle_algorithm = True
    # HTTP/1.1 keep-alive, like the real services: clients reuse connections, and a dropped
    # connection (fault rule `drop`) must be noticed mid-pool.
    protocol_version = "HTTP/1.1"
    server_version = "graph-sim/1.0"
    timeout = 60  # idle keep-alive connections must not pin threads forever
    _body: bytes | None = None

    def handle_one_request(self) -> None:
        self._body = None
        super().handle_one_request()

    def dispatch(self) -> None:
        sim: Simulator = self.server.sim  # type: ignore[attr-defined]
        try:
            sim.handle(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a simulator bug: say so loudly, answer 500, keep serving
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            try:
                error = {"code": "SimulatorBug", "message": traceback.format_exc(limit=3)}
                body = json.dumps({"error": error}).encode()
                self.send_response(500)
                self.send_header("Content-Type", PLAIN_JSON)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = dispatch

    def send(self, response: Response) -> None:
        if response.drop:
            self.drop_connection()
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        has_body = response.status not in (204, 304) and not 100 <= response.status < 200
        if has_body and response.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif has_body:
            size = response.length if response.stream else len(response.body)
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD" or not has_body:
            return
        writer = BodyWriter(self.wfile, response.chunked, response.stall_after, response.stall_ms)
        for piece in (response.stream() if response.stream else [response.body]):
            writer.write(piece)
        writer.finish()

    def version_string(self) -> str:
        return self.server_version

    def drop_connection(self) -> None:
        """Close without a byte of response, as a crashed proxy or a network cut would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: a parent that never drains our stderr pipe must not block us.
        if self.server.sim.verbose:  # type: ignore[attr-defined]
            sys.stderr.write(f"graph_sim: {self.address_string()} {format % args}\n")


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: "Simulator"):
        self.sim = sim
        super().__init__(address, SimHandler)
