#!/usr/bin/env bash
# The newcomer's first command: a local OpenShift-flavoured cluster with LiteMaaS on it.
#
#   hack/demo.sh up     cluster (hack/cluster.sh, needs `hack/cluster.sh build` once), install
#                       from manifests/, run the operator, apply the sample CR, wait for Ready
#   hack/demo.sh down   stop the operator and the cluster
#
# The harness runs no containers (kwok fakes the kubelet): the operator's Deployment would
# look Running and do nothing, so it is scaled to 0 and the same program runs here, in the
# background, authenticated with a token of its own ServiceAccount: exactly the installed RBAC.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
NAME=${DEMO_CLUSTER:-demo}
DEMO_NS=${DEMO_NAMESPACE:-litemaas-demo}
STATE=$CACHE/demo
# shellcheck source=../tests/harness/versions.env
source "$ROOT/tests/harness/versions.env"
export PATH="$CACHE/k8s-$K8S_VERSION/bin:$PATH"
# The project's venv (hack/venv.sh: `make demo-setup` or `make setup` make it) runs the operator.
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

log() { printf '[demo] %s\n' "$*" >&2; }

operator_pid() { [[ -f $STATE/operator.pid ]] && kill -0 "$(cat "$STATE/operator.pid")" 2>/dev/null && cat "$STATE/operator.pid"; }

up() {
  command -v "$PYTHON" >/dev/null || { log "no $PYTHON: run \`make demo-setup\` first"; exit 1; }
  mkdir -p "$STATE"
  "$ROOT/hack/cluster.sh" up --flavour openshift --name "$NAME"
  eval "$("$ROOT/hack/cluster.sh" env --name "$NAME")"
  log "installing the operator: kubectl apply --server-side -k manifests/"
  kubectl apply --server-side --force-conflicts -k "$ROOT/manifests" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd/litemaases.litemaas.io >/dev/null
  log "kwok runs no containers: scaling the in-cluster Deployment to 0, running the operator here"
  kubectl scale deployment/litemaas-operator -n litemaas-operator-system --replicas=0 >/dev/null
  local token server ca
  token=$(kubectl create token litemaas-operator -n litemaas-operator-system --duration=24h)
  server=$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')
  ca=$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  (umask 077 && cat >"$STATE/operator.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: $NAME, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: litemaas-operator, user: {token: "$token"}}]
contexts: [{name: operator, context: {cluster: $NAME, user: litemaas-operator}}]
current-context: operator
KUBECONFIG
  )
  if pid=$(operator_pid); then kill "$pid"; sleep 1; fi
  # Own session, so `down` can stop it by its process group; health/metrics on free ports.
  setsid "$PYTHON" -m litemaas_operator run --kubeconfig "$STATE/operator.kubeconfig" \
    --log-format plain --health-port 0 --metrics-port 0 >"$STATE/operator.log" 2>&1 &
  echo $! >"$STATE/operator.pid"
  log "operator running (pid $(cat "$STATE/operator.pid"), log: $STATE/operator.log)"
  kubectl create namespace "$DEMO_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -n "$DEMO_NS" -f "$ROOT/manifests/samples/litemaas-cr.yaml"
  log "waiting for Ready"
  if ! kubectl wait -n "$DEMO_NS" lmaas/litemaas --for=condition=Ready --timeout=180s >/dev/null; then
    kubectl get lmaas -n "$DEMO_NS" -o yaml >&2
    tail -n 30 "$STATE/operator.log" >&2
    log "not Ready; see above"
    return 1
  fi
  kubectl get lmaas -A
  echo
  echo "Portal:  $(kubectl get lmaas litemaas -n "$DEMO_NS" -o jsonpath='{.status.urls.frontend}')"
  echo "LiteLLM: $(kubectl get lmaas litemaas -n "$DEMO_NS" -o jsonpath='{.status.urls.litellm}')"
  echo "(hosts on the harness's apps domain: nothing serves them, pods are simulated)"
  echo
  echo "Try:    eval \"\$(hack/cluster.sh env --name $NAME)\"; kubectl get all -n $DEMO_NS"
  echo "Log:    $STATE/operator.log"
  echo "Stop:   hack/demo.sh down"
}

down() {
  if pid=$(operator_pid); then
    log "stopping the operator (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill "$pid"
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$STATE/operator.pid" "$STATE/operator.kubeconfig"
  "$ROOT/hack/cluster.sh" down --name "$NAME"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
