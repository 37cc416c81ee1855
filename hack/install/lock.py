#!/usr/bin/env python3
"""Write requirements.lock: what the operator image installs, exact versions and wheel hashes.

Two parts, both installed by the Dockerfile with ``pip install --require-hashes --no-deps``:
the runtime dependency closure of litemaas-operator, read from the environment the tests use
(``pip install -e '.[test]'``) so the image ships what was tested; and the build backend pinned
in pyproject.toml's [build-system], so building the package fetches nothing.

Each pin lists the sha256 of every wheel the package index serves for that exact version that
the image can install (CPython 3.11, glibc Linux, x86_64 and aarch64), read from the index's
JSON Simple API (PEP 691), the same listing pip resolves from. Run with network access:

    python hack/install/lock.py            # rewrites hack/install/requirements.lock
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import urllib.request
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "hack/install/requirements.lock"
INDEX = "https://pypi.org/simple"
# The image's interpreter and the platforms it is built for (Debian bookworm: glibc 2.36).
PYTHON = (3, 11)
ARCHES = ("x86_64", "aarch64")
GLIBC_MINOR = 36

HEADER = """\
# What the operator image installs, pinned to exact versions and to the sha256 of the wheels
# the index serves for them (CPython 3.11, glibc Linux, x86_64 and aarch64). The Dockerfile
# installs it with --require-hashes --no-deps --only-binary=:all:, so nothing unpinned or
# altered slips in. Generated; refresh (network needed) in the test environment:
#   pip install -e '.[test]' && python hack/install/lock.py"""
RUNTIME = "# Runtime: the closure of pyproject.toml's dependencies, as the tests run them."
BUILD = (
    "# Build backend: pyproject.toml's [build-system] requires (removed from the image after\n"
    "# the build, which runs with --no-build-isolation --no-index)."
)


def closure(name: str, seen: dict[str, str]) -> dict[str, str]:
    """``name`` and everything it needs at run time (no extras), name -> installed version."""
    dist = distribution(name)
    key = canonicalize_name(dist.metadata["Name"])
    if key in seen:
        return seen
    seen[key] = dist.version
    for raw in dist.requires or []:
        req = Requirement(raw)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            closure(req.name, seen)
    return seen


def build_pins(pyproject: Path = REPO / "pyproject.toml") -> dict[str, str]:
    """The build backend's exact pins from [build-system] requires (each must be ``==``)."""
    requires = tomllib.loads(pyproject.read_text())["build-system"]["requires"]
    pins = {}
    for raw in requires:
        req = Requirement(raw)
        versions = [s.version for s in req.specifier if s.operator == "=="]
        if len(req.specifier) != 1 or not versions:
            raise SystemExit(f"pyproject.toml [build-system] requires {raw!r}: pin it with ==")
        pins[canonicalize_name(req.name)] = versions[0]
    return pins


def target_tags(arch: str) -> set[Tag]:
    """Wheel tags CPython 3.11 on glibc Linux (``arch``) installs."""
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 4, -1)]
    platforms += [f"manylinux{legacy}_{arch}" for legacy in ("2014", "2010", "1")]
    abi = f"cp{PYTHON[0]}{PYTHON[1]}"
    tags = set(cpython_tags(PYTHON, abis=[abi], platforms=platforms))
    return tags | set(compatible_tags(PYTHON, abi, platforms))


def index_files(name: str, index: str) -> list[dict[str, Any]]:
    """Every file the index lists for project ``name`` (PEP 691 JSON)."""
    request = urllib.request.Request(
        f"{index.rstrip('/')}/{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files: list[dict[str, Any]] = json.load(response)["files"]
    return files


def wheel_hashes(name: str, version: str, index: str) -> list[str]:
    """Sorted sha256 of the installable wheels of ``name==version``; fails if an arch has none."""
    wanted = {arch: target_tags(arch) for arch in ARCHES}
    hashes: set[str] = set()
    covered: set[str] = set()
    for file in index_files(name, index):
        filename = file["filename"]
        if not filename.endswith(".whl") or file.get("yanked"):
            continue
        try:
            _, wheel_version, _, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            continue  # ancient uploads that predate the naming rules
        if wheel_version != Version(version):
            continue
        arches = {arch for arch, target in wanted.items() if tags & target}
        if arches and "sha256" in file.get("hashes", {}):
            hashes.add(file["hashes"]["sha256"])
            covered |= arches
    if missing := set(ARCHES) - covered:
        raise SystemExit(f"{name}=={version}: no wheel for {', '.join(sorted(missing))}")
    return sorted(hashes)


def entry(name: str, version: str, index: str) -> str:
    """One lock entry: the pin and its hashes, one per continuation line."""
    hashes = wheel_hashes(name, version, index)
    lines = [f"{name}=={version}", *(f"--hash=sha256:{h}" for h in hashes)]
    return " \\\n    ".join(lines)


def render(index: str = INDEX) -> str:
    """The lock file's text."""
    runtime = closure("litemaas-operator", {})
    runtime.pop("litemaas-operator")
    build = build_pins()
    if clash := set(build) & set(runtime):
        raise SystemExit(f"build backend also a runtime dependency: {sorted(clash)}")
    parts = [HEADER, RUNTIME]
    parts += [entry(n, v, index) for n, v in sorted(runtime.items())]
    parts += [BUILD]
    parts += [entry(n, v, index) for n, v in sorted(build.items())]
    return "\n".join(parts) + "\n"


def main() -> None:
    """Write the lock (only once every hash was found, so a failure leaves the old one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-url", default=INDEX, help="a PEP 691 simple index")
    parser.add_argument("-o", "--output", type=Path, default=LOCK, help="'-' for stdout")
    args = parser.parse_args()
    text = render(args.index_url)
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
