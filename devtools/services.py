"""Local stand-ins for the function's peers, on free loopback ports: moto_server for Secrets
Manager and DynamoDB, the project's Graph simulator and its STS stand-in (GetWebIdentityToken,
which moto lacks). All stop with the process that started them."""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = REPO / "sim" / "scenarios" / "demo.json"
REGION = "us-east-1"
AWS_TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

_children: list[subprocess.Popen] = []


@atexit.register
def _stop_children() -> None:
    """Closing stdin lets a watchdog stop its server first; whatever remains is killed."""
    for child in _children:
        if child.poll() is None and child.stdin:
            child.stdin.close()
    for child in _children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()


def _spawn(command: list[str], **kwargs) -> subprocess.Popen:
    child = subprocess.Popen(command, **kwargs)
    _children.append(child)
    return child


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_scenario() -> dict:
    return json.loads(DEMO_SCENARIO.read_text())


def scenario_with_jobs(count: int, scenario: dict | None = None, **job_fields) -> dict:
    """The scenario (default: the demo) with its IAM Identity Center app holding `count`
    copies of its job, each with its own id and `job_fields` applied."""
    scenario = copy.deepcopy(scenario or demo_scenario())
    sp = scenario["service_principals"][0]
    tenant = scenario["tenants"][0]["id"]
    base = {**sp["jobs"][0], **job_fields}
    sp["jobs"] = [dict(copy.deepcopy(base), id=f"AWSSCIM.{i:032x}.{tenant}") for i in range(count)]
    return scenario


class Moto:
    """moto_server answering the Secrets Manager and DynamoDB APIs on 127.0.0.1."""

    def __init__(self, enforce_auth: bool = False) -> None:
        """`enforce_auth`: moto checks credentials and IAM policies from the first request, so
        the test credentials are refused (access denied)."""
        executable = Path(sys.executable).with_name("moto_server")
        command = str(executable) if executable.exists() else shutil.which("moto_server")
        if command is None:
            raise RuntimeError("moto_server is missing: pip install -r requirements-dev.txt")
        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        # Under the watchdog: moto_server dies with us even if we are killed outright.
        watched = [sys.executable, "-m", "devtools.watchdog", "--max-lifetime", "3600", "--",
                   command, "-H", "127.0.0.1", "-p", str(port)]
        # moto's request recorder (off until start_recording) writes here, not into the repo.
        self._recording = Path(tempfile.mkdtemp(prefix="moto-")) / "recording"
        env = {**os.environ, "MOTO_RECORDER_FILEPATH": str(self._recording),
               **({"INITIAL_NO_AUTH_ACTION_COUNT": "0"} if enforce_auth else {})}
        self.process = _spawn(watched, cwd=REPO, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_up()
        import boto3  # installed with moto

        self.client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=self.endpoint,
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        self.dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=self.endpoint,
                                     aws_access_key_id="testing", aws_secret_access_key="testing")

    def _wait_until_up(self) -> None:
        for _ in range(200):
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("moto_server exited at start")
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start")

    def put_secret(self, value, name: str | None = None) -> str:
        """Creates (or, given a name, updates) a secret; dicts are stored as JSON text."""
        text = value if isinstance(value, str) else json.dumps(value)
        if name is None:
            name = f"entra-idc-sync/test-{uuid.uuid4().hex[:12]}"
            self.client.create_secret(Name=name, SecretString=text)
        else:
            self.client.put_secret_value(SecretId=name, SecretString=text)
        return name

    def create_state_table(self) -> str:
        """A fresh, empty state table shaped as template.yaml's StateTable; returns its name
        (for STATE_TABLE)."""
        name = f"entra-idc-sync-state-{uuid.uuid4().hex[:12]}"
        self.dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        return name

    def state_items(self, table: str) -> list[dict]:
        """Every item of a state table, as boto3 returns them."""
        return self.dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]

    def _recorder(self, verb: str) -> bytes:
        method = "GET" if verb == "download-recording" else "POST"
        request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{verb}", method=method,
                                         data=None if method == "GET" else b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def start_recording(self) -> None:
        """Records every API call from now on (see dynamodb_calls)."""
        self._recorder("reset-recording")
        self._recorder("start-recording")

    def dynamodb_calls(self) -> list[str]:
        """The DynamoDB operations called since start_recording, in order; stops recording."""
        self._recorder("stop-recording")
        lines = self._recorder("download-recording").decode().splitlines()
        targets = (json.loads(line).get("headers", {}).get("X-Amz-Target", "") for line in lines if line)
        return [target.split(".", 1)[1] for target in targets if target.startswith("DynamoDB_")]

    def function_env(self) -> dict[str, str]:
        return {"AWS_REGION": REGION, "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.endpoint,
                "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
                "AWS_EC2_METADATA_DISABLED": "true", **AWS_TEST_CREDENTIALS}

    def stop(self) -> None:
        self.process.stdin.close()  # the watchdog stops moto_server and exits
        self.process.wait(timeout=10)
        shutil.rmtree(self._recording.parent, ignore_errors=True)


class _SimProcess:
    """A stand-in from sim/ run as `python -m <module>` on a free port: it prints
    `LISTENING <url>` once bound and is driven through a JSON control API."""

    def __init__(self, what: str, module: str, *options: str) -> None:
        command = [sys.executable, "-m", module, "--port", "0", "--exit-on-stdin-eof", "--max-lifetime", "3600",
                   *options]
        self.process = _spawn(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"the {what} did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None


class GraphSimulator(_SimProcess):
    """The simulator package (`python -m sim`) on a free port, driven through its /_sim/ control API."""

    def __init__(self, latency_ms: int = 0) -> None:
        super().__init__("Graph simulator", "sim", *(["--latency-ms", str(latency_ms)] if latency_ms else []))

    def set_scenario(self, scenario: dict) -> None:
        """Replaces the state; also clears tokens, faults and the request log."""
        self._call("POST", "/_sim/scenario", scenario)

    def reset(self) -> None:
        self.set_scenario(demo_scenario())

    def add_faults(self, faults: list[dict]) -> None:
        self._call("POST", "/_sim/faults", {"faults": faults})

    def expire_tokens(self) -> None:
        self._call("POST", "/_sim/expire-tokens", {})

    def requests(self) -> list[dict]:
        return self._call("GET", "/_sim/requests")["requests"]

    def state(self) -> dict:
        return self._call("GET", "/_sim/state")

    def function_env(self) -> dict[str, str]:
        return {"AZURE_AUTHORITY_HOST": self.url, "GRAPH_ENDPOINT": self.url}

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


class StsStandIn(_SimProcess):
    """sim/sts.py (AWS STS GetWebIdentityToken) on a free port, driven through /_sts/."""

    def __init__(self, role_arn: str | None = None) -> None:
        super().__init__("STS stand-in", "sim.sts", *(["--role-arn", role_arn] if role_arn else []))

    @property
    def issuer(self) -> str:
        return self.state()["issuer"]

    @property
    def role_arn(self) -> str:
        return self.state()["role_arn"]

    def reset(self, refusal: str | None = None) -> None:
        """Forgets calls and tokens; `refusal` (e.g. "AccessDenied") makes every call fail."""
        self._call("POST", "/_sts/config", {"reset": True, "refusal": refusal})

    def state(self) -> dict:
        return self._call("GET", "/_sts/state")

    def calls(self) -> int:
        return self.state()["calls"]

    def issued_tokens(self) -> list[str]:
        return self._call("GET", "/_sts/issued")["tokens"]

    def function_env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_STS": self.url, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                **AWS_TEST_CREDENTIALS}

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)
