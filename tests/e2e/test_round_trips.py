"""Request counts per invocation: deterministic, so asserted (times are left to `make bench`).
Cold: secret, token, service principal, jobs + the trigger (one less with SERVICE_PRINCIPAL_ID).
Warm: no secret, no token, no lookup: the jobs read + the trigger."""

from devtools.services import scenario_with_jobs
from helpers import SP_ID


def quick_cycles(scenario, jobs=1):
    """Cycles that end at once, so a warm restart is not refused as 'in progress'."""
    return scenario_with_jobs(jobs, scenario, cycle_seconds=0.0)


def calls(sim):
    return [(r["endpoint"], r["method"], r["decoded_path"].rsplit("/", 1)[-1]) for r in sim.requests()]


NO_GUARD = {"MIN_TRIGGER_INTERVAL": "0"}


def test_cold_and_warm_restart_round_trips(sim, scenario, invoke):
    sim.set_scenario(quick_cycles(scenario))
    seen = []
    runs = invoke([{}, {}], env=NO_GUARD, before_each=lambda i: i and seen.append(calls(sim)))
    assert all(r.succeeded for r in runs), [r.error_message for r in runs]
    cold = seen[0]
    warm = calls(sim)[len(cold):]
    assert [c[:2] for c in cold] == [("token", "POST"), ("graph", "GET"), ("graph", "GET"), ("graph", "POST")]
    assert [c[:2] for c in warm] == [("graph", "GET"), ("graph", "POST")]
    assert cold[-1][2] == warm[-1][2] == "restart"
    assert runs.log_count("read the credentials secret") == 1


def test_service_principal_id_saves_the_lookup(sim, scenario, invoke):
    sim.set_scenario(quick_cycles(scenario))
    invoke({}, env={**NO_GUARD, "SERVICE_PRINCIPAL_ID": SP_ID}).ok()
    assert [c[:2] for c in calls(sim)] == [("token", "POST"), ("graph", "GET"), ("graph", "POST")]


def test_five_jobs_are_all_triggered_after_one_list(sim, scenario, invoke):
    sim.set_scenario(quick_cycles(scenario, jobs=5))
    report = invoke({}, env=NO_GUARD).ok()
    assert [j["result"] for j in report["jobs"]] == ["triggered"] * 5
    graph = [c for c in calls(sim) if c[0] == "graph"]
    assert sum(1 for c in graph if c[1] == "GET" and c[2] == "jobs") == 1
    assert sum(1 for c in graph if c[1] == "POST") == 5
