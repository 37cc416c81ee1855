"""The liveness endpoint of a standby replica.

Kopf serves ``/healthz`` only once its start-up handlers have finished, and ours waits for the
leader Lease: without this, the kubelet would restart a healthy standby over and over. It is
closed before Kopf binds the same port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def standby_health(port: int) -> AsyncIterator[None]:
    """Answer ``GET /healthz`` with 200 on ``port`` (0: not at all) while the block runs."""
    if not port:
        yield
        return

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"standby": True})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    try:
        yield
    finally:
        await runner.cleanup()
