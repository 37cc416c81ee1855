#!/usr/bin/env bash
# Runs the integration suite on kind instead of the local harness (needs Docker, kind, kubectl).
#
#   hack/e2e-kind.sh [pytest args...]        default: tests/integration
#
# Creates two kind clusters, one per flavour; the plugin installs the OpenShift stand-in CRDs
# and runs the fake router (in the pytest process) on the openshift one. KEEP=1 keeps the
# clusters; KIND_NODE_IMAGE picks the node image (e.g. kindest/node:v1.36.x).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${KIND_PREFIX:-litemaas}
DIR=$(mktemp -d)

cleanup() {
  if [[ -z ${KEEP:-} ]]; then
    for flavour in openshift kubernetes; do kind delete cluster --name "$PREFIX-$flavour" || true; done
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

for flavour in openshift kubernetes; do
  kind create cluster --name "$PREFIX-$flavour" --kubeconfig "$DIR/$flavour.kubeconfig" \
    --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
done

(($#)) || set -- tests/integration
cd "$ROOT"
"${PYTHON:-$ROOT/.venv/bin/python}" -m pytest "$@" \
  --kubeconfig-openshift "$DIR/openshift.kubeconfig" \
  --kubeconfig-kubernetes "$DIR/kubernetes.kubeconfig"
