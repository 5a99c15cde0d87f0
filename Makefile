# `make demo` runs the main job, `make test` runs the tests. Each creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export OMP_NUM_THREADS ?= 2
export MKL_NUM_THREADS ?= 2

.PHONY: demo test test-fast lint bench clean docs

# the install compiles the k-NN kernels: a changed C file re-runs it
$(VENV)/.installed: pyproject.toml setup.py src/infolens/estimators/_knn_kernels.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m infolens run

# every test, the slow ones included (about 17 minutes on 2 cores; the main job at its defaults ~4 min);
# the 25 slowest are listed at the end
test: $(VENV)/.installed
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q --durations=25

# the same without the tests marked slow (training at defaults, notebooks, Ray, multi-process Lightning)
test-fast: $(VENV)/.installed
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q -m "not slow"

# the documentation site in build/site, the notebooks executed (`make test` builds it too, without
# executing them again: tests/test_docs.py); any warning fails the build
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

bench: $(VENV)/.installed
	$(PY) benchmarks/estimators.py
	$(PY) benchmarks/knn_scaling.py
	$(PY) benchmarks/plane.py

clean:
	rm -rf $(VENV) runs
