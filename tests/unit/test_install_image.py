"""The operator image: pinned base and dependencies, non-root, `litemaas-operator run`.

No Docker engine here, so the Dockerfile is checked as text, and the lock as what pip would
install.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from importlib.metadata import distribution
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
LOCK = REPO / "hack/install/requirements.lock"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SHA256 = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]
    ]


def entries() -> list[list[str]]:
    """The lock's requirement entries, each split into its pin and its options (hashes)."""
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text())
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


def locked() -> dict[str, str]:
    """name -> version of every entry in the lock."""
    pins = {}
    for pin, *_ in entries():
        name, _, version = pin.partition("==")
        pins[name] = version
    return pins


def build_backend() -> dict[str, str]:
    """name -> version pinned in pyproject.toml's [build-system] requires."""
    pins = {}
    for raw in PYPROJECT["build-system"]["requires"]:
        req = Requirement(raw)
        (spec,) = req.specifier
        assert spec.operator == "==", raw
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def lock_tool() -> ModuleType:
    """hack/install/lock.py as a module."""
    spec = importlib.util.spec_from_file_location("lock_tool", REPO / "hack/install/lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_dependencies_install_only_from_the_lock_with_hashes_checked() -> None:
    runs = " ".join(instructions("RUN"))
    lock = "pip install --require-hashes --no-deps --only-binary=:all: -r /src/requirements.lock"
    assert lock in runs
    # The package is built with the locked backend already installed, and may fetch nothing.
    assert "pip install --no-index --no-deps --no-build-isolation /src" in runs


def test_every_pip_install_checks_hashes_or_fetches_nothing() -> None:
    for run in instructions("RUN"):
        for command in re.split(r"&&|;", run):
            if re.search(r"\bpip install\b", command):
                assert "--require-hashes" in command or "--no-index" in command, command


def test_every_lock_entry_is_an_exact_pin_with_sha256_hashes() -> None:
    assert entries()
    for pin, *options in entries():
        assert re.fullmatch(r"[a-z0-9-]+==\d+(\.\w+)*", pin), pin
        assert options, f"{pin} has no --hash"
        assert all(SHA256.fullmatch(o) for o in options), (pin, options)
        assert len(set(options)) == len(options), pin


def test_the_build_backend_is_pinned_and_locked() -> None:
    backend = build_backend()
    assert "setuptools" in backend
    pins = locked()
    for name, version in backend.items():
        assert pins.get(name) == version, (name, version, pins.get(name))


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
    backend = build_backend()
    for name, version in locked().items():
        if name not in backend:  # the build backend is not a runtime dependency
            assert distribution(name).version == version, name


def test_lock_tool_targets_cpython_311_on_glibc_linux() -> None:
    tool = lock_tool()
    for arch in ("x86_64", "aarch64"):
        tags = tool.target_tags(arch)
        assert Tag("cp311", "cp311", f"manylinux_2_17_{arch}") in tags
        assert Tag("cp311", "abi3", f"manylinux_2_28_{arch}") in tags
        assert Tag("py3", "none", "any") in tags
        assert Tag("cp312", "cp312", f"manylinux_2_17_{arch}") not in tags
        assert Tag("cp311", "cp311", f"musllinux_1_1_{arch}") not in tags
        assert Tag("cp311", "cp311", f"manylinux_2_39_{arch}") not in tags  # newer than bookworm


def fake_index(*names: str) -> list[dict[str, Any]]:
    return [{"filename": n, "hashes": {"sha256": f"{i:064x}"}} for i, n in enumerate(names)]


def test_lock_tool_keeps_only_installable_wheels_of_the_exact_version(monkeypatch) -> None:
    tool = lock_tool()
    files = fake_index(
        "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",  # kept
        "demo-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",  # kept
        "demo-1.0-cp311-cp311-win_amd64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "demo-1.0.1-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo-1.0.tar.gz",
        "demo-0.1-py36+-none-any.whl",  # a pre-PEP 427 name, ignored
    )
    monkeypatch.setattr(tool, "index_files", lambda name, index: files)
    assert tool.wheel_hashes("demo", "1.0", "x") == [f"{0:064x}", f"{1:064x}"]
    assert tool.entry("demo", "1.0", "x").splitlines() == [
        "demo==1.0 \\",
        f"    --hash=sha256:{0:064x} \\",
        f"    --hash=sha256:{1:064x}",
    ]


def test_lock_tool_fails_when_an_arch_has_no_wheel(monkeypatch) -> None:
    tool = lock_tool()
    files = fake_index("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    monkeypatch.setattr(tool, "index_files", lambda name, index: files)
    with pytest.raises(SystemExit, match="no wheel for aarch64"):
        tool.wheel_hashes("demo", "1.0", "x")


def test_lock_tool_refuses_an_unpinned_build_backend(tmp_path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[build-system]\nrequires = ["setuptools>=68"]\n')
    with pytest.raises(SystemExit, match="pin it with =="):
        lock_tool().build_pins(pyproject)


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
