#!/usr/bin/env bash
# Builds (or reuses) the Go tools the tests call besides the control plane: helm, the OLM
# bundle validator and the kstatus reader. Each script caches its binary outside the repo.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for script in hack/tools.sh hack/kstatus/build.sh; do
  if [[ -f "$ROOT/$script" ]]; then
    bash "$ROOT/$script"
  fi
done
