#!/usr/bin/env bash
# The project's virtual environment, .venv/ (gitignored): the package installed editable, so
# nothing goes into the system Python (whose own packages pip would warn about). The Makefile,
# .ci/run, hack/demo.sh and hack/cluster.sh all run .venv/bin/python; the tests spawn the
# operator with the interpreter that runs pytest, so it is the venv's too.
#
#   hack/venv.sh          the package and its dependencies (what `make demo` needs)
#   hack/venv.sh test     also the test tools (the [test] extra: pytest, ruff, ...)
#
# Idempotent: pip runs only when pyproject.toml or the lock changed since that set was last
# installed (the code itself needs no reinstall: the install is editable). PYTHON picks the interpreter that
# makes the venv (default python3, >= 3.11); VENV its place.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
extra=${1:-}
case $extra in
  "" | test) ;;
  *) echo "usage: $0 [test]" >&2; exit 2 ;;
esac

log() { printf '[venv.sh] %s\n' "$*" >&2; }

if [[ ! -x $VENV/bin/python ]]; then
  # Debian ships venv's pip bootstrap (ensurepip) in a package of its own.
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    SUDO=; ((EUID == 0)) || SUDO=sudo
    log "installing python3-venv (Debian's ensurepip)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv
  fi
  log "creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi

# The runtime dependencies at the versions of hack/install/requirements.lock, what the image
# ships (a unit test holds the two equal), given to pip as constraints without their hashes.
LOCK=$ROOT/hack/install/requirements.lock
# One stamp per set, holding the pyproject.toml and lock it was installed from; the test set
# includes the other.
want=$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -d' ' -f1)
stamps=("$VENV/.installed-test")
[[ -n $extra ]] || stamps+=("$VENV/.installed")
for stamp in "${stamps[@]}"; do
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then exit 0; fi
done
start=$SECONDS
log "pip install -e '.${extra:+[$extra]}' into $VENV"
sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\).*/\1/p' "$LOCK" >"$VENV/constraints.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$VENV/constraints.txt" -e "$ROOT${extra:+[$extra]}"
echo "$want" >"$VENV/.installed${extra:+-$extra}"
log "installed in $((SECONDS - start))s"
