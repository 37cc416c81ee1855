"""An openshift-flavour harness cluster whose API server audits the operator's requests.

``apiserver_request_total`` has no client label, and on the harness every component talks as
the same admin, so only an audit log tells the operator's requests from everyone else's and
shows their query (label selectors). The cluster is the bench's (``bench/cluster.py``): its
kube-apiserver logs every request of the user ``litemaas-operator``, whose kubeconfig it mints.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.cluster import Cluster
from support.crs import install_crd

ROOT = Path(__file__).resolve().parents[2]


def _bench_cluster():  # a module loaded by path: bench/ is not a package
    spec = importlib.util.spec_from_file_location("bench_cluster", ROOT / "bench" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench_cluster()


@dataclass(frozen=True)
class Request:
    """One request of the operator, as the audit log saw it."""

    audit_id: str
    verb: str  # the audit verb: get, list, watch, create, patch, ...
    api_group: str  # "" for the core group
    resource: str  # e.g. "secrets"; the path for non-resource URLs
    namespace: str | None  # None: cluster scope
    query: dict[str, str]
    started: bool  # a watch's ResponseStarted record
    completed: bool  # the ResponseComplete record (for a watch: it ended)
    name: str = ""  # the object's name, "" for collections
    user_agent: str = ""  # tells apart processes that share the operator's user
    received: str = ""  # requestReceivedTimestamp: the API server's clock, microseconds
    code: int = 0  # the response's HTTP status

    @property
    def label_selector(self) -> str:
        return self.query.get("labelSelector", "")


@dataclass
class AuditedCluster:
    """The cluster, the operator's kubeconfig, and where its requests are logged."""

    cluster: Cluster
    operator_kubeconfig: Path
    log: Path

    def requests(self) -> list[Request]:
        """Every audit record of the operator so far (a watch has a start and an end record)."""
        out = []
        for line in self.log.read_text().splitlines() if self.log.exists() else []:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            if ev.get("user", {}).get("username") != BENCH.OPERATOR_USER:
                continue
            ref = ev.get("objectRef") or {}
            url = urlsplit(ev.get("requestURI", ""))
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            out.append(
                Request(
                    audit_id=ev["auditID"],
                    verb=ev.get("verb", ""),
                    api_group=ref.get("apiGroup", ""),
                    resource=ref.get("resource") or url.path,
                    namespace=ref.get("namespace"),
                    query=query,
                    started=ev.get("stage") == "ResponseStarted",
                    completed=ev.get("stage") == "ResponseComplete",
                    name=ref.get("name", ""),
                    user_agent=ev.get("userAgent", ""),
                    received=ev.get("requestReceivedTimestamp", ""),
                    code=int((ev.get("responseStatus") or {}).get("code") or 0),
                )
            )
        return out

    def stop(self) -> None:
        """Stop the control plane and remove its state."""
        assert self.cluster.control_plane is not None
        self.cluster.control_plane.stop()


def start(workdir: Path) -> AuditedCluster:
    """Start an audited openshift-flavour cluster that dies with this process."""
    cp = BENCH.start(f"pytest-audited-{os.getpid()}", workdir)
    cluster = Cluster(cp.name, "openshift", cp.kubeconfig, cp.domain, cp.server, control_plane=cp)
    kubeconfig = BENCH.user_kubeconfig(cp, BENCH.OPERATOR_USER, workdir / "operator.kubeconfig")
    return AuditedCluster(cluster, kubeconfig, BENCH.audit_log(cp))


@contextlib.contextmanager
def started(workdir: Path) -> Iterator[AuditedCluster]:
    """An audited cluster with the project's CRDs, stopped afterwards (a module fixture's body).

    The shared clusters keep no audit log. A cluster that cannot start fails the test with the
    reason (binaries missing, ports taken), as the harness does.
    """
    try:
        audited = start(workdir)
    except Exception as err:
        pytest.fail(f"audited cluster unavailable: {err}", pytrace=False)
    install_crd(audited.cluster)
    try:
        yield audited
    finally:
        audited.stop()
