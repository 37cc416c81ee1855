"""``litemaas-operator run``: configure Kopf and start the handlers."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import kopf
from prometheus_client import start_http_server

from . import handlers
from .kube import Kube, connect
from .logs import install_redaction
from .options import Options, options_from
from .reconcile import Reconciler
from .registry import REGISTRY

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
    handlers.RUNTIME.reconciler = Reconciler(handlers.RUNTIME.kube, REGISTRY)
    handlers.RUNTIME.resync_seconds = OPTIONS.resync_seconds
    if OPTIONS.metrics_port:
        start_http_server(OPTIONS.metrics_port)
    log.info(
        "litemaas-operator started: watching %s",
        ", ".join(OPTIONS.namespaces) if OPTIONS.namespaces else "all namespaces",
    )


@kopf.on.cleanup()
async def shutdown(**_: Any) -> None:
    """Close the client's connection pool."""
    if handlers.RUNTIME.kube is not None:
        await handlers.RUNTIME.kube.close()


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
        clusterwide=not OPTIONS.namespaces,
        namespaces=OPTIONS.namespaces,
        liveness_endpoint=f"http://0.0.0.0:{OPTIONS.health_port}/healthz"
        if OPTIONS.health_port
        else None,
    )
    return 0
