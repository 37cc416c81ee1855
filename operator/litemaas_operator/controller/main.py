"""``litemaas-operator run``: configure Kopf and start the handlers."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import signal
import socket
from typing import Any

import kopf
import kubernetes
from kopf._core.engines.peering import Identity  # not re-exported by kopf; a NewType of str
from prometheus_client import start_http_server

from . import handlers
from .kube import Kube, connect
from .logs import install_redaction
from .options import Options, options_from
from .reconcile import Reconciler
from .registry import REGISTRY
from .watches import Watches, watch_client

log = logging.getLogger(__name__)
OPTIONS: Options | None = None


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
    handlers.RUNTIME.kube = Kube(await connect(OPTIONS.kubeconfig))
    handlers.RUNTIME.reconciler = Reconciler(
        handlers.RUNTIME.kube, REGISTRY, OPTIONS.progress_deadline_seconds
    )
    handlers.RUNTIME.resync_seconds = OPTIONS.resync_seconds
    handlers.RUNTIME.slots = asyncio.Semaphore(OPTIONS.max_concurrent_reconciles)
    # Children and referenced Secrets: our own watches, filtered by the API server.
    handlers.RUNTIME.watches = Watches(
        await watch_client(OPTIONS.kubeconfig), REGISTRY, OPTIONS.namespaces
    )
    handlers.RUNTIME.watches.start()
    if OPTIONS.metrics_port:
        start_http_server(OPTIONS.metrics_port)
    # `kill -USR1 <pid>` logs where every task is waiting: the first tool for a stuck loop.
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_tasks)
    log.info(
        "litemaas-operator started: watching %s",
        ", ".join(OPTIONS.namespaces) if OPTIONS.namespaces else "all namespaces",
    )


def dump_tasks() -> None:
    """Log the stack of every asyncio task."""
    for task in asyncio.all_tasks():
        stream = io.StringIO()
        task.print_stack(limit=12, file=stream)
        log.warning("task %s:\n%s", task.get_name(), stream.getvalue())


@kopf.on.login()
def login(logger: logging.Logger, settings: kopf.OperatorSettings, **kwargs: Any) -> Any:
    """Authenticate Kopf with ``--kubeconfig`` when given, else as Kopf does by default.

    Kopf's default reads $KUBECONFIG through the kubernetes package, which captured the variable
    at import time; an explicit file must be loaded explicitly.
    """
    assert OPTIONS is not None
    if not OPTIONS.kubeconfig:
        return kopf.login_via_client(logger=logger, settings=settings, **kwargs)
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=OPTIONS.kubeconfig, client_configuration=config)
    header = config.get_api_key_with_prefix("BearerToken") or ""
    scheme, _, token = header.rpartition(" ")
    return kopf.ConnectionInfo(
        server=config.host,
        ca_path=config.ssl_ca_cert,
        insecure=not config.verify_ssl,
        scheme=scheme or None,
        token=token or None,
        certificate_path=config.cert_file,
        private_key_path=config.key_file,
    )


@kopf.on.cleanup()
async def shutdown(**_: Any) -> None:
    """Stop the watches, then close the clients' connection pools."""
    if handlers.RUNTIME.watches is not None:
        await handlers.RUNTIME.watches.stop()
        await handlers.RUNTIME.watches.kube.close()
    if handlers.RUNTIME.kube is not None:
        await handlers.RUNTIME.kube.close()


def identity() -> str:
    """Who this process is, for Kopf's peering and logs: the pod's name, or host and pid.

    Kopf's own default calls ``getpass.getuser()``, which raises where the runtime adds no
    passwd entry for the container's UID (Docker, containerd: most clusters but OpenShift).
    """
    pod = os.environ.get("POD_ID") or os.environ.get("POD_NAME")
    return pod or f"{socket.gethostname()}/{os.getpid()}"


def run(args: argparse.Namespace) -> int:
    """Run the operator until interrupted."""
    global OPTIONS
    OPTIONS = options_from(args)
    if OPTIONS.kubeconfig:
        # Kopf's own login reads the standard variable.
        os.environ["KUBECONFIG"] = OPTIONS.kubeconfig
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
