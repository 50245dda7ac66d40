# levelsets — the two commands in the README are `make run` and `make test`.
# Both set everything up from scratch into .venv first (idempotent; a second run skips the install).

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.levelsets-installed
SEED    ?= 0
# Extra arguments for `make run`, e.g. `make run ARGS="--prior gan"`.
ARGS    ?=

.PHONY: setup run test browser-deps lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch/torchvision first, pinned to the builds this project is tested with.
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) install -e '.[dev]'
	touch $@

## The main job on its embedded default.
run: setup
	$(VENV)/bin/levelsets sample --target 1vs7 --seed $(SEED) $(ARGS)

## Headless Chromium for the browser test (Debian packages; needs root or sudo).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver; \
	fi

## The whole test suite (notebooks and the browser test included).
test: setup browser-deps
	$(PY) -m pytest -n 2

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup
	$(PY) benchmarks/sampler_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
