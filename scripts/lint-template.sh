#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint`, both from .venv-tools (pinned in
# requirements-tools.txt). Any error or warning fails. Runs offline: no AWS credentials needed.
set -euo pipefail

cd "$(dirname "$0")/.."
TOOLS=.venv-tools/bin
TEMPLATE="${1:-template.yaml}"

for tool in cfn-lint sam; do
    if [[ ! -x "$TOOLS/$tool" ]]; then
        echo "lint-template: $TOOLS/$tool is missing: run scripts/install-tools.sh first" >&2
        exit 1
    fi
done

# No telemetry, no update check, no prompts; sam validate wants a region even when it only lints.
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

echo "lint-template: cfn-lint $TEMPLATE"
"$TOOLS/cfn-lint" --format parseable -- "$TEMPLATE"

echo "lint-template: sam validate --lint $TEMPLATE"
"$TOOLS/sam" validate --lint --template-file "$TEMPLATE" --region "$AWS_DEFAULT_REGION"

echo "lint-template: $TEMPLATE is clean"
