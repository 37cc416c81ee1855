#!/usr/bin/env python3
"""Print requirements.lock: litemaas-operator's runtime dependency closure, exact versions.

Run in the environment the tests use (``pip install -e '.[test]'``), so the image ships what
was tested:  python hack/install/lock.py > hack/install/requirements.lock
"""

from __future__ import annotations

from importlib.metadata import distribution

from packaging.requirements import Requirement

HEADER = """\
# Runtime dependencies of litemaas-operator, pinned to the exact versions its tests run with
# (the closure of pyproject.toml's dependencies in the test environment, Python 3.11, Linux).
# Installed with --no-deps by the Dockerfile, so nothing unpinned slips in. Refresh:
#   pip install -e . && python hack/install/lock.py > hack/install/requirements.lock"""


def closure(name: str, seen: dict[str, str]) -> dict[str, str]:
    """``name`` and everything it needs at run time (no extras), name -> installed version."""
    dist = distribution(name)
    key = dist.metadata["Name"].lower().replace("_", "-")
    if key in seen:
        return seen
    seen[key] = dist.version
    for raw in dist.requires or []:
        req = Requirement(raw)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            closure(req.name, seen)
    return seen


def main() -> None:
    """Print the lock file."""
    pins = closure("litemaas-operator", {})
    pins.pop("litemaas-operator")
    print(HEADER)
    for name, version in sorted(pins.items()):
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
