#!/usr/bin/env bash
# Build the install tooling from pinned Go modules into the cache (never into the repo).
#
#   hack/tools.sh helm             helm (helm.sh/helm/v3 cmd/helm)          -> <cache>/helm-<ver>/helm
#   hack/tools.sh operator-verify  OLM bundle validator (operator-framework/api cmd/operator-verify)
#                                                                           -> <cache>/operator-verify-<ver>/operator-verify
#   hack/tools.sh all              both
#   hack/tools.sh path NAME        print the binary's path (exit 1 if it is not built)
#
# A build is reused while the binary exists. Logs go to <cache>/logs/.
set -euo pipefail

HELM_VERSION=v3.21.4
OPERATOR_API_VERSION=v0.45.0
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
# A build cache of our own: builds of other tools sharing the default cache at the same time
# were seen to lose each other's cache entries ("open .../go-build/...-d: no such file").
export GOCACHE=${TOOLS_GOCACHE:-$CACHE/go-build-tools}

log() { printf '[tools.sh] %s\n' "$*" >&2; }

helm_path() { echo "$CACHE/helm-$HELM_VERSION/helm"; }
verify_path() { echo "$CACHE/operator-verify-$OPERATOR_API_VERSION/operator-verify"; }

# build NAME BIN MODULE@VERSION PACKAGE [LDFLAGS]: `go install` into a private GOBIN, timed.
build() {
  local name=$1 bin=$2 modver=$3 pkg=$4 ldflags=${5:-"-s -w"}
  if [[ -x $bin ]]; then
    log "$name: reusing $bin"
    return
  fi
  mkdir -p "$(dirname "$bin")" "$CACHE/logs"
  local logf="$CACHE/logs/$name-build.log" start=$SECONDS
  log "$name: building $pkg@${modver#*@} (log: $logf)"
  if ! GOBIN=$(dirname "$bin") go install -trimpath -ldflags "$ldflags" "$pkg@${modver#*@}" \
    >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2
    log "$name: FAILED"
    return 1
  fi
  log "$name: built in $((SECONDS - start))s"
}

build_helm() {
  # Version stamps as helm's Makefile sets them: without the Kubernetes ones, `helm template`
  # and `helm lint` assume Kubernetes v1.20 and refuse charts with a newer kubeVersion.
  local gomod minor
  gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod")
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" p
  for p in lint/rules chartutil; do
    ld+=" -X helm.sh/helm/v3/pkg/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$p.k8sVersionMinor=$minor"
  done
  build helm "$(helm_path)" "helm.sh/helm/v3@$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$ld"
  "$(helm_path)" version --short
}

build_verify() {
  build operator-verify "$(verify_path)" "github.com/operator-framework/api@$OPERATOR_API_VERSION" \
    github.com/operator-framework/api/cmd/operator-verify
}

case ${1:-} in
  helm) build_helm ;;
  operator-verify) build_verify ;;
  all) build_helm; build_verify ;;
  path)
    case ${2:-} in
      helm) p=$(helm_path) ;;
      operator-verify) p=$(verify_path) ;;
      *) echo "usage: $0 path helm|operator-verify" >&2; exit 2 ;;
    esac
    echo "$p"
    [[ -x $p ]]
    ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
