"""Who this process is to the API server, and Kopf's HTTP session gated on leadership.

Two replicas share one ServiceAccount, so the User-Agent is what tells their requests apart in
the API server's audit log (``litemaas-operator/0.1.0 (pod-name)``). Kopf writes too (its
finalizer, its annotations, warning Events); its session gets the same write gate as our client
(``Kube.may_write``): a write asked for after leadership lapsed raises before it is sent.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
import kopf

from .. import __version__
from .kube import READ_METHODS, NotLeaderError


def identity() -> str:
    """Who this process is, for the Lease, Kopf's peering and logs: the pod's name, or host and
    pid.

    Kopf's own default calls ``getpass.getuser()``, which raises where the runtime adds no
    passwd entry for the container's UID (Docker, containerd: most clusters but OpenShift).
    """
    pod = os.environ.get("POD_ID") or os.environ.get("POD_NAME")
    return pod or f"{socket.gethostname()}/{os.getpid()}"


def user_agent(who: str | None = None) -> str:
    """The User-Agent of this process's requests."""
    return f"litemaas-operator/{__version__} ({who or identity()})"


def write_gate(may_write: Callable[[], bool]) -> aiohttp.TraceConfig:
    """An aiohttp hook that refuses writes while ``may_write()`` is False."""

    async def on_request_start(
        _session: aiohttp.ClientSession, _context: Any, params: aiohttp.TraceRequestStartParams
    ) -> None:
        if params.method not in READ_METHODS and not may_write():
            raise NotLeaderError(f"not the leader: {params.method} {params.url.path} not sent")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return trace


# Kopf holds one streaming watch per kind (LiteMaaS, LiteMaaSBackup, LiteMaaSRestore) and per
# namespace it watches; its writes (finalizers, progress annotations, Events) share the rest.
KOPF_KINDS = 3
KOPF_WRITE_CONNECTIONS = 16


def kopf_connections(namespaces: int) -> int:
    """Kopf's connection limit: every watch stream, and a few for its writes."""
    return KOPF_KINDS * max(namespaces, 1) + KOPF_WRITE_CONNECTIONS


def kopf_session(
    info: kopf.ConnectionInfo, may_write: Callable[[], bool], namespaces: int = 0
) -> kopf.AiohttpSession:
    """The session Kopf would build from ``info``, named after this process and gated.

    ``namespaces``: how many namespaces Kopf watches one by one (0: all, one watch per kind).
    """
    with warnings.catch_warnings():  # as Kopf: aiohttp warns about BasicAuth, not ours to fix
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        auth = info.as_aiohttp_basic_auth()
    session = aiohttp.ClientSession(
        # Bounded, unlike Kopf's own (limit=0): 500 CRs' finalizers and Events at once would
        # otherwise open a connection each, and keep their TLS buffers until they idle out.
        connector=aiohttp.TCPConnector(
            limit=kopf_connections(namespaces), ssl=info.as_ssl_context()
        ),
        headers={**info.as_http_headers(), "User-Agent": f"{user_agent()} kopf"},
        auth=auth,
        proxy=info.proxy_url,
        trust_env=info.trust_env,
        trace_configs=[write_gate(may_write)],
    )
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        default_namespace=info.default_namespace,
        priority=info.priority,
        expiration=info.expiration,
    )
