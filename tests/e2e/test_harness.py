"""The test harness itself: the Runtime API stand-in (driven by tests/e2e/fake_bootstrap.py, a
tiny Python runtime client), the watchdog, moto_server and the simulator fixture. These need
no Rust build, so a harness fault shows up here, not as a puzzling end-to-end failure."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from devtools.runtime_api import FUNCTION_ARN, PREFIX, LambdaProcess, RuntimeApi
from devtools.services import REGION, REPO

FAKE = Path(__file__).with_name("fake_bootstrap.py")


@pytest.fixture(scope="module")
def fake_bootstrap(tmp_path_factory) -> str:
    """An executable `bootstrap`, as Lambda expects one, running fake_bootstrap.py."""
    launcher = tmp_path_factory.mktemp("fake") / "bootstrap"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    return str(launcher)


def test_a_successful_invocation_returns_the_response_and_lambdas_headers(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        result = function.invoke({"hello": "world"})
    answer = result.ok()
    assert answer["echo"] == {"hello": "world"}
    headers = answer["headers"]
    assert headers["Lambda-Runtime-Aws-Request-Id"] == result.request_id
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == FUNCTION_ARN
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert result.error_type is None and 0 <= result.duration_ms < 5000


def test_the_deadline_header_is_now_plus_the_timeout_in_epoch_ms(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        before_ms = time.time() * 1000
        answer = function.invoke({}, timeout_s=7).ok()
        after_ms = time.time() * 1000
    deadline_ms = int(answer["headers"]["Lambda-Runtime-Deadline-Ms"])
    assert before_ms + 7000 - 50 <= deadline_ms <= after_ms + 7000 + 50


def test_a_function_error_reports_its_type_and_message(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        result = function.invoke({"fail": True})
        still_warm = function.invoke({"after": "error"})
    assert not result.succeeded and result.payload is None
    assert (result.error_type, result.error_message) == ("FakeError", "asked to fail")
    with pytest.raises(AssertionError, match="FakeError: asked to fail"):
        result.ok()
    assert still_warm.ok()["echo"] == {"after": "error"}, "an error does not end the environment"


def test_invocations_in_order_reach_one_warm_process_each_with_its_own_logs(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        first = function.invoke({"log": "first"})
        second = function.invoke({"log": "second"})
        all_lines = list(function.lines)
    assert first.ok()["pid"] == second.ok()["pid"]
    assert first.request_id != second.request_id
    assert [doc["message"] for doc in first.json_logs()] == ["first"]
    assert [doc["message"] for doc in second.json_logs()] == ["second"]
    assert first.json_logs()[0]["requestId"] == first.request_id
    assert len(all_lines) == 2
    assert function.init_ms is not None and function.init_ms > 0


def test_a_process_that_exits_without_answering_is_reported_at_once(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        started = time.monotonic()
        result = function.invoke({"exit": 3}, timeout_s=30)
        waited = time.monotonic() - started
    assert not result.succeeded
    assert result.error_type == "Runtime.ExitError"
    assert "exit code 3" in result.error_message
    assert waited < 5, "a dead process is noticed, not waited out"


def test_an_init_error_is_recorded_and_the_invocation_fails(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {"FAKE_INIT_ERROR": "1"}) as function:
        result = function.invoke({})
    assert result.error_type == "Runtime.ExitError" and "exit code 1" in result.error_message
    assert "FakeInitError" in result.error_message, "the init error is part of the failure"
    assert function.api.init_error["errorType"] == "FakeInitError"


def test_no_answer_within_the_timeout_is_reported_as_a_timeout(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        started = time.monotonic()
        result = function.invoke({"sleep_s": 10}, timeout_s=0.3, grace_s=0.2)
        waited = time.monotonic() - started
    assert result.error_type == "Runtime.Timeout" and "within 0.3 s" in result.error_message
    assert 0.5 <= waited < 3


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "devtools.runtime_api", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_the_command_runs_each_event_in_order_and_prints_each_outcome(fake_bootstrap, tmp_path):
    (tmp_path / "ok.json").write_text('{"n": 1}')
    (tmp_path / "fail.json").write_text('{"fail": true}')
    done = run_cli("--bootstrap", fake_bootstrap, "--event", str(tmp_path / "ok.json"),
                   "--event", str(tmp_path / "fail.json"), "--env", "FAKE_MARK=a=b", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["ok"] and first["payload"]["echo"] == {"n": 1}
    assert first["payload"]["env"]["FAKE_MARK"] == "a=b"
    assert (second["ok"], second["error_type"]) == (False, "FakeError")


def test_the_command_fails_when_the_function_does_not_start(fake_bootstrap, tmp_path):
    (tmp_path / "e.json").write_text("{}")
    done = run_cli("--bootstrap", fake_bootstrap, "--event", str(tmp_path / "e.json"), "--env", "FAKE_INIT_ERROR=1")
    assert done.returncode == 1
    assert "never asked for an event" in done.stderr
    missing = run_cli("--bootstrap", str(tmp_path / "nope"), "--event", str(tmp_path / "e.json"))
    assert missing.returncode == 2 and "not an executable" in missing.stderr


def test_the_function_gets_lambdas_environment_and_the_callers_overrides(fake_bootstrap):
    env = {"FAKE_MARK": "from-the-test", "AWS_LAMBDA_LOG_FORMAT": "Text",
           "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}
    with LambdaProcess(fake_bootstrap, env) as function:
        seen = function.invoke({}).ok()["env"]
        address = function.api.address
    assert seen == {
        "AWS_LAMBDA_FUNCTION_NAME": "entra-idc-sync",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "Text",
        "AWS_LAMBDA_RUNTIME_API": address,  # never the caller's: it must reach this stand-in
        "FAKE_MARK": "from-the-test",
    }
    assert address.startswith("127.0.0.1:")


def test_closing_kills_the_process_and_records_its_peak_rss(fake_bootstrap):
    with LambdaProcess(fake_bootstrap, {}) as function:
        function.invoke({}).ok()
    assert function.process.poll() is not None
    assert function.peak_rss_kib is not None and function.peak_rss_kib > 1000


def test_the_runtime_api_answers_404_to_unknown_paths_on_loopback_only():
    api = RuntimeApi()
    try:
        host, port = api.address.split(":")
        assert host == "127.0.0.1"
        for path, data in ((f"{PREFIX}/unknown", None), (f"{PREFIX}/invocation/x/other", b"{}")):
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(f"http://{api.address}{path}", data=data, timeout=5)
            assert answer.value.code == 404
    finally:
        api.close()


def test_the_watchdog_kills_its_child_when_the_parent_goes_away():
    child_code = "import time; print('up', flush=True); time.sleep(60)"
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "devtools.watchdog", "--max-lifetime", "60", "--", sys.executable, "-c", child_code],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert watchdog.stdout.readline().strip() == "up"
        watchdog.stdin.close()  # what happens when the parent dies, even by SIGKILL
        assert watchdog.wait(timeout=10) == 0
    finally:
        if watchdog.poll() is None:
            watchdog.kill()


def test_moto_round_trip_with_a_plain_boto3_client(_moto_server, moto):
    name = moto.put_secret({"tenant_id": "t", "client_id": "c", "client_secret": "harness-secret"})
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=_moto_server.endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    stored = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    assert stored["client_secret"] == "harness-secret"
    assert "harness-secret" in moto.values, "the leak check knows the stored secret"
    moto.put_secret("not json", name=name)
    assert client.get_secret_value(SecretId=name)["SecretString"] == "not json"
    assert _moto_server.endpoint.startswith("http://127.0.0.1:")


def test_each_test_gets_the_simulator_with_no_requests_and_no_faults(sim):
    assert sim.requests() == []
    sim.add_faults([{"path_contains": "/servicePrincipals", "status": 503}])
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(sim.url + "/v1.0/servicePrincipals", timeout=5)
    assert answer.value.code == 503
    assert [r["status"] for r in sim.requests()] == [503]
    sim.reset()  # what the `sim` fixture does before every test
    assert sim.requests() == [] and sim.state()["faults"] == []


def test_the_leak_check_knows_private_keys_line_by_line_and_any_jwt(moto):
    from conftest import JWT
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
    moto.put_secret({"tenant_id": "t", "client_id": "c", "certificate": "cert", "privateKey": key})
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" in moto.values, "one quoted line is a leak"
    assert key.strip() in moto.values
    assert not any("-----" in value and "\n" not in value for value in moto.values)
    sts_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcm46YXdzOmlhbTo6MTIzIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    assert JWT.search(f"log line with {sts_token} inside")
    assert not JWT.search("simtok-abc and a plain sentence. With dots.")


def test_the_secret_key_list_is_the_functions_own():
    """helpers.SECRET_KEYS (the leak check's and the tests' list) is read from src/secret.rs, so
    a spelling the function learns is one the leak check watches."""
    from helpers import SECRET_KEYS

    source = (REPO / "src" / "secret.rs").read_text()
    block = re.search(r"pub const SECRET_KEYS: SecretKeys = SecretKeys \{(.*?)\n\};", source, re.S)
    assert block, "src/secret.rs no longer defines `pub const SECRET_KEYS: SecretKeys`"
    in_rust = {field: tuple(re.findall(r'"([^"]+)"', keys))
               for field, keys in re.findall(r"(\w+): &\[([^\]]*)\]", block.group(1))}
    assert in_rust == SECRET_KEYS
