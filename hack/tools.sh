#!/usr/bin/env bash
# Build the install tooling from pinned Go modules into the cache (never into the repo).
#
#   hack/tools.sh helm             helm (helm.sh/helm/v3 cmd/helm)          -> <cache>/helm-<ver>/helm
#   hack/tools.sh operator-verify  OLM bundle validator (operator-framework/api cmd/operator-verify)
#                                                                           -> <cache>/operator-verify-<ver>/operator-verify
#   hack/tools.sh opm              catalog tool (operator-registry cmd/opm)  -> <cache>/olm-<ver>/bin/opm
#   hack/tools.sh olm              OLM v0 (operator-lifecycle-manager cmd/olm, cmd/catalog) and opm,
#                                  one wrapper module; OLM's CRDs and the OpenShift config CRDs
#                                  OLM watches                             -> <cache>/olm-<ver>/{bin,crds}
#   hack/tools.sh actionlint       GitHub Actions workflow linter (rhysd/actionlint cmd/actionlint)
#                                                                           -> <cache>/actionlint-<ver>/actionlint
#   hack/tools.sh all              all of them
#   hack/tools.sh path NAME        print the binary's path (exit 1 if it is not built)
#   hack/tools.sh path olm-crds    OLM's CRD directory (exit 1 if it is not there)
#   hack/tools.sh prometheus       promtool and prometheus (prometheus/prometheus cmd/promtool,
#                                  cmd/prometheus; tags remove_all_sd: static, file and http
#                                  discovery only)                         -> <cache>/prometheus-<ver>/
#   hack/tools.sh promtool         promtool alone (what the unit tests need)
#   hack/tools.sh prometheus-crds  prometheus-operator's CRDs (example/prometheus-operator-crd of
#                                  its module)                             -> <cache>/prometheus-operator-<ver>/crds
#   hack/tools.sh path prometheus|promtool|prometheus-crds
#
# A build is reused while the binary exists. Logs go to <cache>/logs/.
set -euo pipefail

HELM_VERSION=v3.21.4
OPERATOR_API_VERSION=v0.45.0
# OLM v0.46.0 requires operator-registry v1.73.0 (its go.mod), so one wrapper module builds
# olm, catalog and opm against one set of dependencies, and opm's version is OLM's.
OLM_VERSION=v0.46.0
OPM_VERSION=v1.73.0
# The Go module of Prometheus 3.16.0 (its VERSION file). Without remove_all_sd the build also
# compiles every cloud's service discovery (AWS, Azure, GCE, Kubernetes...): see docs/monitoring.md
# for the cold build figures of both. PROMETHEUS_TAGS= (empty) builds the full set.
PROMETHEUS_VERSION=v0.316.0
PROMETHEUS_TAGS=${PROMETHEUS_TAGS-remove_all_sd}
PROMETHEUS_OPERATOR_VERSION=v0.90.1
# The newest the module proxy serves (checks .github/workflows/ in `make lint`).
ACTIONLINT_VERSION=v1.7.12
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
# A build cache of our own: builds of other tools sharing the default cache at the same time
# were seen to lose each other's cache entries ("open .../go-build/...-d: no such file").
export GOCACHE=${TOOLS_GOCACHE:-$CACHE/go-build-tools}

log() { printf '[tools.sh] %s\n' "$*" >&2; }

helm_path() { echo "$CACHE/helm-$HELM_VERSION/helm"; }
verify_path() { echo "$CACHE/operator-verify-$OPERATOR_API_VERSION/operator-verify"; }
olm_dir() { echo "$CACHE/olm-$OLM_VERSION"; }
actionlint_path() { echo "$CACHE/actionlint-$ACTIONLINT_VERSION/actionlint"; }

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

build_actionlint() {
  build actionlint "$(actionlint_path)" "github.com/rhysd/actionlint@$ACTIONLINT_VERSION" \
    github.com/rhysd/actionlint/cmd/actionlint
}

build_verify() {
  build operator-verify "$(verify_path)" "github.com/operator-framework/api@$OPERATOR_API_VERSION" \
    github.com/operator-framework/api/cmd/operator-verify
}

# gomoddir MODULE@VERSION: downloads a module into the Go module cache and prints its directory.
gomoddir() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }

# build_olm_bins BIN...: `go build -mod=mod` of the named commands (opm, olm, catalog) in a
# wrapper module under <cache>/olm-<ver>. Not `go install pkg@ver`: the two modules are built
# together so that they share one dependency graph and one compile of it.
build_olm_bins() {
  local W bins=("$@") b missing=() pkgs=()
  W=$(olm_dir)
  for b in "${bins[@]}"; do [[ -x $W/bin/$b ]] || missing+=("$b"); done
  if ((${#missing[@]} == 0)); then
    log "${bins[*]}: reusing $W/bin"
    return
  fi
  mkdir -p "$W/bin" "$CACHE/logs"
  local logf="$CACHE/logs/olm-build.log" start=$SECONDS
  (
    cd "$W"
    [[ -f go.mod ]] || go mod init local/olm-bins >/dev/null 2>&1
    go get "github.com/operator-framework/operator-lifecycle-manager@$OLM_VERSION" \
      "github.com/operator-framework/operator-registry@$OPM_VERSION" >"$CACHE/logs/olm-deps.log" 2>&1
  ) || { tail -n 30 "$CACHE/logs/olm-deps.log" >&2; log "olm: go get FAILED"; return 1; }
  log "olm/opm: dependencies resolved in $((SECONDS - start))s"
  local ld="-s -w" reg=github.com/operator-framework/operator-registry
  ld+=" -X github.com/operator-framework/operator-lifecycle-manager/pkg/version.OLMVersion=${OLM_VERSION#v}"
  ld+=" -X $reg/cmd/opm/version.opmVersion=$OPM_VERSION"
  for b in "${missing[@]}"; do
    case $b in
      opm) pkgs+=("$reg/cmd/opm") ;;
      *) pkgs+=("github.com/operator-framework/operator-lifecycle-manager/cmd/$b") ;;
    esac
  done
  log "${missing[*]}: building (cold: opm ~3 min, with olm and catalog ~5-8 min on 2 cores; log: $logf)"
  # Tags as operator-registry's Makefile sets them (json1: sqlite JSON; openpgp: no gpgme/cgo).
  if ! (cd "$W" && go build -mod=mod -trimpath -tags json1,containers_image_openpgp \
    -ldflags "$ld" -o bin/ "${pkgs[@]}") >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2
    log "${missing[*]}: FAILED"
    return 1
  fi
  log "${missing[*]}: built in $((SECONDS - start))s"
}

# OLM's CRDs (deploy/chart/crds of the module) and, for an OpenShift-flavoured cluster, the
# config.openshift.io proxies and apiservers CRDs that OLM watches there, from the openshift/api
# module the harness pins (tests/harness/versions.env).
fetch_olm_crds() {
  local W D O
  W=$(olm_dir)/crds
  if [[ -s $W/openshift/apiservers.crd.yaml ]]; then return; fi
  mkdir -p "$W/openshift"
  D=$(gomoddir "github.com/operator-framework/operator-lifecycle-manager@$OLM_VERSION")
  install -m 0644 "$D"/deploy/chart/crds/*.crd.yaml "$W/"
  # shellcheck source=../tests/harness/versions.env
  O=$(source "$(dirname "${BASH_SOURCE[0]}")/../tests/harness/versions.env" && gomoddir "github.com/openshift/api@$OPENSHIFT_API_VERSION")
  install -m 0644 "$O/config/v1/zz_generated.crd-manifests/0000_03_config-operator_01_proxies.crd.yaml" \
    "$W/openshift/proxies.crd.yaml"
  install -m 0644 "$O/config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_apiservers-Default.crd.yaml" \
    "$W/openshift/apiservers.crd.yaml"
  log "olm: CRDs copied to $W"
}

build_opm() { build_olm_bins opm && "$(olm_dir)/bin/opm" version; }
build_olm() { build_olm_bins opm olm catalog && fetch_olm_crds; }

prom_dir() { echo "$CACHE/prometheus-$PROMETHEUS_VERSION${PROMETHEUS_TAGS:+-${PROMETHEUS_TAGS//,/-}}"; }
prom_crds_dir() { echo "$CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/crds"; }

# build_prometheus CMD...: `go install` of cmd/promtool and/or cmd/prometheus at one version, in
# one command (one dependency graph, one compile of what they share), timed. No web UI assets
# (tag builtinassets): the HTTP API the tests query is all there is.
build_prometheus() {
  local W b missing=() pkgs=() start=$SECONDS mod=github.com/prometheus/prometheus
  W=$(prom_dir)
  for b in "$@"; do [[ -x $W/$b ]] || missing+=("$b"); done
  if ((${#missing[@]} == 0)); then
    log "$*: reusing $W"
    return
  fi
  for b in "${missing[@]}"; do pkgs+=("$mod/cmd/$b@$PROMETHEUS_VERSION"); done
  mkdir -p "$W" "$CACHE/logs"
  local logf="$CACHE/logs/prometheus-build.log" v=github.com/prometheus/common/version
  local ld="-s -w -X $v.Version=$(prom_semver) -X $v.Branch=HEAD -X $v.Revision=$PROMETHEUS_VERSION"
  log "${missing[*]}: building $PROMETHEUS_VERSION, tags '${PROMETHEUS_TAGS}' (log: $logf)"
  if ! GOBIN=$W go install -trimpath -tags "$PROMETHEUS_TAGS" -ldflags "$ld" "${pkgs[@]}" \
    >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2
    log "${missing[*]}: FAILED"
    return 1
  fi
  log "${missing[*]}: built in $((SECONDS - start))s"
}

# v0.316.0 -> 3.16.0 (the module's minor is Prometheus' major*100 + minor).
prom_semver() {
  local minor=${PROMETHEUS_VERSION#v0.} patch
  patch=${minor#*.}
  minor=${minor%%.*}
  echo "$((minor / 100)).$((minor % 100)).$patch"
}

# The CRDs of ServiceMonitor, PodMonitor, PrometheusRule... from the module's example directory
# (downloaded into the Go module cache; nothing is committed).
fetch_prometheus_crds() {
  local W D
  W=$(prom_crds_dir)
  if [[ -s $W/monitoring.coreos.com_prometheusrules.yaml ]]; then return; fi
  mkdir -p "$W"
  D=$(gomoddir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
  install -m 0644 "$D"/example/prometheus-operator-crd/monitoring.coreos.com_*.yaml "$W/"
  log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: CRDs copied to $W"
}

case ${1:-} in
  helm) build_helm ;;
  operator-verify) build_verify ;;
  actionlint) build_actionlint ;;
  opm) build_opm ;;
  olm) build_olm ;;
  prometheus) build_prometheus promtool prometheus && fetch_prometheus_crds ;;
  promtool) build_prometheus promtool ;;
  prometheus-crds) fetch_prometheus_crds ;;
  all) build_helm; build_verify; build_actionlint; build_olm; build_prometheus promtool prometheus; fetch_prometheus_crds ;;
  path)
    case ${2:-} in
      helm) p=$(helm_path) ;;
      operator-verify) p=$(verify_path) ;;
      actionlint) p=$(actionlint_path) ;;
      opm | olm | catalog) p=$(olm_dir)/bin/$2 ;;
      olm-crds) p=$(olm_dir)/crds; [[ -s $p/openshift/apiservers.crd.yaml ]] || { echo "$p"; exit 1; }; echo "$p"; exit 0 ;;
      promtool | prometheus) p=$(prom_dir)/$2 ;;
      prometheus-crds) p=$(prom_crds_dir); [[ -s $p/monitoring.coreos.com_prometheusrules.yaml ]] || { echo "$p"; exit 1; }; echo "$p"; exit 0 ;;
      *) echo "usage: $0 path helm|operator-verify|actionlint|opm|olm|catalog|olm-crds|promtool|prometheus|prometheus-crds" >&2; exit 2 ;;
    esac
    echo "$p"
    [[ -x $p ]]
    ;;
  *) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
