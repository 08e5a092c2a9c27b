"""Self-tests of the route registry (in process): how patterns bind, which route wins, 405s."""

from __future__ import annotations

from sim import routes
from sim.routes import KeyRef, bind, compile_pattern


def segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def test_literals_match_case_insensitively_and_params_bind_one_segment():
    segs = compile_pattern("/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}")
    shouting = segments("/V1.0/SERVICEPRINCIPALS/abc/Synchronization/jobs/A.B.C")
    assert bind(segs, shouting) == {"sp": "abc", "job": "A.B.C"}
    assert bind(segs, segments("/v1.0/servicePrincipals/abc/synchronization/jobs")) is None
    assert bind(segs, segments("/v1.0/servicePrincipals/abc/synchronization/jobs/x/y")) is None


def test_alternate_key_form_binds_a_keyref_in_one_segment():
    segs = compile_pattern("/v1.0/servicePrincipals/{sp}/synchronization/jobs")
    params = bind(segs, ["v1.0", "servicePrincipals(appId='O''Brien')", "synchronization", "jobs"])
    assert params == {"sp": KeyRef("appId", "O'Brien")}
    assert bind(compile_pattern("/v1.0/applications/{app}"), ["v1.0", "servicePrincipals(appId='x')"]) is None


def test_choices_bind_the_word_as_written_in_the_pattern():
    segs = compile_pattern("/jobs/{job}/{action:restart|start|pause}")
    assert bind(segs, ["jobs", "j", "RESTART"]) == {"job": "j", "action": "restart"}
    assert bind(segs, ["jobs", "j", "schema"]) is None


def test_the_most_specific_route_wins_and_other_methods_are_reported():
    saved = list(routes.ROUTES)
    try:
        routes.ROUTES[:] = []
        routes.add("GET", "/t/users/{user}", lambda *a: None, name="by_id")
        routes.add("GET", "/t/users/delta", lambda *a: None, name="delta")
        routes.add("PATCH", "/t/users/{user}", lambda *a: None, name="patch")
        assert routes.resolve("GET", ["t", "users", "delta"]).route.name == "delta"
        assert routes.resolve("GET", ["t", "users", "42"]).route.name == "by_id"
        refused = routes.resolve("DELETE", ["t", "users", "42"])
        assert refused.route is None and refused.allowed == ["GET", "PATCH"]
        assert routes.resolve("GET", ["t", "groups"]).allowed == []
    finally:
        routes.ROUTES[:] = saved
