# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-nodeps.txt | cksum | cut -d' ' -f1)

.PHONY: run test test-fast bench reliability demo clean-data deck-screenshots

$(STAMP): requirements.txt requirements-nodeps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

## run: install, build the demo snapshot if there is no data yet, start the app (on this
## computer only unless sign-in is configured: `python -m cs_analytics serve --help`)
run: $(STAMP)
	@$(PY) -m cs_analytics status --exists >/dev/null 2>&1 || $(PY) -m cs_analytics demo
	$(PY) -m cs_analytics serve

## test: install, then the whole test suite (browser tests need /usr/bin/chromium; .ci/run installs it)
test: $(STAMP)
	$(PY) -m pytest

## test-fast: the suite without the browser tests
test-fast: $(STAMP)
	$(PY) -m pytest -m "not browser"

## bench: the benchmark (writes bench/results.json)
bench: $(STAMP)
	$(PY) -m bench.run

## reliability: replay hostile files and faults; a table of exit code, peak memory, message and
## whether the snapshot and user data stayed byte-identical (a few minutes; not part of `test`)
reliability: $(STAMP)
	$(PY) -m bench.reliability

demo: $(STAMP)
	$(PY) -m cs_analytics demo

## deck-screenshots: rewrite docs/screenshots/qbr-deck-*.png (needs LibreOffice and poppler)
deck-screenshots: $(STAMP)
	$(PY) -m tests.deck_screenshots
