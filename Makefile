# litemaas-operator: the everyday commands. `make demo` and `make test` work on a fresh machine.
# Python runs from the project's virtual environment, .venv/ (hack/venv.sh makes it with
# $(BASE_PYTHON)), never from the system's; the scripts are handed its interpreter.
BASE_PYTHON ?= python3
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
PYTEST_ARGS ?=
VENV_SH := PYTHON=$(BASE_PYTHON) VENV=$(abspath $(VENV)) bash hack/venv.sh

.PHONY: venv setup demo-setup demo demo-down test test-unit lint crd bench image

venv:  ## .venv/ with the package (editable) and the test tools; pip runs only after a pyproject change
	$(VENV_SH) test

setup: venv  ## the venv, Debian packages, harness and test tool binaries, the image (all cached)
	PYTHON=$(PY) bash .ci/harness.sh
	bash .ci/postgres.sh
	bash .ci/tools.sh
	bash hack/image.sh setup

demo-setup:  ## only what the demo needs: the package in .venv/ and the control plane
	$(VENV_SH)
	PYTHON=$(PY) bash .ci/harness.sh

demo: demo-setup  ## local OpenShift-flavoured cluster + operator + sample CR, until Ready
	PYTHON=$(PY) bash hack/demo.sh up

image:  ## the operator image from the Dockerfile, no Docker engine (buildah; OCI archive in the cache)
	bash hack/image.sh build

demo-down:  ## stop the demo operator and cluster
	PYTHON=$(PY) bash hack/demo.sh down

test: setup lint  ## the whole suite: unit, integration, e2e (starts its own clusters)
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: venv  ## unit tests only, no cluster
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: venv  ## ruff, the generated CRD and install files are up to date, actionlint on the workflows
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m litemaas_operator crd --check
	$(PY) hack/gen_install.py --check
	bash hack/tools.sh actionlint
	"$$(bash hack/tools.sh path actionlint)"

crd: venv  ## regenerate crds/, manifests/, the chart's and the bundle's generated files
	$(PY) -m litemaas_operator crd
	$(PY) hack/gen_install.py

bench: setup  ## speed, API requests and memory at 1, 10 and 100 CRs
	$(PY) bench/run.py --json bench/results.json
