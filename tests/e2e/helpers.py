"""Helpers shared by the end-to-end test modules: the demo scenario's ids, the event files, and
views of the simulator's request log. Test modules import from here, never from each other."""

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
JOB_ID = "AWSSCIM.4f9a2c1b8e7d4f60a1b2c3d4e5f60718.8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"
SP_ID = "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a"
TENANT = "8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"
CLIENT = "5b0e6c1d-2f3a-4b8c-9d7e-1a2b3c4d5e6f"


def event(name):
    return json.loads((EVENTS / name).read_text())


def graph_calls(sim, method=None, contains=""):
    return [
        r for r in sim.requests()
        if r["endpoint"] == "graph"
        and (method is None or r["method"] == method)
        and contains in r["decoded_path"]
    ]


def token_calls(sim):
    return [r for r in sim.requests() if r["endpoint"] == "token"]


def only_job(report):
    assert len(report["jobs"]) == 1, report
    return report["jobs"][0]
