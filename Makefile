# The two commands of the README:  `make book`  and  `make test`.
# Each creates the project-local virtual environment (.venv) first if needed.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.dreamrg-installed
PROFILE ?= quick
# Extra pip options, e.g. PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
# for the CPU torch wheel of the lock (see README, "Installing elsewhere").
PIP_EXTRA ?=

.PHONY: install book test chromium bench lock clean-book

$(STAMP): requirements/lock.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(PIP_EXTRA) -r requirements/lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

## Build the book: execute every chapter at $(PROFILE) and render HTML into _build/html
book: $(STAMP)
	$(BIN)/dreamrg book --profile $(PROFILE)

## Run the unit tests and execute every chapter (nbval, smoke profile); the book is also checked in Chromium
test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

## Headless Chromium for tests/test_browser.py. Installed with apt when run as root (a first install
## downloads ~80 MB, ~290 MB installed, Debian 12; the check costs ~0 s once it is present); otherwise
## the browser test skips and says what to install. Never fails the target.
chromium:
	-@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || command -v google-chrome >/dev/null 2>&1 || [ -n "$$DREAMRG_CHROMIUM" ] \
	  || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	         echo "installing chromium for the browser test of the book (apt-get)"; \
	         apt-get install -y -qq chromium >/dev/null 2>&1 \
	           || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
	           || echo "could not install chromium: tests/test_browser.py will skip"; \
	       else echo "no Chromium found: tests/test_browser.py will skip (install chromium, or set DREAMRG_CHROMIUM)"; fi; } \
	  || true

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_mc.py
	$(BIN)/python benchmarks/mc_cli_overhead.py

## Regenerate requirements/lock.txt from requirements/top.txt in a scratch venv
lock:
	rm -rf /tmp/dreamrg-lock && $(PY) -m venv /tmp/dreamrg-lock
	/tmp/dreamrg-lock/bin/pip install -q $(PIP_EXTRA) -r requirements/top.txt
	sed -n '/^#/p' requirements/lock.txt > /tmp/dreamrg-lock/header.txt  # keep the comment header
	/tmp/dreamrg-lock/bin/pip freeze --all | grep -v "^pip==" | sed "s/+cpu//" | cat /tmp/dreamrg-lock/header.txt - > requirements/lock.txt

clean-book:
	rm -rf _build
