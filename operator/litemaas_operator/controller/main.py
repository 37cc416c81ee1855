"""``litemaas-operator run``: configure Kopf and start the handlers."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import signal
import sys
from typing import Any

import kopf
from kopf._core.engines.peering import Identity  # not re-exported by kopf; a NewType of str
from prometheus_client import start_http_server

from . import handlers, metrics
from .cache import Caches
from .connection import credentials
from .election import Election, Watchdog, lost
from .kube import Kube, connect
from .leader import Elector, Timings
from .logs import install_redaction
from .memory import trim_forever
from .options import Options, options_from
from .reconcile import Reconciler
from .registry import REGISTRY
from .sessions import identity, kopf_session, user_agent
from .standby import standby_health
from .watches import Watches, watch_client

log = logging.getLogger(__name__)
OPTIONS: Options | None = None
METRICS_SERVED = False


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Settings that keep Kopf's bookkeeping in our annotations and out of spec and status."""
    assert OPTIONS is not None
    settings.persistence.finalizer = handlers.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="litemaas.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="litemaas.io", key="last-handled-configuration"
    )
    # Kubernetes Events only for problems; routine progress goes to the log and the status.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 60
    settings.networking.error_backoffs = [1, 2, 5, 10, 20]
    install_redaction()
    serve_metrics(OPTIONS.metrics_port)
    # Nothing below runs (no watch, no reconcile loop, no Kopf handler) until this process leads.
    if OPTIONS.election is not None:
        await lead(OPTIONS)
    metrics.LEADER.set(1)
    # Reads come from the watches' stores once synced; writes go into them at once.
    caches = Caches()
    handlers.RUNTIME.kube = Kube(
        await connect(OPTIONS.kubeconfig, user_agent()),
        caches,
        may_write=handlers.RUNTIME.may_write,
    )
    handlers.RUNTIME.reconciler = Reconciler(
        handlers.RUNTIME.kube, REGISTRY, OPTIONS.progress_deadline_seconds
    )
    handlers.RUNTIME.resync_seconds = OPTIONS.resync_seconds
    handlers.RUNTIME.slots = asyncio.Semaphore(OPTIONS.max_concurrent_reconciles)
    # Children and referenced Secrets: our own watches, filtered by the API server.
    handlers.RUNTIME.watches = Watches(
        await watch_client(OPTIONS.kubeconfig, user_agent()), REGISTRY, OPTIONS.namespaces, caches
    )
    handlers.RUNTIME.watches.start()
    handlers.RUNTIME.trimming = asyncio.create_task(trim_forever(), name="trim the heap")
    # `kill -USR1 <pid>` logs where every task is waiting: the first tool for a stuck loop.
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_tasks)
    log.info(
        "litemaas-operator started: watching %s",
        ", ".join(OPTIONS.namespaces) if OPTIONS.namespaces else "all namespaces",
    )


def serve_metrics(port: int) -> None:
    """Serve /metrics on ``port`` (0: not at all), once: Kopf retries a start-up that failed."""
    global METRICS_SERVED
    if port and not METRICS_SERVED:
        start_http_server(port)
        METRICS_SERVED = True


async def lead(options: Options) -> None:
    """Wait for the leader Lease (answering liveness probes meanwhile), then keep it.

    Returns once this process leads, with the reconciler's write gate, the watchdog that ends
    the process when leadership lapses, and the renewal task in place.
    """
    assert options.election is not None
    settings = options.election
    timings = _timings(options)
    election = Election(
        Kube(await connect(options.kubeconfig, user_agent())),
        settings.lease_name,
        settings.lease_namespace,
        Elector(identity(), timings),
    )
    async with standby_health(options.health_port):
        await election.campaign()
    handlers.RUNTIME.election = election
    handlers.RUNTIME.may_write = election.leading
    handlers.RUNTIME.watchdog = Watchdog(election)
    handlers.RUNTIME.watchdog.start()
    handlers.RUNTIME.renewal = asyncio.create_task(_renew(election), name="leader lease renewal")


def _timings(options: Options) -> Timings:
    assert options.election is not None
    settings = options.election
    return Timings(settings.lease_duration, settings.renew_deadline, settings.retry_period)


async def _renew(election: Election) -> None:
    await election.keep()
    lost(election)


def dump_tasks() -> None:
    """Log the stack of every asyncio task."""
    for task in asyncio.all_tasks():
        stream = io.StringIO()
        task.print_stack(limit=12, file=stream)
        log.warning("task %s:\n%s", task.get_name(), stream.getvalue())


@kopf.on.login()
async def login(**_: Any) -> kopf.AiohttpSession:
    """Kopf's session: the credentials our own clients use (``connection.credentials``; Kopf
    calls this again after a 401, so a rotated token is read anew), named after this process
    and gated on leadership like our client."""
    assert OPTIONS is not None
    return kopf_session(credentials(OPTIONS.kubeconfig), _may_write, len(OPTIONS.namespaces))


def _may_write() -> bool:
    gate = handlers.RUNTIME.may_write
    return gate is None or gate()


@kopf.on.cleanup()
async def shutdown(**_: Any) -> None:
    """Stop the watches, close the clients' connection pools, then hand the Lease over.

    Kopf runs this after all its own tasks (daemons, handlers) ended, so nothing writes any
    more when the Lease is released and a standby takes over at its next retry.
    """
    runtime = handlers.RUNTIME
    if runtime.trimming is not None:
        runtime.trimming.cancel()
    if runtime.watches is not None:
        await runtime.watches.stop()
        await runtime.watches.kube.close()
    if runtime.kube is not None:
        await runtime.kube.close()
    if runtime.election is not None:
        assert runtime.watchdog is not None and runtime.renewal is not None
        runtime.watchdog.stop()
        runtime.renewal.cancel()
        await asyncio.gather(runtime.renewal, return_exceptions=True)
        await runtime.election.release()
        await runtime.election.kube.close()


def run(args: argparse.Namespace) -> int:
    """Run the operator until interrupted."""
    global OPTIONS
    OPTIONS = options_from(args)
    if OPTIONS.election is not None:
        try:  # settings under which two leaders could overlap: refused before anything runs
            _timings(OPTIONS).check()
        except ValueError as err:
            print(f"litemaas-operator run: leader election: {err}", file=sys.stderr)
            return 2
    kopf.configure(
        verbose=OPTIONS.verbose,
        log_format=kopf.LogFormat.JSON if OPTIONS.log_format == "json" else kopf.LogFormat.FULL,
        log_refkey="object",
    )
    install_redaction()
    kopf.run(
        standalone=True,
        identity=Identity(identity()),
        clusterwide=not OPTIONS.namespaces,
        namespaces=OPTIONS.namespaces,
        liveness_endpoint=f"http://0.0.0.0:{OPTIONS.health_port}/healthz"
        if OPTIONS.health_port
        else None,
    )
    return 0
