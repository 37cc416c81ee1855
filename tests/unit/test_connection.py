"""Where the operator's connection comes from: a kubeconfig, a pod's ServiceAccount, a plugin."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path

import kopf
import pytest
import yaml
from aiohttp import web

from litemaas_operator.controller.connection import (
    ConfigError,
    Connection,
    credentials,
    from_kubeconfig,
    in_cluster,
)


def kubeconfig(path: Path, user: dict, current: str = "dev") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "contexts": [
                    {"name": "other", "context": {"cluster": "nowhere", "user": "nobody"}},
                    {"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "ns"}},
                ],
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": "https://api:6443",
                            "certificate-authority": "ca.crt",
                        },
                    }
                ],
                "users": [{"name": "u", "user": user}],
            }
        )
    )
    return path


def test_a_kubeconfig_with_files_relative_to_it_and_inline_data(tmp_path: Path) -> None:
    info = from_kubeconfig(
        kubeconfig(
            tmp_path / "config",
            {"client-certificate": "u.crt", "client-key-data": base64.b64encode(b"k").decode()},
        )
    )
    assert info.server == "https://api:6443"
    assert info.ca_path == str(tmp_path / "ca.crt")
    assert info.certificate_path == str(tmp_path / "u.crt")
    assert info.private_key_data and not info.private_key_path
    assert info.default_namespace == "ns"


def test_a_token_inline_or_in_a_file(tmp_path: Path) -> None:
    assert from_kubeconfig(kubeconfig(tmp_path / "a", {"token": "t1"})).token == "t1"
    (tmp_path / "token").write_text("t2\n")
    info = from_kubeconfig(kubeconfig(tmp_path / "b", {"tokenFile": "token"}))
    assert info.as_http_headers() == {"Authorization": "Bearer t2"}


def test_a_missing_file_or_context_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        from_kubeconfig(tmp_path / "absent")
    with pytest.raises(ConfigError, match="no context named 'gone'"):
        from_kubeconfig(kubeconfig(tmp_path / "c", {"token": "t"}, current="gone"))


def test_a_pods_service_account_and_its_rotated_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("first")
    (tmp_path / "namespace").write_text("operators")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert in_cluster(tmp_path) is None, "not in a pod"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    info = in_cluster(tmp_path)
    assert info is not None
    assert (info.server, info.token, info.default_namespace) == (
        "https://[fd00::1]:443",
        "first",
        "operators",
    )
    assert info.ca_path is None  # no ca.crt mounted: the system's roots
    (tmp_path / "token").write_text("second")
    assert (in_cluster(tmp_path) or info).token == "second"


def test_outside_a_pod_the_default_kubeconfig_as_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "config", {"token": "t"})))
    assert credentials(None).token == "t"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="not in a pod"):
        credentials(None)


def test_an_exec_plugin_is_run_through_the_kubernetes_package(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',"
        " 'kind': 'ExecCredential', 'status': {'token': 'from-plugin'}}))\n"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    (tmp_path / "ca.crt").write_text("")
    info = from_kubeconfig(kubeconfig(tmp_path / "config", user))
    assert info.as_http_headers() == {"Authorization": "Bearer from-plugin"}


def test_a_401_reads_the_credentials_again_and_sends_once_more() -> None:
    tokens = iter(["old", "new", "new"])
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != "Bearer new":
            return web.Response(status=401)
        return web.json_response({"ok": True})

    async def scenario() -> tuple[int, int]:
        app = web.Application()
        app.router.add_get("/api", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        conn = Connection(
            lambda: kopf.ConnectionInfo(server=f"http://127.0.0.1:{port}", token=next(tokens)),
            "test",
        )
        try:
            first = await conn.request("GET", "/api", headers={})
            first.release()
            second = await conn.request("GET", "/api", headers={})  # no reload needed now
            second.release()
            return first.status, second.status
        finally:
            await conn.close()
            await runner.cleanup()

    assert asyncio.run(scenario()) == (200, 200)
    assert seen == ["Bearer old", "Bearer new", "Bearer new"]
