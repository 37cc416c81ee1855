"""The operator image: pinned base and dependencies, non-root, `litemaas-operator run`.

No Docker engine here, so the Dockerfile is checked as text, and the lock as what pip would
install.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
LOCK = REPO / "hack/install/requirements.lock"


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]
    ]


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


def test_base_image_is_pinned_to_a_patch_release() -> None:
    (arg,) = [a for a in instructions("ARG") if a.startswith("PYTHON_IMAGE=")]
    image = arg.split("=", 1)[1]
    assert re.fullmatch(r"[\w./-]+:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image), image


def test_runs_as_a_numeric_non_root_user_in_group_zero() -> None:
    user = instructions("USER")[-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid == "0", user


def test_entrypoint_is_litemaas_operator_run() -> None:
    assert json.loads(instructions("ENTRYPOINT")[-1]) == ["litemaas-operator", "run"]


def test_home_is_tmp_and_no_bytecode_is_written_at_run_time() -> None:
    env = " ".join(instructions("ENV"))
    assert "HOME=/tmp" in env and "PYTHONDONTWRITEBYTECODE=1" in env


def test_dependencies_install_only_from_the_lock() -> None:
    runs = " ".join(instructions("RUN"))
    assert "pip install --no-deps --only-binary=:all: -r /src/requirements.lock" in runs
    assert "pip install --no-deps /src" in runs


def test_the_lock_pins_every_runtime_dependency_within_pyproject_ranges() -> None:
    pins = locked()
    assert all(re.fullmatch(r"\d+(\.\w+)*", v) for v in pins.values()), pins
    for raw in distribution("litemaas-operator").requires or []:
        req = Requirement(raw)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        assert name in pins, name
        assert req.specifier.contains(pins[name]), (name, pins[name], str(req.specifier))


def test_the_lock_is_what_the_tests_run_with() -> None:
    for name, version in locked().items():
        assert distribution(name).version == version, name


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for copy in instructions("COPY"):
        if copy.startswith("--from"):
            continue
        copied |= {p.rstrip("/") for p in copy.split()[:-1]}
    assert copied <= allowed, copied - allowed
    assert "*" in ignore
