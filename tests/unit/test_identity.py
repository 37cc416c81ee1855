"""The operator starts where the container's UID has no passwd entry (Docker, containerd)."""

from __future__ import annotations

import argparse
import getpass
import pwd
from typing import Any

import pytest
from kopf._core.engines import peering

from litemaas_operator.controller import main
from litemaas_operator.controller.options import add_run_arguments


@pytest.fixture
def no_passwd_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """As for UID 1001 in an image without it in /etc/passwd, and no USER/LOGNAME set."""

    def missing(uid: int) -> Any:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", missing)
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME", "POD_ID", "POD_NAME"):
        monkeypatch.delenv(var, raising=False)


def test_kopfs_default_identity_crashes_without_a_passwd_entry(no_passwd_entry: None) -> None:
    with pytest.raises((KeyError, OSError)):
        getpass.getuser()
    with pytest.raises((KeyError, OSError)):
        peering.detect_own_id(manual=False)


def test_our_identity_needs_no_passwd_entry(
    no_passwd_entry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main.identity()
    monkeypatch.setenv("POD_ID", "litemaas-operator-7d9f-abcde")
    assert main.identity() == "litemaas-operator-7d9f-abcde"


def test_run_hands_kopf_an_explicit_identity(
    no_passwd_entry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(main.kopf, "run", lambda **kwargs: seen.update(kwargs))
    monkeypatch.setenv("POD_ID", "op-0")
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    monkeypatch.setattr(main, "install_redaction", lambda: None)
    monkeypatch.setattr(main.kopf, "configure", lambda **_: None)
    assert main.run(parser.parse_args(["--health-port", "0", "--metrics-port", "0"])) == 0
    assert seen["identity"] == "op-0"


def test_every_install_sets_pod_id_from_the_pod_name() -> None:
    from litemaas_operator import install

    env = install.deployment_spec()["template"]["spec"]["containers"][0]["env"]
    assert {"name": "POD_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in env
