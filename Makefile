# pipelining-data — every command goes through here. `make help` lists them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEPLOY_STAMP := $(VENV)/.deploy-installed
NEED_PYTHON = @$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	{ echo "make: Python 3.11+ is required as '$(PYTHON)' (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

.DEFAULT_GOAL := help
.PHONY: help venv deploy-venv clean check lock pin test lint format bench mutate mutate-files sql docs up preview destroy outputs verify status logs stack stacks platform-up platform-preview platform-destroy

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install requirements-dev.txt (about 1.2 GB; quick when nothing changed)

# What the deploy targets (up, preview, destroy, outputs, verify, stack) install: requirements.txt only.
deploy-venv: $(DEPLOY_STAMP)

# Every file checked against the hash in requirements.lock (make lock), then this repository on its own. pip runs
# without --quiet: a first install downloads hundreds of MB for minutes, and pip's own lines (one per package
# collected, then the install) are the progress a user needs to see that it is moving.
$(DEPLOY_STAMP): requirements.lock pyproject.toml Makefile
	$(NEED_PYTHON)
	@test -x $(PY) || { echo "make: creating $(VENV)" && $(PYTHON) -m venv $(VENV); }
	@echo "make: installing requirements.lock into $(VENV) (what the Pulumi program imports, each file hash-checked)"
	$(PY) -m pip install --disable-pip-version-check --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(DEPLOY_STAMP)

# The locks: requirements.txt (less `-e .`, plus the setuptools that builds it) and generator/requirements.txt,
# resolved for every platform and Python 3.11+, with the hash of every file PyPI serves for each pin.
LOCK = $(CURDIR)/$(PY) -m uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"

lock: venv ## regenerate requirements.lock and generator/requirements.lock from the requirements files (hashed)
	@mkdir -p $(VENV)/lock && grep -v '^-e ' requirements.txt > $(VENV)/lock/requirements.txt
	@echo 'setuptools==80.9.0  # builds this repository (-e .) in make deploy-venv' >> $(VENV)/lock/requirements.txt
	cd $(VENV)/lock && $(LOCK) requirements.txt -o $(CURDIR)/requirements.lock
	cd generator && $(LOCK) requirements.txt -o requirements.lock

pin: venv ## write each pulled image's current digest (repo:tag@sha256:…) into the defaults; needs Docker
	$(PY) scripts/pin_images.py
	@$(MAKE) --no-print-directory docs
	$(PY) -m testbed.golden --write  # the Docker program's recorded inputs: the images moved on purpose

# requirements-dev.txt includes requirements.txt: a dev install is a deploy install too.
$(STAMP): requirements.txt requirements.lock requirements-dev.txt generator/requirements.txt pyproject.toml Makefile
	$(NEED_PYTHON)
	@test -x $(PY) || { echo "make: creating $(VENV)" && $(PYTHON) -m venv $(VENV); }
	@echo "make: installing requirements-dev.txt into $(VENV) (about 1.2 GB: chdb alone is 530 MB; minutes the first time)"
	$(PY) -m pip install --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP) $(DEPLOY_STAMP)

# What make and the tools made here; never .pulumi/ (the stacks' state) or .pulumi-passphrase (the key to its
# secrets): removing those loses track of deployed containers and volumes, so that stays a deliberate `rm`.
CLEANED := $(VENV) .venv-mutate mutants .pytest_cache .ruff_cache .mypy_cache build *.egg-info

clean: ## remove .venv, .venv-mutate, mutants/, caches and build metadata (never .pulumi/ state or its passphrase)
	rm -rf $(CLEANED)
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
	@echo "make clean: kept .pulumi/ and .pulumi-passphrase (stack state and its key): remove them yourself, after 'make destroy'"

test: venv ## run the whole test suite (pytest)
	@$(PY) -m pytest; rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests — failing" >&2; exit 1; fi; exit $$rc

lint: venv ## ruff check + format check + mypy (type check of the packages)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: venv ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: venv ## run the benchmarks; prints one `bench:` line each
	$(PY) -m bench

# Mutation testing has a venv of its own: mutmut runs the tests against its mutated copy (mutants/), so the
# repository must not be importable from an editable install there. Same pins as the dev venv, plus mutmut.
MUTATE_VENV := .venv-mutate
MUTATE_STAMP := $(MUTATE_VENV)/.installed

$(MUTATE_STAMP): requirements.txt requirements-dev.txt requirements-mutate.txt generator/requirements.txt pyproject.toml
	$(NEED_PYTHON)
	@test -x $(MUTATE_VENV)/bin/python || $(PYTHON) -m venv $(MUTATE_VENV)
	$(MUTATE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	$(MUTATE_VENV)/bin/python -m pip uninstall --quiet --yes pipelining-data
	@touch $(MUTATE_STAMP)

MUTMUT := PYTHONPATH=$(CURDIR)/mutants $(MUTATE_VENV)/bin/mutmut
# Workers at once: most of a test's time is spent waiting on a broker or ClickHouse, not on a core.
MUTATE_JOBS ?= 6
TESTS_HASH = find tests testbed -name "*.py" | sort | xargs cat | sha256sum | cut -c1-16

mutate: $(MUTATE_STAMP) ## mutation testing (mutmut; three hours or more on 2 cores, then incremental); scores into docs/mutation.md
	@# mutants/ must exist before Python starts, or the import system never looks in it
	@test -d mutants || { mkdir mutants && $(TESTS_HASH) > mutants/.tested-with; }
	@# which test reaches which function is measured afresh each run: mutmut 3.8.1's incremental measure forgets
	@# the tests of a function whose source changed, and its mutants would show as having none
	@rm -f mutants/mutmut-stats.json
	$(MUTMUT) run --max-children $(MUTATE_JOBS)
	@# verdicts are kept between runs: when the tests changed since, the survivors are tried against them again
	@if [ "$$(cat mutants/.tested-with 2>/dev/null)" != "$$($(TESTS_HASH))" ]; then \
		survivors=$$($(MUTMUT) results | sed -n 's/^ *\([^ :]*\): \(survived\|no tests\)$$/\1/p'); \
		if [ -n "$$survivors" ]; then $(MUTMUT) run --max-children $(MUTATE_JOBS) $$survivors || exit 1; fi; \
		$(TESTS_HASH) > mutants/.tested-with; \
	fi
	@$(MUTMUT) results --all true | $(MUTATE_VENV)/bin/python scripts/mutation_report.py
	@$(MAKE) --no-print-directory mutate-files

mutate-files: venv ## mutation testing of the SQL templates, shell scripts and workflows (a few minutes)
	$(PY) scripts/mutate_files.py --write

docs: venv ## regenerate Pulumi.yaml's config block, the tables in docs/ and docs/generated/ from their sources
	@$(PY) scripts/render_docs.py
	@$(PY) -m testbed.kubernetes  # docs/generated/kubernetes-*.yaml

sql: venv ## print the rendered ClickHouse DDL for the default settings
	@$(PY) -m ddl.render

STACK ?= dev

check: deploy-venv ## check a stack's config (Pulumi.<stack>.yaml over the defaults) without Pulumi or Docker
	@$(PY) -m infra.check "$(STACK)"

# `make up` checks the stack's config first; then scripts/pulumi-stack.sh checks its arguments, then every
# prerequisite (the Pulumi CLI, Docker) at once, then runs `make deploy-venv`, then Pulumi.
up: check ## deploy the stack (STACK=dev by default) to Docker or Kubernetes, per its config, and print its URLs
	@scripts/pulumi-stack.sh $@ "$(STACK)"

preview: ## show what `make up` would change (pulumi preview --diff)
	@scripts/pulumi-stack.sh $@ "$(STACK)"

destroy: ## remove every container, network and volume of the stack (asks first; YES=1 does not; FORCE=1: ClickHouse is gone)
	@YES="$(YES)" FORCE="$(FORCE)" scripts/pulumi-stack.sh $@ "$(STACK)"

outputs: ## print the stack's URLs, users and passwords
	@scripts/pulumi-stack.sh $@ "$(STACK)"

verify: ## prove every hop of a deployed stack works, with timings (ALERT=1: drive the mid-price alert too)
	@ALERT="$(ALERT)" scripts/pulumi-stack.sh $@ "$(STACK)"

status: ## each service's container state and health, and the stack's URLs
	@scripts/pulumi-stack.sh $@ "$(STACK)"

logs: ## a service's container logs: make logs SERVICE=kafka-1 [FOLLOW=1]
	@SERVICE="$(SERVICE)" FOLLOW="$(FOLLOW)" scripts/pulumi-stack.sh $@ "$(STACK)"

stack: ## create your own stack: make stack NAME=alice (dev's config, ports of its own; PLATFORM=kubernetes)
	@test -n "$(NAME)" || { echo "make stack: NAME is required, e.g. make stack NAME=alice" >&2; exit 2; }
	@PLATFORM="$(PLATFORM)" scripts/pulumi-stack.sh $@ "$(NAME)"

PLATFORM_STACK ?= platform

platform-up: ## install the cluster's platform stack (the Strimzi operator), once per cluster (docs/kubernetes.md)
	@scripts/pulumi-stack.sh $@ "$(PLATFORM_STACK)"

platform-preview: ## what platform-up would change
	@scripts/pulumi-stack.sh $@ "$(PLATFORM_STACK)"

platform-destroy: ## remove the platform stack (asks first; YES=1 does not; refused while allowDestroy is false)
	@YES="$(YES)" scripts/pulumi-stack.sh $@ "$(PLATFORM_STACK)"

stacks: ## list this checkout's stacks with their URLs
	@scripts/pulumi-stack.sh $@
