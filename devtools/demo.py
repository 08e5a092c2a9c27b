"""`make demo`: the function's main job on one screen, against local stand-ins.

Starts moto_server and the Graph simulator on free loopback ports, stores the demo secret, runs
the bootstrap through the Lambda Runtime API with events/scheduled.json, prints the function's
log lines, its report and the calls the simulator saw, then stops everything. Exits 1 when the
invocation failed, 2 when the binary or the event is missing.

    python -m devtools.demo [BOOTSTRAP]   # default: $ENTRA_IDC_SYNC_BIN, else target/release/...
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from devtools.runtime_api import LambdaProcess
from devtools.services import REPO, GraphSimulator, Moto, demo_scenario

EVENT = REPO / "events" / "scheduled.json"
LOG_KEYS = ("level", "message")
#: Left out of the compact view so a line fits the screen; the raw JSON line keeps them.
HIDDEN_KEYS = ("timestamp", "span", "client_request_id")


def compact(line: str) -> str:
    """A JSON log line as `LEVEL message key=value ...`, the span and timestamp left out."""
    try:
        document = json.loads(line)
    except ValueError:
        return line
    if "_aws" in document:
        metrics = {k: v for k, v in document.items() if k not in ("_aws", "FunctionName", "JobId", "ServicePrincipalId", "level", "timestamp")}
        return f"METRICS {document['_aws']['CloudWatchMetrics'][0]['Namespace']} {metrics}"
    fields = " ".join(f"{k}={v}" for k, v in document.items()
                      if k not in (*LOG_KEYS, *HIDDEN_KEYS) and v not in ("", None))
    return f"{document.get('level', ''):5} {document.get('message', '')}  {fields}"


def main(bootstrap: str) -> int:
    if not Path(bootstrap).is_file():
        print(f"{bootstrap} is missing: `make demo` builds it (cargo build --release)", file=sys.stderr)
        return 2
    if not EVENT.is_file():
        print(f"{EVENT} is missing", file=sys.stderr)
        return 2
    scenario = demo_scenario()
    app = scenario["tenants"][0]["apps"][0]
    moto, sim = Moto(), GraphSimulator()
    try:
        secret_name = moto.put_secret({
            "tenant_id": scenario["tenants"][0]["id"], "client_id": app["client_id"],
            "client_secret": app["secrets"][0]["value"], "app_display_name": "AWS IAM Identity Center",
        })
        print(f"== moto_server (Secrets Manager) at {moto.endpoint}, secret {secret_name}")
        print(f"== Entra ID + Graph simulator at {sim.url}")
        env = {**moto.function_env(), **sim.function_env(), "SECRET_ID": secret_name}
        print(f"== invoking {bootstrap} with {EVENT.relative_to(REPO)}\n")
        with LambdaProcess(bootstrap, env) as function:
            result = function.invoke(json.loads(EVENT.read_text()))
        print("-- the function's log (JSON lines, shown compact)")
        for line in result.logs:
            print("  " + compact(line))
        print("\n-- what Entra ID and Graph saw")
        for call in sim.requests():
            print(f"  {call['method']:4} {call['decoded_path']} -> {call['status']}")
        if not result.succeeded:
            print(f"\n-- the invocation FAILED: {result.error_type}: {result.error_message}")
            return 1
        print("\n-- the report (the invocation's result)")
        print(json.dumps(result.payload, indent=2))
        print(f"\n== {result.payload['summary']}")
        return 0
    finally:
        sim.stop()
        moto.stop()


if __name__ == "__main__":
    default = os.environ.get("ENTRA_IDC_SYNC_BIN", str(REPO / "target" / "release" / "entra-idc-sync"))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default))
