# `make demo` and `make test` each do the whole setup on a fresh machine, into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test test-all bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch is pinned in the same command as diffusers/peft/accelerate, or they pull a multi-GB CUDA build.
	$(BIN)/pip install -q --progress-bar off torch==2.13.0 -e '.[dev,train]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python -m layertracer vectorize-grid manifests/data --frames 4 -o out/demo/svg
	@echo "demo: layered SVGs in out/demo/svg/ (open them in Inkscape to see the layers)"

test: setup
	$(BIN)/python -m pytest -q

test-all: setup
	$(BIN)/python -m pytest -q -m ""

clean:
	rm -rf out .pytest_cache
