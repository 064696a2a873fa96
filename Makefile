# Two commands do all the set-up: `make demo` and `make test`.
# Both create (or reuse) the virtual environment in $(VENV).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.zoo-installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Train the main job on the embedded data set (offline, a few minutes on 2 CPU cores).
demo: $(STAMP)
	$(PY) -m zoo.fit --model cyclegan

## Run the whole test suite offline, one test process per core (pytest-xdist), one thread each.
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist worksteal --durations=25

clean:
	rm -rf runs lightning_logs .pytest_cache
