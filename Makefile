# `make demo` and `make test` each do the whole setup on a fresh machine, into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup browser lint demo test test-all bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch is pinned in the same command as diffusers/peft/accelerate, or they pull a multi-GB CUDA build.
	$(BIN)/pip install -q --progress-bar off torch==2.13.0 -e '.[dev,train]'
	touch $(STAMP)

setup: $(STAMP)

# The report tests drive Debian's Chromium (never a downloaded browser); they skip with a reason without it.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  || echo "chromium not installed (needs root and apt-get): browser tests will be skipped"; }

demo: setup
	rm -rf out/demo
	$(BIN)/layertracer run manifests/demo.jsonl --out out/demo
	$(BIN)/layertracer report out/demo
	@echo "demo: layered SVGs in out/demo/svg/, index in out/demo/index/, report: out/demo/report/index.html"

lint: setup
	$(BIN)/python -m ruff check .

test: setup browser lint
	$(BIN)/python -m pytest -q

test-all: setup browser
	$(BIN)/python -m pytest -q -m ""

bench: setup
	$(BIN)/python -m benchmarks.vectorize_quality
	$(BIN)/python -m benchmarks.image_quality
	$(BIN)/python -m benchmarks.pipeline_scaling

clean:
	rm -rf out .pytest_cache
