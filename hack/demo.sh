#!/usr/bin/env bash
# The newcomer's first command: a local OpenShift-flavoured cluster with LiteMaaS on it.
#
#   hack/demo.sh up     cluster (hack/cluster.sh, needs `hack/cluster.sh build` once), install
#                       from manifests/, run the operator, apply the sample CR, wait for Ready
#   hack/demo.sh down   stop the operator and the cluster
#
# The harness runs no containers (kwok fakes the kubelet): the operator's Deployment would
# look Running and do nothing, so it is scaled to 0 and the operator runs here instead,
# authenticated with a token of its own ServiceAccount: exactly the installed RBAC. Where the
# image can run (root, runc and umoci, the archive of `make image`), it runs from the image
# under runc, configured from the Deployment's pod template as tests/e2e/test_image.py runs it
# (hack/demo_image.py); otherwise the same program runs as a host process from .venv/.
# DEMO_OPERATOR=image or =process chooses instead (image fails where it cannot run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
NAME=${DEMO_CLUSTER:-demo}
DEMO_NS=${DEMO_NAMESPACE:-litemaas-demo}
# One state directory per cluster: two demos (DEMO_CLUSTER) keep their operators apart.
STATE=$CACHE/demo/$NAME
# shellcheck source=../tests/harness/versions.env
source "$ROOT/tests/harness/versions.env"
export PATH="$CACHE/k8s-$K8S_VERSION/bin:$PATH"
# The project's venv (hack/venv.sh: `make demo-setup` or `make setup` make it) runs the operator.
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

log() { printf '[demo] %s\n' "$*" >&2; }

# A zombie is not running (where PID 1 reaps orphans late, `kill -0` still finds it).
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }
operator_pid() { [[ -f $STATE/operator.pid ]] && running "$(cat "$STATE/operator.pid")" && cat "$STATE/operator.pid"; }

# Why the operator cannot run from its image here (nothing when it can).
image_unusable() {
  ((EUID == 0)) || { echo "not root (runc needs it)"; return; }
  local t
  for t in runc umoci; do command -v "$t" >/dev/null || { echo "no $t"; return; }; done
  "$ROOT/hack/image.sh" path >/dev/null 2>&1 || echo "no image archive (\`make image\` builds it)"
}

# Stops the operator (either kind) and removes all of an image run: the supervisor gives the
# container the pod's grace period (30 s), then removes it; `clean` covers a killed supervisor.
stop_operator() {
  local pid
  if pid=$(operator_pid); then
    log "stopping the operator (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill "$pid"
    for _ in $(seq 100); do running "$pid" || break; sleep 0.5; done
    if running "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  fi
  rm -f "$STATE/operator.pid"
  if [[ -d $STATE/image ]]; then
    "$PYTHON" "$ROOT/hack/demo_image.py" clean --dir "$STATE/image" || return 1
  fi
}

# Starts the operator from the image (a supervisor in its own session, which `down` stops).
start_image() {
  : >"$STATE/operator.log"
  # The container's output and the supervisor's own lines share the log, both appending.
  # shellcheck disable=SC2094
  setsid "$PYTHON" "$ROOT/hack/demo_image.py" run --kubeconfig "$KUBECONFIG" \
    --dir "$STATE/image" --log "$STATE/operator.log" >>"$STATE/operator.log" 2>&1 &
  echo $! >"$STATE/operator.pid"
  # Unpacking the image takes seconds; the liveness probe allows 75 s after `runc run`.
  for _ in $(seq 240); do
    [[ -s $STATE/image/ready ]] && break
    operator_pid >/dev/null || break
    sleep 0.5
  done
  if [[ ! -s $STATE/image/ready ]]; then
    tail -n 30 "$STATE/operator.log" >&2
    log "the operator's container did not start; see above"
    return 1
  fi
  log "operator running from the image: $(cat "$STATE/image/ready")"
}

# Starts the operator as a host process of .venv/'s Python, with its ServiceAccount's token.
start_process() {
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
  # Own session, so `down` can stop it by its process group; health/metrics on free ports.
  setsid "$PYTHON" -m litemaas_operator run --kubeconfig "$STATE/operator.kubeconfig" \
    --log-format plain --health-port 0 --metrics-port 0 >"$STATE/operator.log" 2>&1 &
  echo $! >"$STATE/operator.pid"
  log "operator running as a host process ($1; pid $(cat "$STATE/operator.pid"), log: $STATE/operator.log)"
}

up() {
  command -v "$PYTHON" >/dev/null || { log "no $PYTHON: run \`make demo-setup\` first"; exit 1; }
  local mode=${DEMO_OPERATOR:-auto} why
  why=$(image_unusable)
  case $mode in
    auto) if [[ -z $why ]]; then mode=image; else mode=process why="image not used: $why"; fi ;;
    image) [[ -z $why ]] || { log "DEMO_OPERATOR=image, but it cannot run here: $why"; exit 1; } ;;
    process) why="DEMO_OPERATOR=process" ;;
    *) log "DEMO_OPERATOR must be image or process, not $mode"; exit 2 ;;
  esac
  mkdir -p "$STATE"
  "$ROOT/hack/cluster.sh" up --flavour openshift --name "$NAME"
  eval "$("$ROOT/hack/cluster.sh" env --name "$NAME")"
  log "installing the operator: kubectl apply --server-side -k manifests/"
  kubectl apply --server-side --force-conflicts -k "$ROOT/manifests" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd/litemaases.litemaas.io >/dev/null
  log "kwok runs no containers: scaling the in-cluster Deployment to 0, running the operator here"
  kubectl scale deployment/litemaas-operator -n litemaas-operator-system --replicas=0 >/dev/null
  stop_operator  # one left from an earlier `up`
  if [[ $mode == image ]]; then start_image; else start_process "$why"; fi
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
  echo "Stop:   ${DEMO_CLUSTER:+DEMO_CLUSTER=$NAME }hack/demo.sh down"
}

down() {
  local ok=0
  stop_operator || ok=1
  rm -f "$STATE/operator.kubeconfig"
  "$ROOT/hack/cluster.sh" down --name "$NAME"
  ((ok == 0)) || { log "the operator's container left something behind: see above"; return 1; }
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
