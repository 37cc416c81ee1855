"""Command-line and environment settings of ``litemaas-operator run`` (no Kopf import here)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Operator settings after flags and environment are combined."""

    namespaces: tuple[str, ...]  # empty: every namespace
    kubeconfig: str | None
    health_port: int
    metrics_port: int
    resync_seconds: float
    max_concurrent_reconciles: int
    log_format: str
    verbose: bool
    progress_deadline_seconds: float = 600.0  # stuck pods -> Stalled (controller/stuck.py)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``run`` flags; each has an environment variable for Deployments."""
    env = os.environ.get
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=None,
        help="watch only this namespace (repeatable; env WATCH_NAMESPACE, comma-separated); "
        "default: all namespaces",
    )
    parser.add_argument(
        "--kubeconfig",
        default=env("KUBECONFIG"),
        help="kubeconfig file (env KUBECONFIG); default: the in-cluster ServiceAccount",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=int(env("HEALTH_PORT", "8080")),
        help="liveness endpoint /healthz (env HEALTH_PORT; 0 turns it off); default: 8080",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(env("METRICS_PORT", "8081")),
        help="Prometheus /metrics (env METRICS_PORT; 0 turns it off); default: 8081",
    )
    parser.add_argument(
        "--resync-seconds",
        type=float,
        default=float(env("RESYNC_SECONDS", "300")),
        help="periodic full reconcile (env RESYNC_SECONDS); changes to children are seen at "
        "once by watches; default: 300",
    )
    parser.add_argument(
        "--max-concurrent-reconciles",
        type=int,
        default=int(env("MAX_CONCURRENT_RECONCILES", "8")),
        help="reconciles running at once (env MAX_CONCURRENT_RECONCILES); bounds memory and "
        "API load when many CRs change; default: 8",
    )
    parser.add_argument(
        "--progress-deadline-seconds",
        type=float,
        default=float(env("PROGRESS_DEADLINE_SECONDS", "600")),
        help="how long a component's pods may stay stuck (image pull, unschedulable, volume "
        "not bound, crash loop) before the LiteMaaS is Stalled instead of Reconciling (env "
        "PROGRESS_DEADLINE_SECONDS); a Deployment is also Stalled when Kubernetes reports "
        "ProgressDeadlineExceeded; default: 600",
    )
    parser.add_argument(
        "--log-format",
        choices=["json", "plain"],
        default=env("LOG_FORMAT", "json"),
        help="json (one object per line, env LOG_FORMAT) or plain for people; default: json",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def options_from(args: argparse.Namespace) -> Options:
    """Combine parsed flags with WATCH_NAMESPACE."""
    namespaces = args.namespace
    if not namespaces:
        raw = os.environ.get("WATCH_NAMESPACE", "")
        namespaces = [n.strip() for n in raw.split(",") if n.strip()]
    return Options(
        namespaces=tuple(namespaces),
        kubeconfig=args.kubeconfig,
        health_port=args.health_port,
        metrics_port=args.metrics_port,
        resync_seconds=args.resync_seconds,
        max_concurrent_reconciles=max(1, args.max_concurrent_reconciles),
        log_format=args.log_format,
        verbose=args.verbose,
        progress_deadline_seconds=max(0.0, args.progress_deadline_seconds),
    )
