#!/usr/bin/env bash
# Builds (or reuses) the Go tools the tests call besides the control plane: helm, the OLM
# bundle validator, OLM v0 (olm, catalog) and opm, promtool and prometheus with the
# prometheus-operator CRDs (hack/tools.sh), and the kstatus reader (hack/kstatus/build.sh).
# Each caches its binary outside the repo.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/hack/tools.sh" all
bash "$ROOT/hack/kstatus/build.sh" >/dev/null
