# Two commands do all set-up on a fresh machine (they create .venv and fetch the data):
#   make report   # the main job: the report (PROFILE=smoke|quick|full, default quick)
#   make test     # the whole test suite, as CI runs it
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
REPORT_ARGS ?=

.PHONY: report test install data clean

report: data
	$(VENV)/bin/lenet report --profile $(PROFILE) $(REPORT_ARGS)

test: data
	LENET_REQUIRE_FAST=1 $(PY) -m pytest -q

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[report,test,ray]'
	$(PY) -m lenet1998.fast  # exits 1 if the C kernel does not build: the fast path is not optional here
	touch $@

data: install
	$(VENV)/bin/lenet data fetch all

clean:
	rm -rf $(VENV) build *.egg-info
