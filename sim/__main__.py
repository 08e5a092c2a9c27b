"""`python -m sim`: the command line and the process lifecycle."""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import sys

from .default_scenario import DEFAULT_SCENARIO
from .lifecycle import serve_until_stopped
from .scenario import ScenarioError
from .server import SimServer
from .simulator import Simulator


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim",
                                     description="Entra ID + Microsoft Graph simulator (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for a free one (default 0)")
    parser.add_argument("--scenario", help="scenario JSON file (default: the built-in demo scenario)")
    parser.add_argument("--latency-ms", type=int, default=0, help="sleep added to every non-control request")
    parser.add_argument("--max-lifetime", type=float, default=900.0, help="exit after this many seconds (default 900)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (the parent died)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.max_lifetime <= 0 or args.latency_ms < 0 or not 0 <= args.port <= 65535:
        parser.error("--max-lifetime must be > 0, --latency-ms >= 0 and --port in 0..65535")
    return args


def loopback_host(host: str) -> str | None:
    """The IPv4 loopback address to bind, or None: the simulator never listens beyond the host."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if address.version == 4 and address.is_loopback else None


def load_scenario_file(path: str | None) -> dict:
    if path is None:
        return copy.deepcopy(DEFAULT_SCENARIO)
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = loopback_host(args.host)
    if host is None:
        print(f"graph_sim: refusing to bind {args.host!r}: only IPv4 loopback addresses are allowed", file=sys.stderr)
        return 2
    try:
        sim = Simulator(load_scenario_file(args.scenario), args.latency_ms, args.verbose)
    except (OSError, ValueError, ScenarioError) as e:
        print(f"graph_sim: cannot load scenario {args.scenario}: {e}", file=sys.stderr)
        return 2
    try:
        server = SimServer((host, args.port), sim)
    except OSError as e:
        print(f"graph_sim: cannot listen on {host}:{args.port}: {e}", file=sys.stderr)
        return 2
    sim.base_url = f"http://{host}:{server.server_address[1]}"
    print(f"LISTENING {sim.base_url}", flush=True)
    serve_until_stopped(server, args.max_lifetime, args.exit_on_stdin_eof, "graph_sim")
    return 0


if __name__ == "__main__":
    sys.exit(main())
