#!/usr/bin/env bash
# The operator image, built from the project's Dockerfile without a Docker engine.
#
#   hack/image.sh build     build (or reuse) it and write an OCI archive into the cache
#                           (installs the Debian packages below first, if missing)
#   hack/image.sh setup     `build` for `make setup`: as root; says so loudly otherwise
#   hack/image.sh deps      install the Debian packages it needs (mmdebstrap, buildah, skopeo,
#                           umoci, runc), if missing
#   hack/image.sh path      print the OCI archive's path (exit 1 if it has not been built)
#   hack/image.sh clean     remove the image cache (base, build storage, archive)
#
# By default (no container registry needed) the Dockerfile is built on a STAND-IN for
# docker.io/library/python:3.11.14-slim-bookworm: a Debian bookworm root filesystem from
# mmdebstrap, with Debian's python3 (3.11) and a venv at /usr/local (so `python` and `pip` are
# where the official image has them), passed as the Dockerfile's ARG PYTHON_IMAGE. It is made
# from the machine's apt sources, kept in the cache and reused while its recipe and those
# sources are unchanged (bookworm point releases do not change them: `clean` to refresh).
# LITEMAAS_IMAGE_BASE=official builds on the real base instead (a registry must answer), and
# LITEMAAS_IMAGE_BASE=<image>@sha256:<digest> on that image (releases: the official base pinned).
#
# Everything lands in ${LITEMAAS_CACHE:-~/.cache/litemaas-operator}/image (never in the repo):
# base-<key>.tar (the stand-in's root filesystem), storage/ (buildah's image store and layer
# cache), litemaas-operator-<version>.oci.tar and .json (the archive and what it was built from),
# unpacked-<image id>/ (hack/demo.sh's root filesystem of it, hack/demo_image.py).
# Needs root (buildah's and runc's storage and mounts); CI runs as root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LITEMAAS_CACHE:-$HOME/.cache/litemaas-operator}
DIR=$CACHE/image
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)
IMAGE=localhost/litemaas-operator:$VERSION
ARCHIVE=$DIR/litemaas-operator-$VERSION.oci.tar
OFFICIAL_BASE=$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$ROOT/Dockerfile")
PACKAGES=(mmdebstrap buildah skopeo umoci runc)
# The stand-in's recipe: bookworm minbase with Debian's python3, trimmed as debian:*-slim is.
BASE_INCLUDE=python3,python3-venv,ca-certificates,netbase,tzdata
BASE_DPKGOPTS=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/lintian/*'
)
BASE_HOOK='chroot "$1" python3 -m venv /usr/local'
# Merged /usr set up by mmdebstrap's hook, as Debian's images are, not by the usrmerge package
# (which would pull in perl, about 60 MB).
BASE_HOOKDIR=/usr/share/mmdebstrap/hooks/merged-usr

log() { printf '[image.sh] %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

missing_packages() {
  local p out=()
  for p in "${PACKAGES[@]}"; do
    command -v "$p" >/dev/null || out+=("$p")
  done
  echo "${out[*]}"
}

deps() {
  local need
  need=$(missing_packages)
  [[ -z $need ]] && return
  ((EUID == 0)) || die "needs root to install: $need (CI runs as root)"
  local start=$SECONDS
  log "installing Debian packages: $need"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
  log "Debian packages installed in $((SECONDS - start))s"
}

# The apt sources the stand-in is made from: the machine's own Debian sources.
apt_sources() {
  if [[ -n ${LITEMAAS_APT_SOURCES:-} ]]; then
    echo "$LITEMAAS_APT_SOURCES"
  elif [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    echo /etc/apt/sources.list.d/debian.sources
  elif [[ -s /etc/apt/sources.list ]]; then
    echo /etc/apt/sources.list
  else
    die "no Debian apt sources found (set LITEMAAS_APT_SOURCES to a sources file)"
  fi
}

storage_setup() {
  mkdir -p "$DIR/storage"
  # overlay cannot stack on an overlay filesystem (a cache inside a container): vfs there.
  local driver=${LITEMAAS_IMAGE_STORAGE_DRIVER:-overlay}
  [[ $(stat -fc %T "$DIR/storage") == overlayfs ]] && driver=${LITEMAAS_IMAGE_STORAGE_DRIVER:-vfs}
  # A store of our own: nothing else's images are touched, and `clean` removes it all.
  cat >"$DIR/storage.conf" <<EOF
[storage]
driver = "$driver"
graphroot = "$DIR/storage"
runroot = "/run/litemaas-operator-image"
EOF
  export CONTAINERS_STORAGE_CONF=$DIR/storage.conf BUILDAH_ISOLATION=chroot
}

# Prints the stand-in base image's name, building its root filesystem and image if needed.
standin_base() {
  local sources key tar name
  sources=$(apt_sources)
  key=$(
    {
      echo "bookworm minbase $BASE_INCLUDE $BASE_HOOK $BASE_HOOKDIR ${BASE_DPKGOPTS[*]}"
      dpkg --print-architecture
      cat "$sources"
    } | sha256sum | cut -c1-16
  )
  tar=$DIR/base-$key.tar
  name=localhost/litemaas-standin-base:$key
  if buildah inspect --type image "$name" >/dev/null 2>&1; then
    log "stand-in base: reusing $name"
    echo "$name"
    return
  fi
  if [[ ! -s $tar ]]; then
    local start=$SECONDS opts=() o
    for o in "${BASE_DPKGOPTS[@]}"; do opts+=("--dpkgopt=$o"); done
    log "stand-in base: mmdebstrap bookworm from $sources (log: $DIR/logs/mmdebstrap.log)"
    mkdir -p "$DIR/logs"
    # The output's name must end in .tar (mmdebstrap picks the format by it).
    if ! mmdebstrap --variant=minbase --include="$BASE_INCLUDE" "${opts[@]}" \
      --hook-dir="$BASE_HOOKDIR" --customize-hook="$BASE_HOOK" --skip=output/dev \
      bookworm "$DIR/partial.tar" "$sources" >"$DIR/logs/mmdebstrap.log" 2>&1; then
      tail -n 30 "$DIR/logs/mmdebstrap.log" >&2
      rm -f "$DIR/partial.tar"
      die "stand-in base: mmdebstrap FAILED"
    fi
    mv "$DIR/partial.tar" "$tar"
    find "$DIR" -maxdepth 1 -name 'base-*.tar' ! -name "base-$key.tar" -delete
    log "stand-in base: root filesystem made in $((SECONDS - start))s ($(du -m "$tar" | cut -f1) MB)"
  fi
  local ctr
  ctr=$(buildah from scratch)
  buildah add --quiet "$ctr" "$tar" / >/dev/null
  # What the official image's config sets, minus its GPG key and Python version variables.
  buildah config \
    --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 \
    --cmd python3 \
    --label "io.litemaas.stand-in-for=$OFFICIAL_BASE" \
    --label "io.litemaas.stand-in-recipe=mmdebstrap bookworm minbase + $BASE_INCLUDE, venv at /usr/local" \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "$name" >/dev/null
  # Earlier stand-ins (other keys) are not needed any more.
  buildah images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/litemaas-standin-base:' |
    grep -v ":$key\$" | xargs -r buildah rmi >/dev/null 2>&1 || true
  log "stand-in base: committed $name"
  echo "$name"
}

# Removes the untagged step images of earlier builds, keeping every step of the last one
# (its log names each, built or taken from the cache), which the next build reuses.
prune_layer_cache() {
  local keep id name
  keep=$(sed -n 's/^--> \(Using cache \)\{0,1\}\([0-9a-f]\{11\}\).*/\2/p' "$1")
  buildah images -a --no-trunc --format '{{.ID}} {{.Name}}' | while read -r id name; do
    [[ $name == "<none>" ]] || continue
    grep -qx "$(cut -c8-18 <<<"$id")" <<<"$keep" && continue
    buildah rmi "$id" >/dev/null 2>&1 || true
  done
}

build() {
  local need
  need=$(missing_packages)
  if [[ -n $need ]]; then
    if [[ -n ${LITEMAAS_IMAGE_NO_INSTALL:-} ]]; then
      die "missing: $need. Install them with \`hack/image.sh deps\` (or \`make image\`; \`make setup\` does it in CI)"
    fi
    deps
  fi
  ((EUID == 0)) || die "needs root (buildah's storage and mounts); CI runs as root"
  mkdir -p "$DIR"
  # One build at a time per cache (a test and `make image` may overlap).
  exec 9>"$DIR/lock"
  flock 9
  storage_setup
  local start=$SECONDS base base_kind args=()
  case ${LITEMAAS_IMAGE_BASE:-stand-in} in
    stand-in)
      base=$(standin_base)
      base_kind=stand-in
      args+=(--pull=never --build-arg "PYTHON_IMAGE=$base")
      ;;
    official)
      base=$OFFICIAL_BASE
      base_kind=official
      ;;
    *)
      # The official base pinned by digest (the release workflow resolves it).
      base=$LITEMAAS_IMAGE_BASE
      base_kind=official
      args+=(--build-arg "PYTHON_IMAGE=$base")
      ;;
  esac
  local base_done=$SECONDS
  # RUN pip install reaches the package index through the host's CA bundle (a proxy's CA
  # may be in it); --layers reuses each unchanged step (the locked wheels) on the next build.
  local ca=/etc/ssl/certs/ca-certificates.crt
  [[ -f $ca ]] && args+=(-v "$ca:$ca:ro")
  log "building $IMAGE from Dockerfile on $base (log: $DIR/logs/build.log)"
  mkdir -p "$DIR/logs"
  if ! buildah bud --layers "${args[@]}" -f "$ROOT/Dockerfile" -t "$IMAGE" "$ROOT" \
    >"$DIR/logs/build.log" 2>&1; then
    tail -n 40 "$DIR/logs/build.log" >&2
    die "build FAILED"
  fi
  local build_done=$SECONDS id size
  id=$(buildah inspect --type image --format '{{.FromImageID}}' "$IMAGE")
  prune_layer_cache "$DIR/logs/build.log"
  if [[ -s $ARCHIVE && -s ${ARCHIVE%.oci.tar}.json ]] && grep -q "\"$id\"" "${ARCHIVE%.oci.tar}.json"; then
    log "archive: unchanged image, reusing $ARCHIVE"
  else
    rm -f "$ARCHIVE"
    skopeo copy --quiet "containers-storage:$IMAGE" "oci-archive:$ARCHIVE.part:$VERSION"
    mv "$ARCHIVE.part" "$ARCHIVE"
  fi
  size=$(buildah images --format '{{.Size}}' "$IMAGE" | head -1)
  cat >"${ARCHIVE%.oci.tar}.json" <<EOF
{"archive": "$ARCHIVE", "tag": "$VERSION", "image": "$IMAGE", "id": "$id",
 "base": "$base_kind", "base_image": "$base", "official_base": "$OFFICIAL_BASE",
 "size": "$size", "archive_bytes": $(stat -c %s "$ARCHIVE")}
EOF
  if [[ $base_kind == stand-in ]]; then
    log "base: STAND-IN $base (Debian bookworm + python3 venv), NOT $OFFICIAL_BASE"
  else
    log "base: official $base"
  fi
  log "image: $IMAGE ${id:0:12}, $size uncompressed"
  log "archive: $ARCHIVE ($(du -m "$ARCHIVE" | cut -f1) MB)"
  log "took $((SECONDS - start))s (base $((base_done - start))s, build $((build_done - base_done))s, export $((SECONDS - build_done))s)"
}

case ${1:-build} in
build) build ;;
setup)
  if ((EUID != 0)); then
    log "NOT BUILT: building and running the image needs root (buildah, runc): run"
    log "\`make image\` and tests/e2e/test_image.py as root, or that test fails (CI runs as root)"
    exit 0
  fi
  build
  ;;
deps) deps ;;
path)
  [[ -s $ARCHIVE ]] || die "no image archive at $ARCHIVE: run \`make image\`"
  echo "$ARCHIVE"
  ;;
clean)
  storage_setup
  buildah rm --all >/dev/null 2>&1 || true
  buildah rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$DIR"
  ;;
*) die "usage: $0 [build|setup|deps|path|clean]" ;;
esac
