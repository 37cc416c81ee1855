#!/usr/bin/env bash
# Prepares a fresh Debian machine for the test harness and builds (or reuses) its binaries.
# Called by .ci/run. Idempotent; a few seconds when these are cached between runs:
#   ${LITEMAAS_CACHE:-~/.cache/litemaas-operator}   built binaries (~350 MB)
#   $(go env GOMODCACHE) and $(go env GOCACHE)        only speed up a rebuild after a bump
# Cold on 2 cores: about 13 minutes, 2 GiB peak RSS (see docs/testing.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO_MIN=1.26  # kwok v0.8.0 and Kubernetes v1.36 need Go 1.26
GO_FALLBACK=go1.26.8  # the toolchain the harness was measured with

# openssl: per-cluster PKI; time: build figures; util-linux: setpriv ties processes to pytest.
need=()
command -v openssl >/dev/null || need+=(openssl)
[[ -x /usr/bin/time ]] || need+=(time)
command -v setpriv >/dev/null || need+=(util-linux)
command -v go >/dev/null || need+=(golang-go ca-certificates)
if ((${#need[@]})); then
  SUDO=; ((EUID == 0)) || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# An older Go (>= 1.21, e.g. Debian trixie's) fetches the toolchain from the Go module proxy.
have=$(go env GOVERSION | sed 's/^go//')
if [[ $(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -1) != "$GO_MIN" ]]; then
  export GOTOOLCHAIN=$GO_FALLBACK
  echo "[harness.sh] Go $have is older than $GO_MIN: using GOTOOLCHAIN=$GOTOOLCHAIN" >&2
fi

"$ROOT/hack/cluster.sh" build
