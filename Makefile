# Tradehive: the two commands first. `make run` starts the platform locally; `make test` is what CI runs.
UV ?= uv
DATA ?=
ARGS ?=
PYTEST_ARGS ?=

.PHONY: docs help sync run viz demo test fuzz test-unit test-integration test-system bench lint lint-docker images images-online base-image clean fix-counterparties

help:
	@echo "make run [DATA=DIR]  the platform as local processes (simulator, or replay of DATA)"
	@echo "make viz             the live chart against the running platform (ARGS: tradehive viz --help)"
	@echo "make test            the whole test suite (unit, integration, system)"
	@echo "make bench           benchmarks (numbers printed, nothing asserted)"
	@echo "make demo            agentcore demo topology (every messaging pattern)"
	@echo "make lint            ruff + mypy (--strict on the libraries, plain on the services)"
	@echo "make soak            the platform at 10k ticks/s for SOAK_DURATION s (default 300); bench/results/soak.*"
	@echo "make fuzz            >= 1M mutated inputs per decoder (FUZZ_CASES=N, FUZZ_ONLY=wire,orders)"
	@echo "make docs            API reference (mkdocs + mkdocstrings) into site/, warnings are errors"
	@echo "make images          container images per role without a registry (local base + wheelhouse)"

sync:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

run: sync
	$(UV) run tradehive run $(if $(DATA),--data $(DATA)) $(ARGS)

viz: sync
	$(UV) run tradehive viz $(ARGS)

demo: sync
	$(UV) run agentcore up examples/demo.yaml

test: sync
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: sync
	$(UV) run pytest tests/unit $(PYTEST_ARGS)

test-integration: sync
	$(UV) run pytest tests/integration $(PYTEST_ARGS)

test-system: sync
	$(UV) run pytest tests/system $(PYTEST_ARGS)

fuzz: sync  ## every decoder fed FUZZ_CASES (default 1M) mutated inputs (.bench/fuzz.json), then atheris (bounded)
	@mkdir -p .bench
	$(UV) run python tests/fuzz/fuzz_run.py --out .bench/fuzz.json
	$(UV) run --with atheris==3.0.0 python tests/fuzz/atheris_run.py --artifacts .bench/atheris

soak: sync  ## on demand: RSS, fds, buffer fill, hop p99 over time -> bench/results/soak.{csv,md,png}
	$(UV) run python bench/soak/run.py --duration $(or $(SOAK_DURATION),300)

bench: sync
	$(UV) run python bench/run_all.py

docs: sync  ## agentcore + marketcore API reference from docstrings; --strict: any warning fails (CI runs it)
	$(UV) run mkdocs build --strict

fix-counterparties: sync  ## build (once, cached) QuickFIX's executor + ordermatch for the FIX adapter tests
	$(UV) run python -c "from tradehive_fix.testing.counterparties import build; print(build('executor')); print(build('ordermatch'))"

lint: sync
	$(UV) run ruff check libs services tests bench examples
	$(UV) run mypy --strict libs/agentcore/src libs/marketcore/src libs/tradehive/src
	$(UV) run mypy services/feeder/src services/router/src services/brain/src services/trader/src services/recorder/src \
		services/viz/src examples
	$(UV) run mypy libs/fix/src

images: sync  ## role images offline: local debootstrap base + host wheelhouse (no registry needed)
	deploy/docker/build-images.sh

images-online:  ## role images from python:3.12-slim and the package index (needs a registry)
	deploy/docker/build-images.sh --online

base-image:  ## rebuild the local Debian base image
	deploy/docker/build-base.sh --force

lint-docker: sync
	$(UV) run hadolint Dockerfile

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .bench
