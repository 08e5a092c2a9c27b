"""scripts/install-tools.sh picks a Python the pinned deploy tools install on, or stops before
creating anything and says how to get one (Amazon Linux 2023 and CloudShell have 3.9).

The script runs with a PATH holding only stub interpreters, each printing a fixed version, so
what this machine has installed does not matter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install-tools.sh"


def required() -> str:
    text = (REPO / "requirements-tools.txt").read_text()
    match = re.search(r"^# requires-python: (\d+\.\d+)$", text, re.MULTILINE)
    assert match, "requirements-tools.txt names the Python its pins need"
    return match.group(1)


def pythons(tmp_path: Path, **versions: str) -> Path:
    """A directory of stub interpreters: python3="3.9.16" makes `python3` report 3.9.16."""
    for name, version in versions.items():
        stub = tmp_path / name.replace("_", ".")
        stub.write_text(f"#!/bin/sh\necho {version}\n" if version else "#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
    return tmp_path


def which_python(path: Path, python: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": str(path)}
    if python:
        env["PYTHON"] = python
    return subprocess.run(["/bin/bash", str(SCRIPT), "--which-python"], env=env,
                          capture_output=True, text=True, timeout=30)


def test_python_39_alone_is_refused_with_how_to_get_a_new_enough_one(tmp_path):
    run = which_python(pythons(tmp_path, python3="3.9.16"))
    assert run.returncode == 1
    want = required()
    assert f"Python {want} or newer" in run.stderr
    assert "python3 is 3.9.16" in run.stderr
    assert f"sudo dnf install -y python{want}" in run.stderr, "the Amazon Linux 2023 fix"
    assert "PYTHON=" in run.stderr
    assert run.stdout == ""


def test_a_newer_python_next_to_the_system_one_is_found(tmp_path):
    run = which_python(pythons(tmp_path, python3="3.9.16", python3_11="3.11.9"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "python3.11"


def test_python3_is_used_when_it_is_new_enough(tmp_path):
    run = which_python(pythons(tmp_path, python3="3.12.3", python3_11="3.11.9"))
    assert run.stdout.strip() == "python3"


def test_an_explicit_python_is_respected_even_when_a_newer_one_exists(tmp_path):
    path = pythons(tmp_path, python3="3.12.3", python3_9="3.9.16")
    run = which_python(path, python=str(path / "python3.9"))
    assert run.returncode == 1
    assert "is Python 3.9.16" in run.stderr and "PYTHON=" in run.stderr


def test_no_python_at_all_says_so(tmp_path):
    run = which_python(pythons(tmp_path, python3=""))
    assert run.returncode == 1
    assert "none was found" in run.stderr


def test_the_interpreter_running_the_tests_qualifies():
    run = which_python(Path("/nonexistent"), python=sys.executable)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == sys.executable


@pytest.mark.parametrize("doc", ["README.md", "docs/DEPLOY.md"])
def test_docs_promise_the_python_the_pins_need(doc):
    text = (REPO / doc).read_text()
    assert f"Python {required()}" in text
    assert not re.search(r"Python 3\.(9|10)\+|Python 3\.(9|10) or newer", text), \
        f"{doc} promises a Python the pins do not install on"
