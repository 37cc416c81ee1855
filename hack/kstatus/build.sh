#!/usr/bin/env bash
# Builds (or reuses) hack/kstatus, the kstatus reader the health-reader tests run:
#
#   bash hack/kstatus/build.sh          prints the binary's path on stdout
#
# The binary lives at ${LITEMAAS_CACHE:-~/.cache/litemaas-operator}/kstatus-<version>/kstatus,
# never in the repo. <version> is the cli-utils version plus a hash of main.go, go.mod and
# go.sum, so an edit or a bump builds a new binary and an unchanged tree reuses the old one.
# tests/integration/test_health_readers.py computes the same path.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0

log() { printf '[kstatus/build.sh] %s\n' "$*" >&2; }

CLI_UTILS=$(sed -n 's#^[[:space:]]*sigs\.k8s\.io/cli-utils \(v[^ ]*\).*#\1#p' "$HERE/go.mod")
HASH=$(cat "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -c1-12)
VERSION=cli-utils-$CLI_UTILS-$HASH
OUT=$CACHE/kstatus-$VERSION/kstatus

if [[ -x $OUT ]]; then
  log "reusing $OUT"
else
  log "building $OUT"
  start=$SECONDS
  mkdir -p "$(dirname "$OUT")"
  (cd "$HERE" && go build -trimpath -o "$OUT.tmp" .)
  mv "$OUT.tmp" "$OUT"
  log "built in $((SECONDS - start))s"
fi
echo "$OUT"
