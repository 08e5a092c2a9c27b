"""`make bench`: cold start, warm invocations, memory, size and round trips of the release
bootstrap, through the Lambda Runtime API stand-in, against moto_server and the Graph
simulator with a fixed added latency per request. A benchmark: it reports, it never fails on
time. Results go to bench-results/latest.json (and a timestamped copy) for comparison.

    python -m devtools.bench target/release/entra-idc-sync [--repeats 5] [--warm 5] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from devtools import bench_provision
from devtools.runtime_api import LambdaProcess
from devtools.services import REPO, GraphSimulator, Moto, demo_scenario, scenario_with_jobs

RESULTS = REPO / "bench-results"
ARM64_BOOTSTRAP = REPO / "target" / "lambda" / "entra-idc-sync" / "bootstrap"


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def zipped_size(binary: Path) -> int:
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "function.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.write(binary, "bootstrap")
        return archive.stat().st_size


def requests_of(sim: GraphSimulator) -> dict:
    counts = {"token": 0, "graph": 0}
    for request in sim.requests():
        counts[request["endpoint"]] += 1
    return counts


def secret_reads(lines: list[str]) -> int:
    return sum(1 for line in lines if '"message":"read the credentials secret"' in line)


def one_environment(bootstrap: str, env: dict, sim: GraphSimulator, moto: Moto, warm: int) -> dict:
    """One execution environment: a cold invocation, then `warm` warm ones."""
    sim.set_scenario(sim.bench_scenario)
    with LambdaProcess(bootstrap, env) as function:
        moto.start_recording()
        cold = function.invoke({})
        assert cold.succeeded, f"{cold.error_type}: {cold.error_message}"
        cold_dynamodb = len(moto.dynamodb_calls())
        cold_requests = requests_of(sim)
        cold_secrets = secret_reads(function.lines)
        sim_log_size = sum(cold_requests.values())
        warm_times = []
        moto.start_recording()
        for _ in range(warm):
            result = function.invoke({})
            assert result.succeeded, f"{result.error_type}: {result.error_message}"
            warm_times.append(result.duration_ms)
        warm_dynamodb = len(moto.dynamodb_calls())
        warm_requests = requests_of(sim)
        warm_secrets = secret_reads(function.lines) - cold_secrets
        init_ms = function.init_ms
    total_warm = sum(warm_requests.values()) - sim_log_size
    return {
        "init_ms": init_ms,
        "cold_ms": cold.duration_ms,
        "warm_ms": warm_times,
        "peak_rss_kib": function.peak_rss_kib,
        "cold_requests": {**cold_requests, "secrets_manager": cold_secrets, "dynamodb": cold_dynamodb},
        "warm_requests_each": {
            "token": (warm_requests["token"] - cold_requests["token"]) / max(warm, 1),
            "graph": (total_warm - (warm_requests["token"] - cold_requests["token"])) / max(warm, 1),
            "secrets_manager": warm_secrets / max(warm, 1),
            "dynamodb": warm_dynamodb / max(warm, 1),
        },
    }


def measure(bootstrap: str, repeats: int, warm: int, latency_ms: int) -> dict:
    moto, sim = Moto(), GraphSimulator(latency_ms=latency_ms)
    try:
        scenario = demo_scenario()
        app = scenario["tenants"][0]["apps"][0]
        secret = moto.put_secret({"tenant_id": scenario["tenants"][0]["id"], "client_id": app["client_id"],
                                  "client_secret": app["secrets"][0]["value"]})
        # As deployed: the template always sets STATE_TABLE (the lease, the last trigger).
        env = {**moto.function_env(), **sim.function_env(), "SECRET_ID": secret,
               "APP_DISPLAY_NAME": "AWS IAM Identity Center", "MIN_TRIGGER_INTERVAL": "0",
               "STATE_TABLE": moto.create_state_table()}
        results = {}
        for jobs in (1, 5):
            sim.bench_scenario = scenario_with_jobs(jobs, cycle_seconds=0.0)
            runs = [one_environment(bootstrap, env, sim, moto, warm) for _ in range(repeats)]
            results[f"{jobs}_job"] = runs
        sim.bench_scenario = scenario_with_jobs(1, cycle_seconds=0.0)
        by_id = one_environment(bootstrap, {**env, "APP_DISPLAY_NAME": "",
                                            "SERVICE_PRINCIPAL_ID": scenario["service_principals"][0]["id"]}, sim, moto, 0)
        results["by_service_principal_id"] = [by_id]
        return results
    finally:
        sim.stop()
        moto.stop()


def summarize(raw: dict, bootstrap: Path, latency_ms: int) -> dict:
    one = raw["1_job"]
    five = raw["5_job"]
    summary = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "latency_ms_per_graph_request": latency_ms,
        "init_ms": spread([r["init_ms"] for r in one + five]),
        "cold_invocation_ms": spread([r["cold_ms"] for r in one]),
        "warm_invocation_ms": spread([t for r in one for t in r["warm_ms"]]),
        "cold_invocation_5_jobs_ms": spread([r["cold_ms"] for r in five]),
        "warm_invocation_5_jobs_ms": spread([t for r in five for t in r["warm_ms"]]),
        "peak_rss_mib": spread([r["peak_rss_kib"] / 1024 for r in one + five if r["peak_rss_kib"]]),
        "bootstrap_bytes": bootstrap.stat().st_size,
        "zip_bytes": zipped_size(bootstrap),
        "requests_cold": one[0]["cold_requests"],
        "requests_warm": one[0]["warm_requests_each"],
        "requests_cold_by_service_principal_id": raw["by_service_principal_id"][0]["cold_requests"],
        "requests_cold_5_jobs": five[0]["cold_requests"],
    }
    if ARM64_BOOTSTRAP.exists():
        summary["arm64_bootstrap_bytes"] = ARM64_BOOTSTRAP.stat().st_size
        summary["arm64_zip_bytes"] = zipped_size(ARM64_BOOTSTRAP)
    return summary


def print_table(summary: dict) -> None:
    def row(name, stats, unit):
        print(f"| {name} | {stats['median']:.1f} {unit} | {stats['min']:.1f} | {stats['max']:.1f} |")

    print(f"\nentra-idc-sync benchmark ({summary['when']}, +{summary['latency_ms_per_graph_request']} ms per Entra/Graph request)\n")
    print("| measure | median | min | max |\n|---|---|---|---|")
    row("init (start to first Runtime API `next`)", summary["init_ms"], "ms")
    row("cold invocation, 1 job", summary["cold_invocation_ms"], "ms")
    row("warm invocation, 1 job", summary["warm_invocation_ms"], "ms")
    row("cold invocation, 5 jobs", summary["cold_invocation_5_jobs_ms"], "ms")
    row("warm invocation, 5 jobs", summary["warm_invocation_5_jobs_ms"], "ms")
    row("peak RSS (VmHWM)", summary["peak_rss_mib"], "MiB")
    print(f"\n| size | bytes |\n|---|---|\n| bootstrap (host, stripped) | {summary['bootstrap_bytes']:,} |"
          f"\n| deployment zip (host) | {summary['zip_bytes']:,} |")
    if "arm64_bootstrap_bytes" in summary:
        print(f"| bootstrap (arm64) | {summary['arm64_bootstrap_bytes']:,} |\n| deployment zip (arm64) | {summary['arm64_zip_bytes']:,} |")
    print("\n| requests per invocation | Secrets Manager | DynamoDB | token | Graph |\n|---|---|---|---|---|")
    for name, key in (("cold, by display name", "requests_cold"), ("cold, by SERVICE_PRINCIPAL_ID", "requests_cold_by_service_principal_id"),
                      ("warm", "requests_warm"), ("cold, 5 jobs", "requests_cold_5_jobs")):
        counts = summary[key]
        print(f"| {name} | {counts['secrets_manager']:g} | {counts['dynamodb']:g} | {counts['token']:g} | {counts['graph']:g} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bootstrap", nargs="?", default=str(REPO / "target" / "release" / "entra-idc-sync"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    bootstrap = Path(args.bootstrap)
    raw = measure(str(bootstrap), args.repeats, args.warm, args.latency_ms)
    summary = summarize(raw, bootstrap, args.latency_ms)
    print_table(summary)
    raw["provision"] = bench_provision.measure(str(bootstrap), args.repeats, args.latency_ms)
    summary["provision"] = bench_provision.summarize(raw["provision"])
    bench_provision.print_table(summary["provision"], args.latency_ms)
    RESULTS.mkdir(exist_ok=True)
    document = json.dumps({"summary": summary, "raw": raw}, indent=2)
    (RESULTS / "latest.json").write_text(document)
    (RESULTS / f"{summary['when'].replace(':', '')}.json").write_text(document)
    print(f"\nwritten: {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
