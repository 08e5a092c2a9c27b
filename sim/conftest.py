"""Fixtures for the simulator's self-tests: one simulator per test module, the demo scenario
loaded afresh for every test."""

from __future__ import annotations

import pytest

from .testing import DEMO, Client, start_sim, stop_sim


@pytest.fixture(scope="module")
def sim_url():
    proc, base = start_sim("--max-lifetime", "120", "--exit-on-stdin-eof")
    yield base
    stop_sim(proc)


@pytest.fixture
def sim(sim_url) -> Client:
    client = Client(sim_url)
    client.scenario(DEMO)
    return client
