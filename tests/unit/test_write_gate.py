"""A process whose leadership lapsed sends no write: neither through our client nor Kopf's."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from litemaas_operator.controller.kube import Kube, NotLeaderError
from litemaas_operator.controller.sessions import user_agent, write_gate


class Unreachable:
    """An ApiClient stand-in that fails the test if the gate lets a request through."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a request was prepared ({name}) although the gate is closed")


@pytest.mark.parametrize(
    "write",
    [
        lambda k: k.apply({"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}),
        lambda k: k.create({"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}),
        lambda k: k.patch("LiteMaaS", "x", "n", {"status": {}}, subresource="status"),
        lambda k: k.delete("Group", "litemaas-admins"),
    ],
    ids=["apply", "create", "status", "delete"],
)
def test_our_client_refuses_writes_before_preparing_them(write: Any) -> None:
    kube = Kube(Unreachable(), may_write=lambda: False)  # type: ignore[arg-type]
    with pytest.raises(NotLeaderError):
        asyncio.run(write(kube))


def test_kopfs_session_sends_reads_always_and_writes_only_while_leading() -> None:
    async def scenario() -> list[str]:
        seen: list[str] = []

        async def handle(request: web.Request) -> web.Response:
            seen.append(f"{request.method} {request.headers['User-Agent']}")
            return web.json_response({})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        leading = False
        url = f"http://127.0.0.1:{port}/apis/litemaas.io/v1alpha1/litemaases"
        async with aiohttp.ClientSession(
            headers={"User-Agent": user_agent("op-1")},
            trace_configs=[write_gate(lambda: leading)],
        ) as session:
            async with session.get(url):
                pass
            with pytest.raises(NotLeaderError):
                async with session.patch(url, json={}):
                    pass
            leading = True
            async with session.patch(url, json={}):
                pass
        await runner.cleanup()
        return seen

    seen = asyncio.run(scenario())
    assert seen == ["GET litemaas-operator/0.1.0 (op-1)", "PATCH litemaas-operator/0.1.0 (op-1)"]
