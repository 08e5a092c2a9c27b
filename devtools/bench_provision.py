"""The provision benchmarks of issue 10, run by `make bench` (devtools/bench.py) or alone:

- 25 changed members of one assigned group, warm: at most 5 provision-on-demand calls and at
  most 10 Graph requests in all;
- no changes, warm: at most 3 Graph requests, no provision-on-demand call, at most 2 DynamoDB
  calls.

Graph requests are counted from the simulator's request log, DynamoDB calls from moto_server's
recorder (`Moto.start_recording` / `dynamodb_calls`). A benchmark: it reports the counts against the goals and the p50 times; it does not
fail on time.

    python -m devtools.bench_provision target/release/entra-idc-sync [--repeats 5] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from devtools.directory import Directory, provision_scenario
from devtools.runtime_api import LambdaProcess
from devtools.services import REPO, GraphSimulator, Moto

PROVISION = {"action": "provision"}
GROUP = 1
CHANGED = list(range(101, 126))  # 25 users, added and removed in turn
#: Microsoft's window: a warm run right after another must not wait for the pacing.
POD_WINDOW_S = 10.5


def graph_requests(sim: GraphSimulator) -> list[dict]:
    return [r for r in sim.requests() if r["endpoint"] == "graph"]


def measured_run(function: LambdaProcess, sim: GraphSimulator, moto: Moto) -> dict:
    sim._call("DELETE", "/_sim/requests")
    moto.start_recording()
    result = function.invoke(PROVISION, timeout_s=60)
    calls = moto.dynamodb_calls()
    assert result.succeeded, f"{result.error_type}: {result.error_message}"
    graph = graph_requests(sim)
    pod = [r for r in graph if r["decoded_path"].endswith("/provisionOnDemand")]
    return {"ms": result.duration_ms, "result": result.payload["result"], "graph": len(graph),
            "pod": len(pod), "dynamodb": len(calls), "dynamodb_calls": calls}


def scenario_runs(bootstrap: str, env: dict, sim: GraphSimulator, moto: Moto, repeats: int) -> dict:
    """One warm execution environment: a baseline, a warm-up, then `repeats` of each scenario."""
    directory = Directory(sim)
    changed, unchanged = [], []
    with LambdaProcess(bootstrap, env) as function:
        assert function.invoke(PROVISION, timeout_s=60).ok()["result"] == "baseline"
        assert function.invoke(PROVISION, timeout_s=60).ok()["result"] == "unchanged"
        for index in range(repeats):
            if index % 2 == 0:
                directory.add_members(GROUP, *CHANGED)
            else:
                directory.remove_members(GROUP, *CHANGED)
            changed.append(measured_run(function, sim, moto))
            unchanged.append(measured_run(function, sim, moto))
            time.sleep(POD_WINDOW_S)  # the next changed run starts with a free pacing window
    return {"changed_25_members": changed, "no_changes": unchanged}


def measure(bootstrap: str, repeats: int, latency_ms: int) -> dict:
    moto, sim = Moto(), GraphSimulator(latency_ms=latency_ms)
    try:
        scenario = provision_scenario(users=130, groups={GROUP: [1, 2, 3]})
        sim.set_scenario(scenario)
        app = scenario["tenants"][0]["apps"][0]
        secret = moto.put_secret({"tenant_id": scenario["tenants"][0]["id"], "client_id": app["client_id"],
                                  "client_secret": app["secrets"][0]["value"]})
        env = {**moto.function_env(), **sim.function_env(), "STATE_TABLE": moto.create_state_table(),
               "SECRET_ID": secret, "APP_DISPLAY_NAME": "AWS IAM Identity Center", "SYNC_ACTION": "provision"}
        return scenario_runs(bootstrap, env, sim, moto, repeats)
    finally:
        sim.stop()
        moto.stop()


def summarize(raw: dict) -> dict:
    def worst(runs: list[dict], key: str) -> int:
        return max(run[key] for run in runs)

    changed, unchanged = raw["changed_25_members"], raw["no_changes"]
    return {
        "changed_25_members": {
            "p50_ms": statistics.median(run["ms"] for run in changed),
            "max_pod_calls": worst(changed, "pod"), "goal_pod_calls": 5,
            "max_graph_requests": worst(changed, "graph"), "goal_graph_requests": 10,
            "max_dynamodb_calls": worst(changed, "dynamodb"),
        },
        "no_changes": {
            "p50_ms": statistics.median(run["ms"] for run in unchanged),
            "max_pod_calls": worst(unchanged, "pod"), "goal_pod_calls": 0,
            "max_graph_requests": worst(unchanged, "graph"), "goal_graph_requests": 3,
            "max_dynamodb_calls": worst(unchanged, "dynamodb"), "goal_dynamodb_calls": 2,
        },
    }


def print_table(summary: dict, latency_ms: int) -> None:
    print(f"\nprovision (warm, +{latency_ms} ms per Graph request)\n")
    print("| scenario | p50 | POD calls (goal) | Graph requests (goal) | DynamoDB calls (goal) |")
    print("|---|---|---|---|---|")
    for name, row in summary.items():
        print(f"| {name} | {row['p50_ms']:.0f} ms | {row['max_pod_calls']} (≤{row['goal_pod_calls']}) "
              f"| {row['max_graph_requests']} (≤{row['goal_graph_requests']}) "
              f"| {row['max_dynamodb_calls']} ({'≤' + str(row['goal_dynamodb_calls']) if 'goal_dynamodb_calls' in row else '-'}) |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bootstrap", nargs="?", default=str(REPO / "target" / "release" / "entra-idc-sync"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    raw = measure(args.bootstrap, args.repeats, args.latency_ms)
    summary = summarize(raw)
    print_table(summary, args.latency_ms)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
