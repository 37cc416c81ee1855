"""Benchmark litemaas-operator against plain ``kubectl apply --server-side`` on the harness.

For each count N (default 1, 10, 100) the bench starts two fresh openshift-flavour harness
clusters in turn, each with an audit log of the two users it follows:

* baseline cluster: the manifests ``litemaas-operator render`` prints for N CRs (credentials
  filled with random values), one namespace each, applied with ``kubectl apply --server-side``
  (one kubectl per namespace, at most ``--kubectl-parallelism`` at once);
* operator cluster: the operator (cluster-wide, ``--resync-seconds``) already running, N CRs
  created at once, one per namespace.

Measured: seconds from the first create (or kubectl launch) until every rendered child exists
(the completion of the first successful write of each, from the audit log) and until Ready (CR
condition; for the baseline, every Deployment and StatefulSet ready), the operator's API
requests by verb (audit log, the operator's own client certificate only) while creating and
per steady-state resync, and the operator's RSS and CPU seconds from ``/proc``.

    python bench/run.py --json results.json [--counts 1,10,100]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import copy
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from kubernetes import client, config  # noqa: E402

import audit  # noqa: E402
import cluster as bench_cluster  # noqa: E402
from harness import config as harness_config  # noqa: E402
from harness.control_plane import HarnessError  # noqa: E402
from litemaas_operator import cli, credentials  # noqa: E402
from litemaas_operator.controller.kube import KINDS  # noqa: E402
from support.crs import CRD_FILE, GROUP, PLURAL, VERSION, sample  # noqa: E402
from support.operator import OperatorProcess  # noqa: E402

CR_NAME = "litemaas"
DOMAIN = harness_config.DEFAULT_DOMAIN
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A phase did not finish in time; the message says which."""


def log(msg: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- what to create ------------------------------------------------------------------------


def cr_body() -> dict[str, Any]:
    """The OpenShift sample CR."""
    body = sample("litemaas-cr")
    body["metadata"] = {"name": CR_NAME}
    return body


def baseline_manifests(namespace: str) -> list[dict[str, Any]]:
    """What the operator would create for the sample CR in ``namespace``, real credentials.

    ``render`` prints placeholders; here every generated credential gets a random value of
    the shape the operator generates, so the objects (and their sizes) are the operator's.
    """
    values = {c.key: c.generate() for c in credentials.EVERY}
    original = credentials.placeholders
    credentials.placeholders = lambda spec: dict(values)  # type: ignore[assignment]
    try:
        docs = cli.render_documents(copy.deepcopy(cr_body()), "openshift", DOMAIN, namespace)
    finally:
        credentials.placeholders = original  # type: ignore[assignment]
    text = yaml.safe_dump_all(docs)
    assert "<generated:" not in text and "%3Cgenerated" not in text
    return docs


def child_keys(docs: list[dict[str, Any]]) -> set[tuple[str, str | None, str]]:
    """(resource, namespace, name) of every object, as the audit log names them."""
    return {
        (KINDS[d["kind"]].plural, d["metadata"].get("namespace"), d["metadata"]["name"])
        for d in docs
    }


# --- process and cluster readings ----------------------------------------------------------


def proc_stats(pid: int) -> dict[str, float]:
    """RSS, peak RSS (MiB) and user+system CPU seconds of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = {
        k: int(v.split()[0])
        for k, v in (line.split(":", 1) for line in status.splitlines())
        if k in ("VmRSS", "VmHWM")
    }
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return {"rss_mib": kib["VmRSS"] / 1024, "peak_rss_mib": kib["VmHWM"] / 1024, "cpu_s": cpu}


def reconcile_count(op: OperatorProcess) -> float:
    """litemaas_operator_reconciles_total, all results."""
    total = 0.0
    for line in op.metrics().splitlines():
        if line.startswith("litemaas_operator_reconciles_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def observation_count(op: OperatorProcess) -> float:
    """litemaas_operator_observations_total: observe-only passes (a child's status news)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in op.metrics().splitlines()
        if line.startswith("litemaas_operator_observations_total")
    )


def watch_wakes(op: OperatorProcess) -> dict[str, float]:
    """litemaas_operator_watch_wakes_total by "kind change" (e.g. "Deployment status")."""
    out: dict[str, float] = {}
    for line in op.metrics().splitlines():
        if line.startswith("litemaas_operator_watch_wakes_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            out[f"{labels['kind']} {labels['change']}"] = float(line.rsplit(" ", 1)[1])
    return dict(sorted(out.items()))


def reconcile_causes(op: OperatorProcess) -> dict[str, float]:
    """litemaas_operator_reconcile_causes_total by cause (change, requeue, retry, resync)."""
    out: dict[str, float] = {}
    for line in op.metrics().splitlines():
        if line.startswith("litemaas_operator_reconcile_causes_total{"):
            cause = re.search(r'cause="([^"]*)"', line)
            if cause:
                out[cause.group(1)] = float(line.rsplit(" ", 1)[1])
    return out


def apiserver_requests(cp: Any, resources: set[str]) -> dict[str, float]:
    """apiserver_request_total summed by verb over ``resources`` (all clients)."""
    text = cp.kubectl("get", "--raw", "/metrics").stdout
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if labels.get("resource") in resources:
            verb = labels.get("verb", "")
            out[verb] = out.get(verb, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def wait(probe: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``probe`` until truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")


def first_writes(
    requests: list[audit.Request], keys: set[tuple[str, str | None, str]]
) -> dict[tuple[str, str | None, str], float]:
    """When each object was first written successfully (its creation, on a fresh cluster)."""
    seen: dict[tuple[str, str | None, str], float] = {}
    for r in requests:
        if r.ok and r.verb in ("POST", "PATCH", "PUT") and r.name:
            k = (r.resource, r.namespace, r.name)
            if k in keys and k not in seen:
                seen[k] = r.completed
    return seen


# --- the two phases ------------------------------------------------------------------------


def setup_cluster(name: str, work: Path, namespaces: list[str]) -> tuple[Any, client.ApiClient]:
    """An audited cluster with the CRD and the namespaces."""
    t = time.monotonic()
    cp = bench_cluster.start(name, work)
    log(f"cluster {name} up in {time.monotonic() - t:.1f}s")
    bench_cluster.add_nodes(cp, len(namespaces) * 5 // 100 + 1)
    # The three CRDs every install path ships (LiteMaaS, LiteMaaSBackup, LiteMaaSRestore).
    for crd in sorted(CRD_FILE.parent.glob("*.yaml")):
        cp.kubectl("apply", "--server-side", "-f", str(crd))

    def established() -> bool:
        # `kubectl wait` fails at once when the CRD has no conditions yet, and so does this
        # jsonpath: poll, taking that for "not yet".
        try:
            return (
                "True"
                in cp.kubectl(
                    "get",
                    "crd/litemaases.litemaas.io",
                    "-o",
                    "jsonpath={.status.conditions[?(@.type=='Established')].status}",
                ).stdout
            )
        except HarnessError:
            return False

    wait(established, 60, "the LiteMaaS CRD established")
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    api = config.new_client_from_config(config_file=str(cp.kubeconfig))
    custom = client.CustomObjectsApi(api)

    def lists_work() -> bool:
        # A CRD's storage answers 429 "storage is (re)initializing" for a moment after it is
        # established; a run must not start timing into that.
        try:
            for group, version, plural in (
                (GROUP, VERSION, PLURAL),
                ("oauth.openshift.io", "v1", "oauthclients"),
                ("user.openshift.io", "v1", "groups"),
                ("route.openshift.io", "v1", "routes"),
            ):
                custom.list_cluster_custom_object(group, version, plural)
        except client.ApiException:
            return False
        return True

    wait(lists_work, 60, "CRD storage ready")
    return cp, api


def workloads_ready(api: client.ApiClient, namespaces: set[str]) -> set[str]:
    """Namespaces whose Deployments and StatefulSets all have every replica ready."""
    apps = client.AppsV1Api(api)
    selector = "app.kubernetes.io/managed-by=litemaas-operator"
    pending: set[str] = set()
    seen: set[str] = set()
    for obj in [
        *apps.list_deployment_for_all_namespaces(label_selector=selector).items,
        *apps.list_stateful_set_for_all_namespaces(label_selector=selector).items,
    ]:
        ns = obj.metadata.namespace
        seen.add(ns)
        if (obj.status.ready_replicas or 0) < (obj.spec.replicas or 0):
            pending.add(ns)
    return (namespaces & seen) - pending


def run_baseline(n: int, work: Path, parallelism: int, timeout: float) -> dict[str, Any]:
    """``kubectl apply --server-side`` of the rendered manifests of N CRs."""
    namespaces = [f"kc-{n}-{i}" for i in range(n)]
    cp, api = setup_cluster(f"bench-kc-{n}-{os.getpid()}", work / f"kc-{n}", namespaces)
    try:
        kubeconfig = bench_cluster.user_kubeconfig(
            cp, bench_cluster.KUBECTL_USER, work / f"kc-{n}" / "kubectl.kubeconfig"
        )
        keys: set[tuple[str, str | None, str]] = set()
        files = []
        for ns in namespaces:
            docs = baseline_manifests(ns)
            keys |= child_keys(docs)
            path = work / f"kc-{n}" / f"{ns}.yaml"
            path.write_text(yaml.safe_dump_all(docs))
            files.append(path)
        kubectl = harness_config.kubectl_path()

        failures: list[str] = []

        def apply(path: Path) -> None:
            # Concurrent applies of the shared cluster-scoped Groups can conflict; a user
            # would run kubectl again, so the bench does too (and reports each failure).
            for _ in range(5):
                proc = subprocess.run(
                    [kubectl, "--kubeconfig", str(kubeconfig), "apply", "--server-side",
                     "-f", str(path)],
                    capture_output=True, text=True, timeout=timeout,
                )  # fmt: skip
                if proc.returncode == 0:
                    return
                failures.append(f"{path.stem}: {proc.stderr.strip()[:300]}")
            raise BenchError(f"kubectl apply kept failing: {failures[-1]}")

        t0_wall, t0 = time.time(), time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(parallelism) as pool:
            list(pool.map(apply, files))
        kubectl_done = time.monotonic() - t0
        ready = wait(
            lambda: workloads_ready(api, set(namespaces)) == set(namespaces),
            timeout,
            f"baseline workloads ready in {n} namespaces",
        )
        ready_s = time.monotonic() - t0 if ready else None
        requests = audit.read(bench_cluster.audit_log(cp), [bench_cluster.KUBECTL_USER])
        created = first_writes(requests, keys)
        missing = sorted(map(str, keys - set(created)))
        return {
            "kubectl_processes": n,
            "kubectl_parallelism": parallelism,
            "kubectl_wall_s": round(kubectl_done, 3),
            "kubectl_failures_retried": failures,
            "children": len(keys),
            "children_exist_s": round(max(created.values()) - t0_wall, 3) if created else None,
            "missing_children": missing,
            "ready_s": round(ready_s, 3) if ready_s else None,
            "requests": audit.by_verb(requests),
        }
    finally:
        api.close()
        cp.stop()


def run_operator(
    n: int, work: Path, resync: float, timeout: float, creation_resync: float | None = None
) -> dict[str, Any]:
    """The operator reconciling N CRs created at once.

    ``creation_resync``: the operator's resync period while the CRs are created (default:
    ``resync``); the steady-state phase then runs a second process with ``resync``.
    """
    namespaces = [f"op-{n}-{i}" for i in range(n)]
    cp, api = setup_cluster(f"bench-op-{n}-{os.getpid()}", work / f"op-{n}", namespaces)
    op: OperatorProcess | None = None
    try:
        kubeconfig = bench_cluster.user_kubeconfig(
            cp, bench_cluster.OPERATOR_USER, work / f"op-{n}" / "operator.kubeconfig"
        )
        keys: set[tuple[str, str | None, str]] = set()
        for ns in namespaces:
            keys |= child_keys(baseline_manifests(ns))
        op = OperatorProcess(kubeconfig, [], resync_seconds=creation_resync or resync).start()
        assert op.proc is not None
        pid = op.proc.pid
        time.sleep(2)  # let Kopf's watches settle: start-up is not part of the figures
        idle = proc_stats(pid)
        custom = client.CustomObjectsApi(api)

        t0_wall, t0 = time.time(), time.monotonic()
        for ns in namespaces:
            custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, cr_body())
        created_s = time.monotonic() - t0
        ready_at: dict[str, float] = {}

        def all_ready() -> bool:
            for cr in custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]:
                ns = cr["metadata"]["namespace"]
                gen = cr["metadata"].get("generation")
                for c in (cr.get("status") or {}).get("conditions") or []:
                    if (
                        c["type"] == "Ready"
                        and c["status"] == "True"
                        and c.get("observedGeneration") == gen
                    ):
                        ready_at.setdefault(ns, time.monotonic() - t0)
            return len(ready_at) == n

        wait(all_ready, timeout, f"{n} CRs Ready")
        reconciles_to_ready = reconcile_count(op)
        observations_to_ready = observation_count(op)
        wakes_to_ready = watch_wakes(op)
        # The periodic resyncs (every --resync-seconds, short here to measure them) run while
        # pods start; what settling a CR takes is the rest.
        causes_to_ready = reconcile_causes(op)
        settling_to_ready = sum(v for c, v in causes_to_ready.items() if c != "resync")
        ready_s = max(ready_at.values())
        log(f"operator: {n} CRs Ready after {ready_s:.1f}s")

        # Settled: no write of the operator for a few seconds (audit log). Not "no reconcile":
        # with many CRs some resync is always running, and the bench would never move on.
        writes = audit.WriteFollower(bench_cluster.audit_log(cp), bench_cluster.OPERATOR_USER)

        def quiet() -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                time.sleep(0.5)
                if time.time() - writes.last_write() >= 3:
                    break

        quiet()
        settled_wall = steady_start_wall = time.time()
        settled = steady_base = proc_stats(pid)
        last = reconciles_creating = reconcile_count(op)
        if creation_resync is not None and creation_resync != resync:
            # Resyncs every few seconds for the steady phase: a second process, measured from
            # when its own start (every CR reconciled once) is over.
            op.stop()
            op = OperatorProcess(kubeconfig, [], resync_seconds=resync).start()
            assert op.proc is not None
            pid = op.proc.pid
            wait(lambda: reconcile_count(op) >= n, timeout, "the second process's reconciles")
            quiet()
            steady_start_wall = time.time()
            steady_base = proc_stats(pid)
            last = reconcile_count(op)

        # Steady state: two resync periods, in which every CR resyncs about twice.
        operator_resources = {k.plural for k in KINDS.values()}
        metrics_before = apiserver_requests(cp, operator_resources)
        time.sleep(2 * resync + 1)
        steady_end_wall = time.time()
        reconciles_steady = reconcile_count(op) - last
        metrics_after = apiserver_requests(cp, operator_resources)
        steady = proc_stats(pid)

        requests = audit.read(bench_cluster.audit_log(cp), [bench_cluster.OPERATOR_USER])
        created = first_writes(requests, keys)
        creating_window = audit.between(requests, t0_wall, settled_wall)
        creating = audit.by_verb(creating_window)
        # The shared Groups: every CR contributes to the same three objects.
        group_writes = [
            r for r in creating_window if r.resource == "groups" and r.verb in audit.WRITES
        ]
        group_conflicts = sum(r.code == 409 for r in group_writes)
        steady_window = audit.between(requests, steady_start_wall, steady_end_wall)
        steady_counts = audit.by_verb(steady_window)
        # Reads a reconcile made (resource GETs and LISTs), apart from the watches' own lists
        # (the relist safety net) and discovery (/apis, OAuth metadata: per process).
        reads = [r for r in steady_window if r.verb in ("GET", "LIST")]
        reconcile_reads = [r for r in reads if not r.by_watch and not r.resource.startswith("/")]
        reads_by_resource = Counter(f"{r.verb} {r.resource}" for r in reconcile_reads)
        per_reconcile = (
            {v: round(c / reconciles_steady, 2) for v, c in steady_counts.items()}
            if reconciles_steady
            else {}
        )
        apiserver_delta = {
            v: int(metrics_after.get(v, 0) - metrics_before.get(v, 0))
            for v in sorted(set(metrics_after) | set(metrics_before))
            if metrics_after.get(v, 0) - metrics_before.get(v, 0)
        }
        result: dict[str, Any] = {
            "create_calls_s": round(created_s, 3),
            "children": len(keys),
            "children_exist_s": round(max(created.values()) - t0_wall, 3) if created else None,
            "missing_children": sorted(map(str, keys - set(created))),
            "ready_s": round(ready_s, 3),
            "ready_median_s": round(sorted(ready_at.values())[n // 2], 3),
            "reconciles_until_settled": int(reconciles_creating),
            "reconciles_per_cr_until_settled": round(reconciles_creating / n, 2),
            "reconciles_per_cr_until_all_ready": round(reconciles_to_ready / n, 2),
            "reconcile_causes_until_all_ready": causes_to_ready,
            "reconciles_per_cr_until_all_ready_without_resyncs": round(settling_to_ready / n, 2),
            # Observe-only passes: a child's status news reported without rendering or applying.
            "observations_per_cr_until_all_ready": round(observations_to_ready / n, 2),
            "watch_wakes_until_all_ready": wakes_to_ready,
            "creation_requests": creating,
            "creation_requests_per_cr": {v: round(c / n, 2) for v, c in creating.items()},
            "creation_group_writes": audit.by_verb(group_writes),
            "creation_group_writes_per_cr": round(len(group_writes) / n, 2),
            "creation_group_conflicts_per_cr": round(group_conflicts / n, 2),
            "steady_window_s": round(steady_end_wall - steady_start_wall, 1),
            "creation_resync_seconds": creation_resync or resync,
            "steady_reconciles": int(reconciles_steady),
            "steady_requests": steady_counts,
            "steady_requests_per_reconcile": per_reconcile,
            "steady_writes": audit.writes(steady_counts),
            "steady_reconcile_reads": len(reconcile_reads),
            "steady_reconcile_reads_per_reconcile": round(
                len(reconcile_reads) / reconciles_steady, 2
            )
            if reconciles_steady
            else None,
            "steady_reconcile_reads_by_resource": dict(sorted(reads_by_resource.items())),
            "steady_watch_relists": sum(r.by_watch for r in reads),
            "steady_discovery_reads": sum(r.resource.startswith("/") for r in reads),
            "apiserver_request_total_delta_steady_all_clients": apiserver_delta,
            "rss_mib_idle": round(idle["rss_mib"], 1),
            "rss_mib_ready": round(settled["rss_mib"], 1),
            "rss_mib_steady": round(steady["rss_mib"], 1),
            "peak_rss_mib": round(max(settled["peak_rss_mib"], steady["peak_rss_mib"]), 1),
            "cpu_s_creation": round(settled["cpu_s"] - idle["cpu_s"], 2),
            "cpu_s_steady_window": round(steady["cpu_s"] - steady_base["cpu_s"], 2),
            "cpu_s_total": round(steady["cpu_s"], 2),
        }
        if n == 1:
            result["first_reconcile"] = first_reconcile(requests, t0_wall)
        return result
    finally:
        if op is not None:
            op.stop()
            shutil.copy(op.log_path, work / f"operator-{n}.log")
        api.close()
        cp.stop()


def first_reconcile(requests: list[audit.Request], t0_wall: float) -> dict[str, Any]:
    """Requests of the first reconciles of one CR, split where each reconcile lists children."""
    segments = audit.reconciles(
        [r for r in requests if r.received >= t0_wall and r.verb != "WATCH"]
    )
    return {
        "before_first_reconcile": audit.by_verb(segments[0]),
        "reconciles": [
            {"requests": audit.by_verb(s), "writes": sorted({f"{r.verb} {r.resource}"
             for r in s if r.verb in audit.WRITES})}
            for s in segments[1:6]
        ],
    }  # fmt: skip


# --- report --------------------------------------------------------------------------------


def fmt_verbs(counts: dict[str, Any]) -> str:
    """``GET 3 LIST 11 PATCH 1`` or ``-``."""
    return " ".join(f"{v} {c:g}" for v, c in counts.items()) or "-"


def table(results: list[dict[str, Any]]) -> str:
    """The printed report."""
    lines = [
        "| CRs | kubectl apply: all children | operator: all children | ratio | kubectl: "
        "workloads ready | operator: Ready (median / last) | "
        "reconciles/CR to all Ready (without resyncs), to settle | observe-only passes/CR |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b, o = r["baseline"], r["operator"]
        lines.append(
            f"| {r['crs']} | {b['children_exist_s']:.2f} s | {o['children_exist_s']:.2f} s | "
            f"{r['ratio_children']:.2f}x | {b['ready_s']:.2f} s | "
            f"{o['ready_median_s']:.2f} / {o['ready_s']:.2f} s | "
            f"{o['reconciles_per_cr_until_all_ready']:g} "
            f"({o['reconciles_per_cr_until_all_ready_without_resyncs']:g}), "
            f"{o['reconciles_per_cr_until_settled']:g} | "
            f"{o.get('observations_per_cr_until_all_ready', 0):g} |"
        )
    lines += [
        "",
        "| CRs | API requests per CR, creation to settled | per steady-state resync | "
        "resync writes | resync reads per reconcile (relists, discovery) | "
        "RSS ready / steady / peak | CPU s: creation, 2 resyncs | CPU s per CR | "
        "Group writes / conflicts per CR |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        o = r["operator"]
        lines.append(
            f"| {r['crs']} | {fmt_verbs(o['creation_requests_per_cr'])} | "
            f"{fmt_verbs(o['steady_requests_per_reconcile'])} | {o['steady_writes']} | "
            f"{o['steady_reconcile_reads_per_reconcile']} ({o['steady_watch_relists']}, "
            f"{o['steady_discovery_reads']}) | "
            f"{o['rss_mib_ready']:.0f} / {o['rss_mib_steady']:.0f} / {o['peak_rss_mib']:.0f} MiB"
            f" | {o['cpu_s_creation']:.1f}, {o['cpu_s_steady_window']:.1f} | "
            f"{o['cpu_s_creation'] / r['crs']:.3f} | {o['creation_group_writes_per_cr']:g} / "
            f"{o['creation_group_conflicts_per_cr']:g} |"
        )
    first = next((r["operator"].get("first_reconcile") for r in results if r["crs"] == 1), None)
    if first:
        lines += ["", "First reconciles of one CR (requests by verb; writes):"]
        before = fmt_verbs(first["before_first_reconcile"])
        lines.append(f"  Kopf's writes to the CR (finalizer, annotations) and earlier: {before}")
        for i, seg in enumerate(first["reconciles"], 1):
            lines.append(f"  #{i}: {fmt_verbs(seg['requests'])}; {', '.join(seg['writes'])}")
    return "\n".join(lines)


def targets(results: list[dict[str, Any]]) -> list[str]:
    """Each of issue 15's targets, met or missed and by how much."""

    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    out = []
    for r in results:
        o, n = r["operator"], r["crs"]
        cpu_per_cr = o["cpu_s_creation"] / n
        reconciles = o["reconciles_per_cr_until_all_ready_without_resyncs"]
        parts = [
            f"steady resync writes {o['steady_writes']} and reads "
            f"{o['steady_reconcile_reads']} ({mark(not o['steady_writes'])}, "
            f"{mark(not o['steady_reconcile_reads'])}; target 0)",
            f"children within {r['ratio_children']:.2f}x of kubectl "
            f"({mark(r['ratio_children'] <= 1.1)}, target 1.1x)",
            f"reconciles/CR to Ready {reconciles:g} besides resyncs ({mark(reconciles <= 4)}, "
            f"target 4; {o['reconciles_per_cr_until_all_ready']:g} counting resyncs, and "
            f"{o.get('observations_per_cr_until_all_ready', 0):g} observe-only passes)",
            f"Group writes {o['creation_group_writes_per_cr']:g}/CR, conflicts "
            f"{o['creation_group_conflicts_per_cr']:g}/CR "
            f"({mark(o['creation_group_conflicts_per_cr'] <= 1)}, target 1)",
            f"CPU {cpu_per_cr:.3f} s/CR ({mark(cpu_per_cr <= 0.25)}, target 0.25)",
            f"RSS {o['peak_rss_mib']:.0f} MiB peak ({mark(o['peak_rss_mib'] <= 150)}, "
            "target 150 MiB)",
            f"all {n} Ready ({mark(not o['missing_children'])})",
        ]
        out.append(f"{n:>3} CRs: " + "; ".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="write results here")
    parser.add_argument("--counts", default="1,10,100", help="CR counts, comma-separated")
    parser.add_argument("--resync-seconds", type=float, default=10.0)
    parser.add_argument(
        "--creation-resync-seconds",
        type=float,
        help="the operator's resync while CRs are created (default: --resync-seconds; e.g. "
        "300, the operator's default); a second process then measures the steady state",
    )
    parser.add_argument("--kubectl-parallelism", type=int, default=8)
    parser.add_argument(
        "--timeout", type=float, help="per phase, seconds (default: 240 + 3 per CR)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (audit logs)")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    work = Path(tempfile.mkdtemp(prefix="litemaas-bench-"))
    started = time.monotonic()
    results = []
    try:
        for n in counts:
            timeout = args.timeout or 240.0 + 3 * n
            log(f"{n} CRs: baseline (kubectl apply --server-side)")
            baseline = run_baseline(n, work, args.kubectl_parallelism, timeout)
            log(f"{n} CRs: kubectl children in {baseline['children_exist_s']}s; operator")
            operator = run_operator(
                n, work, args.resync_seconds, timeout, args.creation_resync_seconds
            )
            results.append(
                {
                    "crs": n,
                    "baseline": baseline,
                    "operator": operator,
                    "ratio_children": round(
                        operator["children_exist_s"] / baseline["children_exist_s"], 2
                    ),
                    "ratio_ready": round(operator["ready_s"] / baseline["ready_s"], 2),
                }
            )
            # Written after each count: a long run that fails later keeps what it measured.
            args.json.write_text(json.dumps(report(args, started, results), indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work dir kept: {work}")
    final = report(args, started, results)
    args.json.write_text(json.dumps(final, indent=2))
    print(table(results))
    print()
    print("\n".join(final["targets"]))
    print(f"\n(bench took {final['duration_s']:.0f} s; JSON in {args.json})")
    return 0


def report(
    args: argparse.Namespace, started: float, results: list[dict[str, Any]]
) -> dict[str, Any]:
    """The JSON written: the machine, the settings, each count's figures and the targets."""
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kubernetes": harness_config.kubectl_path(),
            "load_average_at_end": os.getloadavg(),
        },
        "resync_seconds": args.resync_seconds,
        "duration_s": round(time.monotonic() - started, 1),
        "results": results,
        "targets": targets(results),
    }


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
