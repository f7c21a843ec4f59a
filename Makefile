# Tradehive: the two commands first. `make run` starts the platform locally; `make test` is what CI runs.
UV ?= uv
DATA ?=
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help sync run demo test test-unit test-integration test-system bench lint images compose-config clean

help:
	@echo "make run [DATA=DIR]  the platform as local processes (simulator, or replay of DATA)"
	@echo "make test            the whole test suite (unit, integration, system)"
	@echo "make bench           benchmarks (numbers printed, nothing asserted)"
	@echo "make demo            agentcore demo topology (every messaging pattern)"
	@echo "make lint            ruff + mypy"

sync:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

run: sync
	$(UV) run tradehive run $(if $(DATA),--data $(DATA)) $(ARGS)

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

bench: sync
	$(UV) run python bench/run_all.py

lint: sync
	$(UV) run ruff check libs services tests bench
	$(UV) run mypy libs/agentcore/src libs/marketcore/src

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .bench
