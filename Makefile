# The two commands of the README:
#   make lab    set everything up and open the course in JupyterLab (127.0.0.1, token auth)
#   make test   set everything up and run the whole test suite
VENV := .venv
PY := $(VENV)/bin/python
# Tests read the airfoil data from here when it exists (CI keeps ../shared beside the checkout).
export D2LMINI_DATA_DIR ?= $(if $(wildcard ../shared/data/airfoil_self_noise.dat),$(abspath ../shared/data),)
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup setup-colab setup-browser lab test test-main test-colab bench clean

setup:
	scripts/setup.sh

setup-colab:
	scripts/setup.sh --colab

setup-browser:
	scripts/setup.sh --browser

lab: setup
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) --ServerApp.root_dir=$(CURDIR) notebooks/00_start_here.ipynb

test: setup-browser setup-colab test-main test-colab

# Two workers; each test file stays whole on one worker, so its notebook runs once and the browser
# tests run one page at a time (tests/conftest.py). One thread per kernel, so the two workers do
# not oversubscribe the two cores.
XDIST := -n $(or $(TEST_WORKERS),2) --dist loadfile

test-main: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest tests -p no:cacheprovider $(XDIST) --durations=25

# The "Colab-like" run: ipywidgets 7, inline backend, no ipympl; every notebook and explorer
# test (the pure-math tests do not depend on the widget stack and ran in test-main), and of the
# browser tests only those marked colab (one generated notebook with one explorer of each kind,
# in ipywidgets 7's frontend; the chapters' browser tests run in test-main).
COLAB_TESTS := tests/test_explorers.py tests/test_presenter.py tests/test_launch.py tests/test_browser.py $(wildcard tests/test_nb_*.py)
test-colab: setup-colab
	OMP_NUM_THREADS=1 D2LMINI_COLAB_LIKE=1 .venv-colab/bin/python -m pytest $(COLAB_TESTS) -p no:cacheprovider -m "not slow and (not browser or colab)" $(XDIST) --durations=15

bench: setup
	$(PY) bench/import_time.py
	$(PY) bench/explorer_update.py
	$(PY) bench/sweep.py
	$(PY) bench/explorer_memory.py
	$(PY) bench/notebook_times.py
	$(PY) bench/browser_latency.py
	$(PY) bench/drag_lag.py
	$(PY) bench/kernel_memory.py

clean:
	rm -rf $(VENV) .venv-colab artifacts
