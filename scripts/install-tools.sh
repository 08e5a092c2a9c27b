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
# Python: the pins need the version named on the "# requires-python:" line of
# requirements-tools.txt (3.11 today). PYTHON=/path/to/python3.x picks the interpreter; without
# it the first new enough of python3, python3.13, python3.12, python3.11 on PATH is used, so on
# Amazon Linux 2023 and CloudShell (python3 is 3.9 there) `sudo dnf install -y python3.11` is
# all it takes. Too old or missing: it stops before creating anything, saying how to get one.
#
#   scripts/install-tools.sh                  install (or confirm) the tools
#   scripts/install-tools.sh --which-python   only print the interpreter it would use
set -euo pipefail

# Bash builtins only until an interpreter is chosen: the check must work (and be testable) on a
# machine whose PATH holds nothing but Pythons.
if [[ $0 == */* ]]; then cd "${0%/*}/.."; else cd ..; fi
VENV=.venv-tools
REQUIREMENTS=requirements-tools.txt
STAMP="$VENV/.requirements.sha256"
CANDIDATES=(python3 python3.13 python3.12 python3.11)

fail() {
    echo "install-tools: $*" >&2
    exit 1
}

# The "major.minor" on requirements-tools.txt's "# requires-python: X.Y" line.
required_python() {
    local line
    while IFS= read -r line; do
        if [[ $line =~ ^#\ requires-python:\ ([0-9]+)\.([0-9]+)$ ]]; then
            echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
            return 0
        fi
    done <"$REQUIREMENTS"
    fail "$REQUIREMENTS has no '# requires-python: X.Y' line"
}

# Prints "X.Y.Z" of an interpreter, nothing when it does not run.
version_of() {
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true
}

# True when version $1 (X.Y[.Z]) is at least $2 (X.Y).
at_least() {
    local have_major have_minor want_major want_minor
    IFS=. read -r have_major have_minor _ <<<"$1"
    IFS=. read -r want_major want_minor <<<"$2"
    ((have_major > want_major || (have_major == want_major && have_minor >= want_minor)))
}

how_to_get() {
    local want=$1
    printf '%s\n' \
        "  Amazon Linux 2023 / CloudShell: sudo dnf install -y python$want python$want-pip" \
        "  Debian / Ubuntu:                sudo apt-get install python$want python$want-venv" \
        "  macOS (Homebrew):               brew install python@$want" \
        "  then run this again (it finds python$want by itself), or set PYTHON=/path/to/python$want."
}

# Picks the interpreter: $PYTHON when set (and then only it), else the first new enough
# candidate. Prints its name; fails with what to install when there is none.
choose_python() {
    local want found version
    want="$(required_python)"
    if [[ -n "${PYTHON:-}" ]]; then
        version="$(version_of "$PYTHON")"
        [[ -n $version ]] || fail "PYTHON=$PYTHON does not run: point it at Python $want or newer"
        at_least "$version" "$want" && { echo "$PYTHON"; return 0; }
        fail "PYTHON=$PYTHON is Python $version; the pinned SAM CLI and cfn-lint need $want or newer:
$(how_to_get "$want")"
    fi
    found=""
    for candidate in "${CANDIDATES[@]}"; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        version="$(version_of "$candidate")"
        [[ -n $version ]] || continue
        at_least "$version" "$want" && { echo "$candidate"; return 0; }
        found+="${found:+, }$candidate is $version"
    done
    fail "the pinned SAM CLI and cfn-lint need Python $want or newer, and none was found on PATH (${found:-no python3 at all}):
$(how_to_get "$want")"
}

if [[ "${1:-}" == "--which-python" ]]; then
    choose_python
    exit 0
fi

want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -x "$VENV/bin/sam" && -x "$VENV/bin/cfn-lint" \
    && -x "$VENV/bin/cargo-lambda" && "$(cat "$STAMP" 2>/dev/null)" == "$want" ]] \
    && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    exit 0
fi

python="$(choose_python)"

# A virtualenv whose interpreter went away (Python upgraded or removed) cannot be repaired, and
# one made by a Python too old for the pins (an earlier attempt) cannot install them.
if [[ -d "$VENV" ]]; then
    venv_version="$(version_of "$VENV/bin/python")"
    if [[ -z $venv_version ]] || ! at_least "$venv_version" "$(required_python)"; then
        echo "install-tools: $VENV was made by a missing or too old Python; recreating it with $python"
        rm -rf "$VENV"
    fi
fi
if [[ ! -d "$VENV" ]]; then
    "$python" -m venv "$VENV" \
        || fail "could not create $VENV with $python: on Debian/Ubuntu install its -venv package"
fi

echo "install-tools: installing $REQUIREMENTS into $VENV with $python (about a minute the first time)"
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
