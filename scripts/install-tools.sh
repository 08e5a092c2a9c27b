#!/usr/bin/env bash
# Creates .venv-tools in the repository with the pinned deployment tools from
# requirements-tools.txt: SAM CLI, cfn-lint and cargo-lambda (with zig).
#
# SAM CLI gets its own virtualenv because a global install upgrades botocore past the version
# the preinstalled AWS CLI v1 pins. Idempotent: when the virtualenv already holds exactly this
# requirements file's pins it returns at once; otherwise it (re)installs them.
#
# Use the tools with PATH="$PWD/.venv-tools/bin:$PATH": cargo-lambda finds zig through the first
# python3 on PATH, and only this virtualenv's python3 has the ziglang package.
#
# Environment: PYTHON (default python3) picks the interpreter; Python 3.9 or newer.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv-tools
REQUIREMENTS=requirements-tools.txt
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

fail() {
    echo "install-tools: $*" >&2
    exit 1
}

want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -x "$VENV/bin/sam" && -x "$VENV/bin/cfn-lint" \
    && -x "$VENV/bin/cargo-lambda" && "$(cat "$STAMP" 2>/dev/null)" == "$want" ]] \
    && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    exit 0
fi

command -v "$PYTHON" >/dev/null \
    || fail "$PYTHON is missing: install Python 3.9 or newer (or set PYTHON=/path/to/python3)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || fail "$("$PYTHON" --version 2>&1) is too old: SAM CLI needs Python 3.9 or newer"

# A virtualenv whose interpreter went away (Python upgraded or removed) cannot be repaired.
if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    echo "install-tools: $VENV is broken (its Python is gone); recreating it"
    rm -rf "$VENV"
fi
if [[ ! -d "$VENV" ]]; then
    "$PYTHON" -m venv "$VENV" || fail "could not create $VENV: on Debian/Ubuntu install python3-venv"
fi

echo "install-tools: installing $REQUIREMENTS into $VENV (about a minute the first time)"
start=$SECONDS
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv \
    -r "$REQUIREMENTS"
rm -f "$STAMP"

for tool in sam cfn-lint cargo-lambda; do
    [[ -x "$VENV/bin/$tool" ]] || fail "$tool is missing from $VENV after the install"
done
"$VENV/bin/python" -c 'import ziglang' 2>/dev/null \
    || fail "the ziglang package is missing from $VENV: cargo-lambda needs it for --arm64 builds"

echo "$want" >"$STAMP"
echo "install-tools: ready in $((SECONDS - start)) s:" \
    "$("$VENV/bin/sam" --version)," \
    "cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $2}')," \
    "$("$VENV/bin/cargo-lambda" lambda --version 2>/dev/null || echo 'cargo-lambda')"
echo "install-tools: use them with PATH=\"$PWD/$VENV/bin:\$PATH\""
