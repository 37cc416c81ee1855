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
    election: Election | None = None  # None: no leader election, this process always writes


@dataclass(frozen=True)
class Election:
    """Where the leader Lease is and client-go's timings (controller/leader.py)."""

    lease_name: str
    lease_namespace: str
    lease_duration: float
    renew_deadline: float
    retry_period: float


SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def own_namespace() -> str:
    """The operator's namespace: POD_NAMESPACE, else its ServiceAccount's, else default."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE) as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
        help="kubeconfig file (env KUBECONFIG); default: the in-cluster ServiceAccount, else "
        "~/.kube/config",
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
    parser.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=_flag(env("LEADER_ELECT", "false")),
        help="run as one of several replicas: only the holder of a coordination.k8s.io Lease "
        "reconciles, the others wait to take over (env LEADER_ELECT); default: off (the "
        "install paths turn it on)",
    )
    parser.add_argument(
        "--lease-name",
        default=env("LEASE_NAME", "litemaas-operator-leader"),
        help="the leader Lease's name (env LEASE_NAME); default: litemaas-operator-leader",
    )
    parser.add_argument(
        "--lease-namespace",
        default=env("LEASE_NAMESPACE"),
        help="the leader Lease's namespace (env LEASE_NAMESPACE); default: the operator's own "
        "(POD_NAMESPACE, else its ServiceAccount's)",
    )
    parser.add_argument(
        "--lease-duration-seconds",
        type=float,
        default=float(env("LEASE_DURATION_SECONDS", "15")),
        help="how long standbys wait after the Lease's last renewal before taking it (env "
        "LEASE_DURATION_SECONDS); default: 15",
    )
    parser.add_argument(
        "--renew-deadline-seconds",
        type=float,
        default=float(env("RENEW_DEADLINE_SECONDS", "10")),
        help="how long the leader keeps writing without a renewal before it exits (env "
        "RENEW_DEADLINE_SECONDS); must be less than the lease duration; default: 10",
    )
    parser.add_argument(
        "--retry-period-seconds",
        type=float,
        default=float(env("RETRY_PERIOD_SECONDS", "2")),
        help="how often the Lease is renewed or tried (env RETRY_PERIOD_SECONDS); default: 2",
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
        election=Election(
            lease_name=args.lease_name,
            lease_namespace=args.lease_namespace or own_namespace(),
            lease_duration=args.lease_duration_seconds,
            renew_deadline=args.renew_deadline_seconds,
            retry_period=args.retry_period_seconds,
        )
        if args.leader_elect
        else None,
    )
