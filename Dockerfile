# The litemaas-operator image: `litemaas-operator run`, non-root, OpenShift restricted-v2 ready
# (any UID with group 0, read-only root filesystem, writes only to /tmp).
#
#   docker build -t quay.io/rh-aiservices-bu/litemaas-operator:0.1.0 .
#
# The base is pinned by tag; pin it by digest (python:3.11.14-slim-bookworm@sha256:...) in the
# release pipeline, where the registry can be asked for it.
ARG PYTHON_IMAGE=docker.io/library/python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first (a layer that survives code changes): exactly the tested versions and the
# pinned build backend, each wheel checked against the sha256 recorded in the lock.
COPY hack/install/requirements.lock /src/requirements.lock
RUN pip install --require-hashes --no-deps --only-binary=:all: -r /src/requirements.lock
COPY pyproject.toml README.md /src/
COPY operator /src/operator
# Built with the locked setuptools already in the venv: no build isolation and no index, so
# nothing unpinned is fetched at build time.
RUN pip install --no-index --no-deps --no-build-isolation /src
# The installer is not needed at run time.
RUN pip uninstall -y pip setuptools && python -m compileall -q /opt/venv

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="litemaas-operator" \
      org.opencontainers.image.description="Deploys and runs LiteMaaS from one LiteMaaS resource" \
      org.opencontainers.image.source="https://github.com/rh-aiservices-bu/litemaas-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/venv /opt/venv
# HOME=/tmp: an arbitrary UID has no home directory; /tmp is the only writable place
# (an emptyDir in the Deployment, the root filesystem is read-only).
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
EXPOSE 8080 8081
# Numeric, non-root, group 0: OpenShift runs it as an arbitrary UID in group 0 instead, which
# needs nothing but read access to /opt/venv (root-owned, world-readable).
USER 1001:0
ENTRYPOINT ["litemaas-operator", "run"]
