# litemaas-operator: the everyday commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: setup demo-setup demo demo-down test test-unit lint crd bench image

setup:  ## Python package and test tools, Debian packages, harness binaries (cached)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	bash .ci/harness.sh
	bash .ci/postgres.sh
	bash .ci/tools.sh
	bash hack/image.sh setup

demo-setup:  ## only what the demo needs: the package and the control plane (no test tools, no image)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e .
	bash .ci/harness.sh

demo: demo-setup  ## local OpenShift-flavoured cluster + operator + sample CR, until Ready
	bash hack/demo.sh up

image:  ## the operator image from the Dockerfile, no Docker engine (buildah; OCI archive in the cache)
	bash hack/image.sh build

demo-down:  ## stop the demo operator and cluster
	bash hack/demo.sh down

test: setup lint  ## the whole suite: unit, integration, e2e (starts its own clusters)
	$(PYTHON) -m pytest tests $(PYTEST_ARGS)

test-unit:  ## unit tests only, no cluster
	$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

lint:  ## ruff, the generated CRD and install files are up to date, actionlint on the workflows
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	litemaas-operator crd --check
	$(PYTHON) hack/gen_install.py --check
	bash hack/tools.sh actionlint
	"$$(bash hack/tools.sh path actionlint)"

crd:  ## regenerate crds/, manifests/, the chart's and the bundle's generated files
	litemaas-operator crd
	$(PYTHON) hack/gen_install.py

bench: setup  ## speed, API requests and memory at 1, 10 and 100 CRs
	$(PYTHON) bench/run.py --json bench/results.json
