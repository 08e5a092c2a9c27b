"""The process lifecycle the stand-ins in sim/ share (`python -m sim`, `python -m sim.sts`):
serve until a signal, stdin's EOF (the parent that holds the pipe has gone) or the maximum
lifetime, whichever comes first, so a test server never outlives its test run."""

from __future__ import annotations

import os
import signal
import sys
import threading
from http.server import HTTPServer


def watch_stdin(stop: threading.Event) -> None:
    """Sets `stop` once stdin reaches EOF: the parent holding our stdin pipe has gone."""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def serve_until_stopped(server: HTTPServer, max_lifetime: float, exit_on_stdin_eof: bool, name: str) -> None:
    """Serves on a thread until SIGTERM/SIGINT, stdin's EOF (when asked) or `max_lifetime`
    seconds; then shuts the server down and closes its socket."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True, name="stdin-watch").start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="serve").start()
    if not stop.wait(max_lifetime):
        print(f"{name}: max lifetime of {max_lifetime:g}s reached, exiting", file=sys.stderr)
    server.shutdown()
    server.server_close()
