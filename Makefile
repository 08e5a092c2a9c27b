# entra-idc-sync — the two commands a newcomer needs: `make demo` and `make test`.
# Everything else is for developing and deploying. Python tools live in virtualenvs inside
# the repo (.venv for tests, .venv-tools for SAM/cargo-lambda), created on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_OK := $(VENV)/.installed
TOOLS_OK := .venv-tools/.installed
DEBUG_BIN := target/debug/entra-idc-sync
RELEASE_BIN := target/release/entra-idc-sync
EVENT ?= events/status.json
STACK ?= entra-idc-sync

.PHONY: help demo test test-rust test-python lint lint-rust lint-template build build-arm64 \
        bench deploy invoke logs clean

help:
	@echo "make demo    run the function locally against moto_server and the Graph simulator"
	@echo "make test    every check CI runs (format, clippy, unit, simulator, end-to-end, template)"
	@echo "make build-arm64 / deploy / invoke EVENT=events/status.json / logs / bench"

$(VENV_OK): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "python3 is missing: install Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(TOOLS_OK): requirements-tools.txt scripts/install-tools.sh
	bash scripts/install-tools.sh
	touch $@

demo: $(VENV_OK)
	cargo build --release --bin entra-idc-sync
	$(VENV)/bin/python -m devtools.demo $(RELEASE_BIN)

test: lint-rust test-rust test-python lint-template

lint-rust:
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings

test-rust: $(VENV_OK)
	cargo test --locked

test-python: $(VENV_OK)
	cargo build --locked --bin entra-idc-sync
	ENTRA_IDC_SYNC_BIN=$(DEBUG_BIN) $(VENV)/bin/python -m pytest -q sim tests/e2e

lint-template: $(TOOLS_OK)
	bash scripts/lint-template.sh

lint: lint-rust lint-template

build:
	cargo build --release --bin entra-idc-sync

build-arm64: $(TOOLS_OK)
	PATH="$(CURDIR)/.venv-tools/bin:$$PATH" cargo lambda build --release --arm64 --bin entra-idc-sync
	@file target/lambda/entra-idc-sync/bootstrap

bench: $(VENV_OK)
	cargo build --release --bin entra-idc-sync
	$(VENV)/bin/python -m devtools.bench $(RELEASE_BIN)

deploy: $(TOOLS_OK)
	PATH="$(CURDIR)/.venv-tools/bin:$$PATH" sam build && PATH="$(CURDIR)/.venv-tools/bin:$$PATH" sam deploy --guided

invoke:
	@command -v aws >/dev/null || { echo "the AWS CLI is missing: pip install awscli"; exit 1; }
	aws lambda invoke --function-name "$$(aws cloudformation describe-stacks --stack-name $(STACK) \
	  --query "Stacks[0].Outputs[?OutputKey=='FunctionName'].OutputValue" --output text)" \
	  --payload fileb://$(EVENT) /dev/stdout

logs: $(TOOLS_OK)
	.venv-tools/bin/sam logs --stack-name $(STACK) --tail

clean:
	cargo clean
	rm -rf $(VENV) .venv-tools .aws-sam
