"""The operator command line, run as a process: the same binary without AWS_LAMBDA_RUNTIME_API,
the same environment configuration, against moto_server and the simulator. Exit codes: 0 success,
1 the action failed, 2 a usage or configuration error."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from devtools.directory import group_id, provision_scenario, upn, user_id
from helpers import JOB_ID, graph_calls

ALL_ROLES = ["Synchronization.ReadWrite.All", "Application.Read.All", "AuditLog.Read.All"]


@pytest.fixture
def cli_env(sim, moto, make_secret):
    """cli_env(**overrides): the command line's environment, outside Lambda (None unsets)."""
    secret_id = make_secret()

    def env(**overrides):
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
        full = {**base, **moto.function_env(), **sim.function_env(), "SECRET_ID": secret_id,
                "APP_DISPLAY_NAME": "AWS IAM Identity Center", **overrides}
        return {k: v for k, v in full.items() if v is not None}

    env.secret_id = secret_id
    return env


@pytest.fixture
def cli(bootstrap, cli_env, leak_check):
    """cli(*args, env=...) runs `entra-idc-sync args...` and returns the CompletedProcess."""

    def run(*args, env=None, timeout=60):
        done = subprocess.run([bootstrap, *args], env=cli_env(**(env or {})), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        leak_check(done.stdout, done.stderr)
        return done

    run.secret_id = cli_env.secret_id
    return run


def healthy(sim, scenario):
    scenario["tenants"][0]["apps"][0]["roles"] = list(ALL_ROLES)
    sim.set_scenario(scenario)


def test_check_prints_one_marked_line_per_check_and_exits_0(sim, scenario, cli):
    healthy(sim, scenario)
    done = cli("check")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("check: 7 checks: 7 ok")
    assert len(lines) == 8, done.stdout
    for line, name in zip(lines[1:], ["credentials", "permissions", "clientSecretExpiry", "servicePrincipal",
                                      "jobs", "scimConnection", "provisioningErrors"]):
        assert line.startswith(f"✓ {name}"), line
    assert "fix:" not in done.stdout


def test_check_json_prints_the_report(sim, scenario, cli):
    healthy(sim, scenario)
    done = cli("check", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["action"] == "check"
    assert {c["name"] for c in report["checks"]} >= {"credentials", "scimConnection"}
    assert all(c["status"] == "ok" for c in report["checks"])


def test_a_failed_check_exits_1_with_the_fix_in_the_table_and_the_error_on_stderr(sim, scenario, cli):
    scenario["tenants"][0]["apps"][0]["roles"] = list(ALL_ROLES)
    scenario["service_principals"][0]["jobs"][0]["scim_token"] = "expired"
    sim.set_scenario(scenario)
    done = cli("check")
    assert done.returncode == 1
    assert done.stderr.startswith("CheckFailed: ")
    failed = [line for line in done.stdout.splitlines() if line.startswith("✗")]
    assert len(failed) == 1 and "scimConnection" in failed[0]
    assert "    fix: generate a new access token in IAM Identity Center" in done.stdout
    as_json = json.loads(cli("check", "--json").stdout)
    assert as_json["errorType"] == "CheckFailed"
    assert [c["status"] for c in as_json["checks"] if c["name"] == "scimConnection"] == ["failed"]


def test_status_prints_each_job_and_json_prints_the_report(sim, cli):
    done = cli("status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith(f"✓ {JOB_ID}  statusRead")
    report = json.loads(cli("status", "--json").stdout)
    assert report["jobs"][0]["jobId"] == JOB_ID
    assert graph_calls(sim, "POST") == []


def test_restart_dry_run_changes_nothing(sim, cli):
    done = cli("restart", "--dry-run", "--reset-scope", "Watermark")
    assert done.returncode == 0, done.stderr
    assert "would be triggered (dry run)" in done.stdout
    assert graph_calls(sim, "POST") == []


def test_restart_and_start_trigger_the_job(sim, cli):
    assert cli("restart", "--force", "--job", JOB_ID).returncode == 0
    assert len(graph_calls(sim, "POST", "/restart")) == 1
    # start is for paused or quarantined jobs; --force overrides that guard.
    assert cli("start", "--force", "--app-display-name", "AWS IAM Identity Center").returncode == 0
    assert len(graph_calls(sim, "POST", "/start")) == 1


def test_restart_wait_reports_the_finished_cycle(sim, cli):
    done = cli("restart", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobs"][0]["cycle"]["state"] == "finished"


def test_provision_sends_the_named_users_and_groups(sim, cli):
    sim.set_scenario(provision_scenario(users=3, groups={1: [3]}))
    done = cli("provision", "--user", upn(1), "--user", user_id(2), "--group", "AWS Admins", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["action"] == "provision"
    sent = [r["json_body"]["parameters"][0]["subjects"][0]
            for r in graph_calls(sim, "POST", "/provisionOnDemand")]
    assert [(s["objectTypeName"], s["objectId"]) for s in sent] == [
        ("User", user_id(1)), ("User", user_id(2)), ("Group", group_id(1))]
    table = cli("provision", "--user", upn(1))
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("provision: ")
    assert f"✓ user {upn(1)} ({user_id(1)})" in table.stdout


def test_an_action_failure_exits_1_with_error_type_and_message_on_stderr(sim, cli):
    done = cli("status", "--service-principal-id", "0d1c2b3a-4f5e-6789-abcd-ef0123456789")
    assert done.returncode == 1
    assert done.stderr.startswith("ServicePrincipalNotFound: ")
    assert "SERVICE_PRINCIPAL_ID" in done.stderr


@pytest.mark.parametrize("args, expected", [
    ([], "no action"),
    (["reboot"], "unknown action \"reboot\""),
    (["check", "--frobnicate"], "--frobnicate"),
    (["restart", "--reset-scope"], "--reset-scope"),
])
def test_usage_errors_exit_2(cli, args, expected):
    done = cli(*args)
    assert done.returncode == 2
    assert expected in done.stderr and "--help" in done.stderr
    assert done.stdout == ""


def test_configuration_errors_exit_2(cli):
    done = cli("status", env={"SECRET_ID": None})
    assert done.returncode == 2
    assert done.stderr.startswith("ConfigurationError: ") and "SECRET_ID" in done.stderr
    bad = cli("restart", "--reset-scope", "Everything")
    assert bad.returncode == 2 and bad.stderr.startswith("InvalidRequest: ")


def test_secret_id_flag_replaces_the_environment(cli):
    done = cli("status", "--secret-id", cli.secret_id, env={"SECRET_ID": "entra-idc-sync/does-not-exist"})
    assert done.returncode == 0, done.stderr


def test_help_lists_the_options(cli):
    done = cli("--help")
    assert done.returncode == 0
    for option in ("--json", "--dry-run", "--wait", "--user", "--secret-id", "Exit codes"):
        assert option in done.stdout


def test_wait_shows_progress_on_a_terminal(sim, scenario, cli_env, bootstrap):
    """stderr on a pseudo-terminal gets a seconds counter while the cycle runs; a pipe does not."""
    import pty

    scenario["service_principals"][0]["jobs"][0]["cycle_seconds"] = 2.5
    sim.set_scenario(scenario)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([bootstrap, "restart", "--wait", "--force"], env=cli_env(),
                              stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL,
                              text=True, timeout=60)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        progress = b"".join(chunks).decode(errors="replace")
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0
    assert "waiting for the provisioning cycle to finish... 1s" in progress, progress
    assert "waiting" not in done.stdout
