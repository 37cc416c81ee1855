#!/usr/bin/env python3
"""The demo's operator run from its image under runc, as its pod would run (``hack/demo.sh``).

    hack/demo_image.py run --kubeconfig K --dir D --log L
        start the operator's container from the built image (unpacked once per image, beside
        its archive) and the installed Deployment's pod template (tests/support/image.py, as
        tests/e2e/test_image.py does), write D/ready once /healthz answers, then stay in the
        foreground; on SIGTERM stop the container (the pod's grace period), remove it, check
        nothing is left and remove D
    hack/demo_image.py clean --dir D
        what a killed ``run`` left: remove its container, check nothing of it is left (runc
        state, cgroup, mounts, a network interface) and remove D; exit 1 naming any leftover

``K`` is the cluster's admin kubeconfig: it reads the Deployment and the CA and makes the
ServiceAccount's token; the operator itself authenticates with that token, from the in-cluster
configuration, exactly as in its pod.
"""

from __future__ import annotations

import argparse
import fcntl
import filecmp
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness.config import kubectl_path  # noqa: E402
from support.image import (  # noqa: E402
    Container,
    Image,
    Kubectl,
    PodIdentity,
    RuncContainer,
    built_image,
    network_interfaces,
    operator_deployment,
    service_account_files,
    unpack,
)

STATE = "state.json"  # the container's handle and the host's interfaces before it started
READY = "ready"  # one line for hack/demo.sh's log, written once /healthz answers
TOKEN_DURATION = "24h"  # as long as the host process's token: a demo may run all day


class StopRequested(Exception):  # noqa: N818 (a request, not an error)
    """A signal asked the supervisor to stop the container."""


def on_signal(signum: int, _frame: FrameType | None) -> None:
    # Once: a second signal must not interrupt the grace period or the clean-up.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise StopRequested(signal.Signals(signum).name)


def say(msg: str) -> None:
    print(f"[demo_image] {msg}", file=sys.stderr, flush=True)


def kubectl_with(kubeconfig: Path) -> Kubectl:
    """kubectl with this kubeconfig, output captured, raising on failure."""

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [kubectl_path(), "--kubeconfig", str(kubeconfig), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True)

    return kubectl


def cached_bundle(image: Image, demos: Path) -> tuple[Path, bool]:
    """The image unpacked (seconds to tens of seconds on 2 busy cores) once per image id.

    Returns the bundle and whether it was unpacked now.
    Beside the archive, so ``hack/image.sh clean`` removes it. Containers share it: the root is
    read-only in them, and runc only adds mount points to it (test_image.py's containers share
    one too). Other images' copies go, unless a demo under ``demos`` still runs from one.
    """
    dest = image.archive.parent / f"unpacked-{image.id[:12]}"
    fresh = False
    with (image.archive.parent / "unpack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one unpack or prune at a time, across demos
        if not (dest / "bundle" / "image-config.json").exists():  # written last by unpack()
            shutil.rmtree(dest, ignore_errors=True)
            partial = dest.with_name(dest.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            unpack(image, partial)
            partial.rename(dest)
            fresh = True
        in_use = {json.loads(p.read_text())["rootfs"] for p in demos.glob("*/image/" + STATE)}
        for old in image.archive.parent.glob("unpacked-*"):
            if old != dest and not any(r.startswith(f"{old}/") for r in in_use):
                shutil.rmtree(old, ignore_errors=True)
    return dest / "bundle", fresh


def differing_modules(rootfs: Path) -> list[str]:
    """The operator's modules that differ between this tree and the image (which runs its own)."""
    tree = ROOT / "operator" / "litemaas_operator"
    found = list(rootfs.glob("opt/venv/lib/python3*/site-packages/litemaas_operator"))
    if len(found) != 1:
        return ["(the package is not where the Dockerfile puts it)"]
    image = found[0]
    names = {p.relative_to(tree) for p in tree.rglob("*.py")}
    names |= {p.relative_to(image) for p in image.rglob("*.py")}
    return sorted(
        str(n)
        for n in names
        if not ((tree / n).is_file() and (image / n).is_file())
        or not filecmp.cmp(tree / n, image / n, shallow=False)
    )


def process_ids(pid: int) -> tuple[str, str]:
    """The real UID and GID of a host process."""
    status = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return status["Uid"].split()[0], status["Gid"].split()[0]


def audit(container: RuncContainer, interfaces_before: set[str]) -> list[str]:
    """What is left of the container on the host, or a network interface added since."""
    added = network_interfaces() - interfaces_before
    return container.leftovers() + [f"network interface {i}" for i in sorted(added)]


def finish(container: RuncContainer, interfaces_before: set[str], workdir: Path) -> int:
    """Remove the container; remove ``workdir`` only when nothing of it is left (mounts)."""
    container.remove()
    left = audit(container, interfaces_before)
    if left:
        say("LEFT BEHIND (workdir kept: " + str(workdir) + "):\n  " + "\n  ".join(left))
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run(kubeconfig: Path, workdir: Path, log: Path) -> int:
    """Start the container, supervise it until a signal, then stop and remove it."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    workdir.mkdir(parents=True, exist_ok=True)
    interfaces = network_interfaces()
    container: Container | None = None
    code = 1
    try:
        kubectl = kubectl_with(kubeconfig)
        server = kubectl(
            "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
        ).stdout
        image = built_image()
        start = time.monotonic()
        # workdir is <cache>/demo/<cluster>/image: the other demos are its parent's siblings.
        bundle, fresh = cached_bundle(image, workdir.parent.parent)
        took = time.monotonic() - start
        unpacked = f"unpacked in {took:.1f}s" if fresh else "its unpacked copy reused"
        (workdir / "run").mkdir()
        container = Container(
            bundle,
            workdir / "run",
            operator_deployment(kubectl),
            PodIdentity.for_server(server),
            service_account_files(kubectl, TOKEN_DURATION),
            log_path=log,
        )
        state = {**container.handle(), "interfaces": sorted(interfaces)}
        (workdir / STATE).write_text(json.dumps(state))
        container.start()
        live = container.wait_live()
        uid, gid = process_ids(container.pid())
        stale = differing_modules(container.rootfs)
        ports = container.ports
        line = (
            f"runc container {container.id}, pid {container.pid()}, UID {uid} GID {gid}, "
            f"{unpacked}, live {live:.1f}s after runc run, "
            f"health :{ports['HEALTH_PORT']}, metrics :{ports['METRICS_PORT']}; "
            f"{image.summary}"
        )
        if stale:
            line += (
                f"; NOTE: {len(stale)} of its operator modules differ from this tree "
                f"(e.g. {stale[0]}): `make image` rebuilds it"
            )
        (workdir / READY).write_text(line + "\n")
        say(line)
        assert container.proc is not None
        code = container.proc.wait()
        say(f"the container exited by itself (runc: {code})")
        return 1
    except StopRequested as stop:
        if container is None:
            return 0
        say(f"{stop}: stopping the container (grace period {container.grace}s)")
        code = container.stop() or 0
        say(f"the operator exited {code}")
        return 0 if code == 0 else 1
    finally:
        if container is None:
            shutil.rmtree(workdir, ignore_errors=True)  # nothing was started
        elif finish(container, interfaces, workdir) == 0:
            say(f"removed {container.id}: no runc state, cgroup, mount or interface left")


def clean(workdir: Path) -> int:
    """Whatever a killed ``run`` left in ``workdir``; 1 when something cannot be removed."""
    state_file = workdir / STATE
    if not state_file.exists():
        shutil.rmtree(workdir, ignore_errors=True)  # no container was started from it
        return 0
    state = json.loads(state_file.read_text())
    container = RuncContainer.from_handle(state)
    say(f"removing {container.id}, left by a stopped `run`")
    return finish(container, set(state["interfaces"]), workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="start and supervise the container")
    p_run.add_argument("--kubeconfig", type=Path, required=True, help="the admin kubeconfig")
    p_run.add_argument("--log", type=Path, required=True, help="the operator's log")
    p_clean = sub.add_parser("clean", help="remove what a killed `run` left")
    for p in (p_run, p_clean):
        p.add_argument("--dir", type=Path, required=True, help="the work directory")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.kubeconfig, args.dir, args.log)
    return clean(args.dir)


if __name__ == "__main__":
    sys.exit(main())
