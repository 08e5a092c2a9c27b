"""A Lambda Runtime API stand-in: runs a bootstrap binary the way Lambda does and collects its
answers. Serves the documented protocol (/2018-06-01/runtime/invocation/next, .../response,
.../error, /init/error) on 127.0.0.1, on a free port.

    with LambdaProcess("target/debug/entra-idc-sync", env) as function:
        result = function.invoke({"action": "status"})

As a command, it runs a bootstrap once and invokes it with each event file in order, printing
each outcome as one JSON line:

    python3 -m devtools.runtime_api --bootstrap target/debug/entra-idc-sync \
        --event events/status.json [--event ...] [--timeout 30] [--env SECRET_ID=...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:entra-idc-sync"


#: Lambda's limit for a synchronous response payload (6 MB).
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


@dataclass
class Invocation:
    """One invocation's outcome, as Lambda would report it."""

    request_id: str
    succeeded: bool = False
    payload: Any = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float = 0.0
    logs: list[str] = field(default_factory=list)

    def ok(self) -> Any:
        """The report; fails the calling test with the function's error when there is none."""
        assert self.succeeded, f"invocation failed: {self.error_type}: {self.error_message}"
        return self.payload

    def log_text(self) -> str:
        return "\n".join(self.logs)

    def json_logs(self) -> list[dict]:
        documents = []
        for line in self.logs:
            try:
                documents.append(json.loads(line))
            except ValueError:
                pass
        return documents


class _Pending:
    def __init__(self, event: Any, timeout_s: float):
        self.request_id = str(uuid.uuid4())
        self.body = json.dumps(event).encode()
        self.timeout_s = timeout_s
        self.handed_out_at: float | None = None
        self.done = threading.Event()
        self.result = Invocation(self.request_id)


class RuntimeApi:
    """The HTTP side: a queue of events handed out on `next`, answers collected by id."""

    def __init__(self) -> None:
        self._queue: list[_Pending] = []
        self._by_id: dict[str, _Pending] = {}
        self._ready = threading.Condition()
        self.first_next_at: float | None = None
        self.init_error: dict | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK

            def log_message(self, *args):  # quiet: the function's own logs matter
                pass

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._answer(404, b"{}")
                pending = api._next()
                if pending is None:
                    return self._answer(503, b"{}")
                deadline_ms = int((time.time() + pending.timeout_s) * 1000)
                self._answer(200, pending.body, {
                    "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
                })

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = _json_or_text(body)
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    if parts[2] == "response" and len(body) > MAX_RESPONSE_BYTES:
                        # Lambda refuses a response over 6 MB and fails the invocation.
                        api._complete(parts[1], False, json.dumps({
                            "errorType": "Function.ResponseSizeTooLarge",
                            "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum "
                                            f"allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                        }).encode())
                        return self._answer(413, b'{"errorType":"Function.ResponseSizeTooLarge"}')
                    api._complete(parts[1], parts[2] == "response", body)
                else:
                    return self._answer(404, b"{}")
                self._answer(202, b'{"status":"OK"}')

            def _answer(self, status, body, headers=None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and every test closes a server.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """The value for AWS_LAMBDA_RUNTIME_API."""
        return f"127.0.0.1:{self._server.server_port}"

    def submit(self, event: Any, timeout_s: float) -> _Pending:
        pending = _Pending(event, timeout_s)
        with self._ready:
            self._by_id[pending.request_id] = pending
            self._queue.append(pending)
            self._ready.notify_all()
        return pending

    def _next(self) -> _Pending | None:
        with self._ready:
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            # Long poll like Lambda; give up after a while so a closing server is not stuck.
            if not self._ready.wait_for(lambda: self._queue, timeout=600):
                return None
            pending = self._queue.pop(0)
        pending.handed_out_at = time.monotonic()
        return pending

    def _complete(self, request_id: str, succeeded: bool, body: bytes) -> None:
        pending = self._by_id.get(request_id)
        if pending is None:
            return
        result = pending.result
        result.duration_ms = (time.monotonic() - (pending.handed_out_at or time.monotonic())) * 1000
        result.succeeded = succeeded
        document = _json_or_text(body)
        if succeeded:
            result.payload = document
        elif isinstance(document, dict):
            result.error_type = document.get("errorType")
            result.error_message = document.get("errorMessage")
        else:
            result.error_type, result.error_message = "Unknown", str(document)
        pending.done.set()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return body.decode(errors="replace")


class LambdaProcess:
    """A bootstrap process attached to its own Runtime API; one warm execution environment."""

    def __init__(self, bootstrap: str, env: dict[str, str]):
        self.api = RuntimeApi()
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_FUNCTION_NAME": "entra-idc-sync",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            **env,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
        }
        self.started_at = time.monotonic()
        self.lines: list[str] = []
        self._lock = threading.Lock()
        try:
            self.process = subprocess.Popen(
                [bootstrap], env=full_env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            )
        except OSError:
            self.api.close()
            raise
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self.peak_rss_kib: int | None = None

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def invoke(self, event: Any, timeout_s: float = 30, grace_s: float = 5) -> Invocation:
        """Queues the event and waits for its answer; a process that exits first, or no answer
        within timeout_s + grace_s, is a failed Invocation (Runtime.ExitError / Runtime.Timeout)."""
        with self._lock:
            seen = len(self.lines)
        pending = self.api.submit(event, timeout_s)
        give_up_at = time.monotonic() + timeout_s + grace_s  # grace for a slow machine
        while not pending.done.wait(0.05):
            exit_code = self.process.poll()
            if exit_code is not None and not pending.done.wait(0.1):  # an answer may be in flight
                pending.result.error_type = "Runtime.ExitError"
                init_error = self.api.init_error
                reported = f"; its init error: {init_error}" if init_error else ""
                pending.result.error_message = f"the function exited without answering (exit code {exit_code}){reported}"
                break
            if time.monotonic() > give_up_at:
                pending.result.error_type = "Runtime.Timeout"
                pending.result.error_message = f"the function did not answer within {timeout_s} s (+{grace_s} s grace)"
                break
        time.sleep(0.02)  # let the reader catch the invocation's last lines
        with self._lock:
            pending.result.logs = self.lines[seen:]
        return pending.result

    @property
    def init_ms(self) -> float | None:
        """Process start to the first `next` request: Lambda's init phase."""
        if self.api.first_next_at is None:
            return None
        return (self.api.first_next_at - self.started_at) * 1000

    def _read_peak_rss(self) -> None:
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kib = int(line.split()[1])
        except OSError:
            pass

    def close(self) -> None:
        if self.process.poll() is None:
            self._read_peak_rss()
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        self.api.close()

    def __enter__(self) -> "LambdaProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m devtools.runtime_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="the bootstrap binary to run")
    parser.add_argument("--event", action="append", required=True, help="an event JSON file (repeatable)")
    parser.add_argument("--timeout", type=float, default=30, help="the function's timeout in seconds")
    parser.add_argument("--env", action="append", default=[], metavar="K=V", help="an environment variable")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    events = [json.loads(open(path).read()) for path in args.event]
    if not os.access(args.bootstrap, os.X_OK):
        print(f"{args.bootstrap} is not an executable file", file=sys.stderr)
        return 2
    with LambdaProcess(args.bootstrap, env) as function:
        results = [function.invoke(event, timeout_s=args.timeout) for event in events]
    for result in results:
        print(json.dumps({"ok": result.succeeded, "payload": result.payload, "error_type": result.error_type,
                          "error_message": result.error_message, "duration_ms": round(result.duration_ms, 1),
                          "request_id": result.request_id, "logs": result.logs}))
    if function.init_ms is None:
        print(f"the function never asked for an event (exit code {function.process.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
