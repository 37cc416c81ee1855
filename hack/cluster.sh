#!/usr/bin/env bash
# Local Kubernetes control plane for tests and local runs, built from Go modules (no Docker).
#
#   hack/cluster.sh build                         build or reuse etcd, kube-*, kubectl, kwok and
#                                                 the route webhook (tests/harness/routewebhook)
#   hack/cluster.sh up [--flavour openshift|kubernetes] [--name N]
#   hack/cluster.sh down [--name N]
#   hack/cluster.sh env [--name N]                prints `export KUBECONFIG=...`
#   hack/cluster.sh status                        lists clusters under the cache dir
#
# Binaries and cluster state live under ${LITEMAAS_CACHE:-~/.cache/litemaas-operator}, never in
# the repo. Versions are pinned in tests/harness/versions.env. The process orchestration is
# Python (tests/harness/control_plane.py) so that `up` here and the pytest fixtures share it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/harness/versions.env
source "$ROOT/tests/harness/versions.env"
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
# GOTOOLCHAIN=local unless the caller chose a toolchain (.ci/harness.sh may, on an old Go).
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
# The project's venv (hack/venv.sh: `make demo-setup` or `make setup` make it) runs the harness.
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

log() { printf '[cluster.sh] %s\n' "$*" >&2; }

# timed NAME LOGFILE CMD...: runs CMD with its output in LOGFILE and reports wall time and the
# peak RSS of the biggest single process (GNU time), which is what decides whether a 2-core CI
# machine copes. On failure the log tail is shown.
timed() {
  local name=$1 logf=$2; shift 2
  local start=$SECONDS tfile; tfile=$(mktemp)
  local -a timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -v -o "$tfile")
  if ! "${timer[@]}" "$@" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2; log "$name: FAILED (full log: $logf)"; rm -f "$tfile"; return 1
  fi
  local rss; rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tfile")
  log "$name: built in $((SECONDS - start))s${rss:+, peak RSS $((rss / 1024)) MiB}"
  rm -f "$tfile"
}

# gomoddir MODULE@VERSION: downloads a module into the Go module cache and prints its directory.
gomoddir() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }

build_k8s() {
  local W=$CACHE/k8s-$K8S_VERSION P=k8s.io/kubernetes/cmd
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl) b ok=1
  for b in "${bins[@]}"; do [[ -x $W/bin/$b ]] || ok=0; done
  if ((ok)) && [[ $("$W/bin/kube-apiserver" --version 2>/dev/null) == "Kubernetes $K8S_VERSION" ]]; then
    log "kubernetes $K8S_VERSION: reusing $W/bin"; return
  fi
  log "kubernetes $K8S_VERSION: building ${bins[*]} (cold: ~8 min on 2 cores)"
  mkdir -p "$W/bin"; cd "$W"
  [[ -f go.mod ]] || go mod init local/k8s-bins >/dev/null 2>&1
  # k8s.io/kubernetes replaces its staging modules with ./staging/... and requires v0.0.0, so
  # `go install pkg@ver` fails; this wrapper module maps every staging module to v0.<minor>.<patch>
  # (list generated from the real go.mod, so new staging modules are picked up).
  local SV=v0.${K8S_VERSION#v1.} MINOR GOMOD m gd start=$SECONDS
  MINOR=$(cut -d. -f2 <<<"$K8S_VERSION")
  GOMOD=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$GOMOD"); do
    go mod edit -replace="$m=$m@$SV"
  done
  go mod edit -go="$(sed -n 's/^go //p' "$GOMOD")"
  # Without upstream's godebug line, Go 1.26's newer GODEBUG defaults would apply.
  gd=$(sed -n 's/^godebug default=//p' "$GOMOD"); [[ -z $gd ]] || go mod edit -godebug=default="$gd"
  go get "$P/kube-apiserver@$K8S_VERSION" "$P/kube-controller-manager@$K8S_VERSION" \
    "$P/kube-scheduler@$K8S_VERSION" "$P/kubectl@$K8S_VERSION" >"$CACHE/logs/k8s-deps.log" 2>&1
  log "kubernetes $K8S_VERSION: dependencies resolved in $((SECONDS - start))s"
  # Version stamps (keys from k8s hack/lib/version.sh); unset, --version says v0.0.0-master.
  local LD="-s -w" kv
  for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$MINOR gitTreeState=clean \
    buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ); do
    LD+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  timed "kubernetes $K8S_VERSION" "$CACHE/logs/k8s-build.log" \
    go build -mod=mod -trimpath -ldflags "$LD" -o bin/ \
    "$P/kube-apiserver" "$P/kube-controller-manager" "$P/kube-scheduler" "$P/kubectl"
  "$W/bin/kube-apiserver" --version
}

build_etcd() {
  local W=$CACHE/etcd-$ETCD_VERSION
  if [[ -x $W/bin/etcd ]] && "$W/bin/etcd" --version 2>/dev/null | grep -qx "etcd Version: ${ETCD_VERSION#v}"; then
    log "etcd $ETCD_VERSION: reusing $W/bin"; return
  fi
  log "etcd $ETCD_VERSION: building"
  mkdir -p "$W/bin"; cd "$W"
  [[ -f go.mod ]] || go mod init local/etcd-build >/dev/null 2>&1
  # server/go.mod replaces api/v3 etc. with ../api, so `go install` refuses it: use a wrapper.
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >"$CACHE/logs/etcd-deps.log" 2>&1
  timed "etcd $ETCD_VERSION" "$CACHE/logs/etcd-build.log" \
    go build -mod=mod -trimpath -ldflags "-s -w" -o bin/etcd go.etcd.io/etcd/server/v3
}

build_kwok() {
  local W=$CACHE/kwok-$KWOK_VERSION
  if [[ -x $W/bin/kwok && -s $W/stages.yaml ]] && "$W/bin/kwok" --version 2>/dev/null | grep -q "$KWOK_VERSION"; then
    log "kwok $KWOK_VERSION: reusing $W/bin"; return
  fi
  log "kwok $KWOK_VERSION: building"
  mkdir -p "$W/bin"
  timed "kwok $KWOK_VERSION" "$CACHE/logs/kwok-build.log" \
    env GOBIN="$W/bin" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$K8S_VERSION" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # Since v0.8.0 a standalone kwok has no built-in stages ("no stages found"): take the fast
  # node/pod stages from the module source. pod-delete finalises terminating pods, which
  # rollouts, namespace deletion and garbage collection need.
  local S f; S=$(gomoddir "sigs.k8s.io/kwok@$KWOK_VERSION")/kustomize/stage
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$S/$f"; echo ---
  done >"$W/stages.yaml"
}

fetch_openshift_api() {
  # The real Route and Ingress-config CRDs, from the openshift/api Go module (not vendored).
  local W=$CACHE/openshift-api-$OPENSHIFT_API_VERSION D
  if [[ -s $W/routes.crd.yaml && -s $W/ingresses.crd.yaml ]]; then
    log "openshift/api $OPENSHIFT_API_VERSION: reusing CRDs in $W"; return
  fi
  D=$(gomoddir "github.com/openshift/api@$OPENSHIFT_API_VERSION")
  mkdir -p "$W"
  install -m 0644 "$D/route/v1/zz_generated.crd-manifests/routes.crd.yaml" "$W/routes.crd.yaml"
  install -m 0644 "$D/config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_ingresses.crd.yaml" \
    "$W/ingresses.crd.yaml"
  log "openshift/api $OPENSHIFT_API_VERSION: CRDs copied to $W"
}

build_routewebhook() {
  # The harness's Route admission webhook (tests/harness/routewebhook, its own Go module with a
  # committed go.sum): cached under a digest of its sources, as tests/harness/config.py computes.
  local S=$ROOT/tests/harness/routewebhook W digest
  digest=$(cd "$S" && LC_ALL=C cat go.mod go.sum *.go | sha256sum | cut -c1-12)
  W=$CACHE/routewebhook-$digest
  if [[ -x $W/routewebhook ]]; then
    log "routewebhook $digest: reusing $W"; return
  fi
  log "routewebhook $digest: building (cold: ~5 min on 2 cores)"
  mkdir -p "$W"
  timed "routewebhook $digest" "$CACHE/logs/routewebhook-build.log" \
    env -C "$S" go build -mod=readonly -trimpath -ldflags "-s -w" -o "$W/routewebhook" .
}

cmd_build() {
  command -v go >/dev/null || { log "Go is required to build (GOTOOLCHAIN=local)"; exit 1; }
  mkdir -p "$CACHE/logs"
  local start=$SECONDS
  build_etcd; build_kwok; fetch_openshift_api; build_k8s; build_routewebhook
  log "build: done in $((SECONDS - start))s; binaries under $CACHE"
}

harness() {
  command -v "$PYTHON" >/dev/null || { log "no $PYTHON: run \`make demo-setup\` (or hack/venv.sh) first"; exit 1; }
  PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m harness "$@"
}

case ${1:-} in
  build) cmd_build ;;
  up | down | env | status) harness "$@" ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
