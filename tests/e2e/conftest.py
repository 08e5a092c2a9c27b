"""Fixtures for end-to-end tests of the built bootstrap: moto_server, the Graph simulator, the
STS stand-in and a Runtime API per test. Every test's outputs are checked for secrets, private
keys and tokens (Graph tokens, STS tokens, client assertions)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.runtime_api import LambdaProcess  # noqa: E402
from devtools.services import GraphSimulator, Moto, StsStandIn, demo_scenario  # noqa: E402
from helpers import SECRET_KEYS  # noqa: E402

DEMO = demo_scenario()
DEMO_APP = DEMO["tenants"][0]["apps"][0]
DEMO_SECRET = {
    "tenant_id": DEMO["tenants"][0]["id"],
    "client_id": DEMO_APP["client_id"],
    "client_secret": DEMO_APP["secrets"][0]["value"],
}
#: Never to be seen in any output: every simulator access token (a JWT) carries it, as the
#: start of its signature segment.
TOKEN_MARK = "simtok-"
#: Nor any compact JWT: STS tokens and the client assertions the function signs are JWTs.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


def private_key_parts(pem: str) -> set[str]:
    """The key and each of its base64 lines: a quoted line is a leak too."""
    lines = {line.strip() for line in pem.splitlines() if len(line.strip()) >= 16 and "-----" not in line}
    return {pem.strip(), *lines}


@pytest.fixture(scope="session")
def bootstrap() -> str:
    path = Path(os.environ.get("ENTRA_IDC_SYNC_BIN", REPO / "target" / "debug" / "entra-idc-sync"))
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build` first (make test does)")
    return str(path)


class SecretsUnderTest:
    """moto plus a record of every secret value stored, for the leak check."""

    def __init__(self, moto: Moto):
        self._moto = moto
        self.values: set[str] = set()

    def put_secret(self, value, name: str | None = None) -> str:
        if isinstance(value, dict):
            for key in SECRET_KEYS["client_secret"]:
                if isinstance(value.get(key), str) and len(value[key]) >= 8:
                    self.values.add(value[key])
            for key in SECRET_KEYS["private_key"]:
                if isinstance(value.get(key), str) and value[key].strip():
                    self.values |= private_key_parts(value[key])
        return self._moto.put_secret(value, name)

    def function_env(self):
        return self._moto.function_env()


@pytest.fixture(scope="session")
def _moto_server():
    server = Moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _simulator():
    simulator = GraphSimulator()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def _sts_server():
    server = StsStandIn()
    yield server
    server.stop()


@pytest.fixture
def leak_sources() -> list:
    """Callables returning more values no output may contain (e.g. tokens issued meanwhile)."""
    return []


@pytest.fixture
def sts(_sts_server, leak_sources) -> StsStandIn:
    """The STS stand-in, its calls and tokens forgotten, refusing nothing; its tokens are
    added to the leak check."""
    _sts_server.reset()
    leak_sources.append(_sts_server.issued_tokens)
    return _sts_server


@pytest.fixture
def moto(_moto_server) -> SecretsUnderTest:
    return SecretsUnderTest(_moto_server)


@pytest.fixture
def state_table(_moto_server) -> str:
    """A fresh, empty DynamoDB state table on moto, for STATE_TABLE (function_env reaches it)."""
    return _moto_server.create_state_table()


@pytest.fixture
def sim(_simulator) -> GraphSimulator:
    _simulator.reset()
    return _simulator


@pytest.fixture
def scenario() -> dict:
    """A fresh copy of the demo scenario to change and load with sim.set_scenario."""
    return demo_scenario()


@pytest.fixture
def make_secret(moto):
    def make(raw: dict | None = None, **extra) -> str:
        return moto.put_secret(raw if raw is not None else {**DEMO_SECRET, **extra})

    return make


class Runs(list):
    """Several invocations of one warm process, with that process's whole log."""

    def __init__(self, invocations, lines):
        super().__init__(invocations)
        self.lines = lines

    def log_count(self, message: str) -> int:
        return sum(1 for line in self.lines if f'"message":"{message}"' in line)


@pytest.fixture
def invoke(bootstrap, sim, moto, make_secret, leak_sources):
    """invoke(event | [events], env=..., before_each=fn(index), timeout_s=...) runs the
    bootstrap once (one execution environment) and returns an Invocation, or Runs for a list."""
    seen_outputs: list[str] = []
    default_secret = make_secret()

    def run(events, env=None, before_each=None, timeout_s=30):
        function_env = {
            **moto.function_env(), **sim.function_env(),
            "SECRET_ID": default_secret, "APP_DISPLAY_NAME": "AWS IAM Identity Center",
            **(env or {}),
        }
        many = isinstance(events, list) and all(isinstance(e, dict) for e in events) and events
        with LambdaProcess(bootstrap, function_env) as function:
            results = []
            for index, event in enumerate(events if many else [events]):
                if before_each:
                    before_each(index)
                results.append(function.invoke(event, timeout_s=timeout_s))
            lines = list(function.lines)
        for result in results:
            seen_outputs.extend([str(result.payload), str(result.error_message)])
        seen_outputs.extend(lines)
        if not many:
            results[0].logs = lines
            return results[0]
        return Runs(results, lines)

    yield run
    forbidden = moto.values | {TOKEN_MARK}
    for source in leak_sources:
        forbidden |= set(source())
    fail_on_leaks(seen_outputs, forbidden, "the function's output")


@pytest.fixture
def leak_check(moto):
    """leak_check(*texts) records outputs of a process the test ran itself (the command line);
    at teardown none may hold a stored secret, key or token, or any JWT."""
    seen: list[str] = []
    yield lambda *texts: seen.extend(str(text) for text in texts)
    fail_on_leaks(seen, moto.values | {TOKEN_MARK}, "the command line's output")


def fail_on_leaks(outputs, forbidden: set[str], where: str) -> None:
    """Fails the test when an output holds a forbidden value or any compact JWT (masked in the message)."""
    for output in outputs:
        for value in forbidden:
            if value in output:
                masked = output.replace(value, "<LEAKED VALUE>")[:300]
                pytest.fail(f"a secret, key or token leaked into {where}: {masked}")
        if JWT.search(output):
            masked = JWT.sub("<LEAKED JWT>", output)[:300]
            pytest.fail(f"a JWT (STS token or client assertion) leaked into {where}: {masked}")


@pytest.fixture
def tracked(invoke, state_table):
    """invoke() for the provision action's change tracking: STATE_TABLE set, SYNC_ACTION=provision
    (events default to one `{"action": "provision"}`)."""
    def run(events=None, env=None, **kw):
        events = {"action": "provision"} if events is None else events
        return invoke(events, env={"STATE_TABLE": state_table, "SYNC_ACTION": "provision", **(env or {})}, **kw)
    return run
