"""The operator image, built from the Dockerfile and run as its pod would run it.

No Docker engine: ``hack/image.sh`` builds the image with buildah (on a stand-in base where
the official one cannot be pulled: the test says which), ``umoci`` unpacks it and ``runc``
runs it, configured from the installed Deployment's pod template (tests/support/image.py):
its env and args, UID 1001 in group 0, a read-only root with /tmp writable, no capabilities,
its resource limits, and the ServiceAccount's token, ``ca.crt`` and ``namespace`` where the
kubelet mounts them, with ``KUBERNETES_SERVICE_HOST``/``_PORT`` naming the harness API server.
The in-cluster configuration is the operator's own (no kubeconfig). Only the network is the
host's, because the harness API server listens on the host's loopback.

Each runtime's way of running it: Docker's and containerd's (UID 1001 and no /etc/passwd entry
for it, where Kopf's default identity, from ``getpass``, crashes), the same from a pod template
without the downward API's ``POD_ID`` (a hand-written Deployment: the operator's own identity,
host and pid, must do), and OpenShift's (an arbitrary UID in group 0, with the passwd line
CRI-O adds).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.crs import CRs
from support.image import (
    SA_DIR,
    Container,
    Image,
    PodIdentity,
    build_image,
    missing_tools,
    network_interfaces,
    operator_deployment,
    quantity_bytes,
    service_account_files,
    unpack,
)
from support.install import SAMPLES, forbidden_lines, new_namespace, sample

pytestmark = [pytest.mark.e2e]

# (uid, gid, passwd line added, env dropped from the pod template); None: the image's 1001:0.
RUNTIMES: dict[str, tuple[int | None, int | None, bool, tuple[str, ...]]] = {
    "containerd-uid1001-no-passwd-entry": (None, None, False, ()),
    "containerd-uid1001-no-passwd-entry-no-POD_ID": (None, None, False, ("POD_ID",)),
    "openshift-arbitrary-uid": (1000730000, 0, True, ()),
}


@pytest.fixture(scope="module")
def image() -> Image:
    """The image of today's working tree (a no-op rebuild takes seconds)."""
    if os.geteuid() != 0:
        pytest.fail("the image test needs root (buildah's storage, runc); CI runs as root")
    missing = missing_tools()
    if missing:
        pytest.fail(
            f"image tools missing: {', '.join(missing)}. `make image` installs them (Debian "
            "packages) and builds the image; `make setup` does it in CI"
        )
    try:
        return build_image()
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def bundle(image: Image, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The image unpacked by umoci: rootfs/, umoci's config.json, the image's own config."""
    dest = tmp_path_factory.mktemp("image")
    yield unpack(image, dest)
    shutil.rmtree(dest, ignore_errors=True)


def process_status(pid: int) -> dict[str, str]:
    """/proc/<pid>/status as a dict."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def root_mount_options(pid: int) -> list[str]:
    """The mount options of / as the process sees it."""
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == "/":
            return fields[5].split(",")
    raise AssertionError(f"no / in /proc/{pid}/mountinfo")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_the_image_runs_the_operator_as_its_pod_would(
    manifests_install: Any,
    image: Image,
    bundle: Path,
    tmp_path: Path,
    runtime: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = manifests_install
    uid, gid, passwd_entry, without_env = RUNTIMES[runtime]
    container = Container(
        bundle,
        tmp_path,
        operator_deployment(cluster.kubectl),
        PodIdentity.for_server(cluster.server),
        service_account_files(cluster.kubectl),
        uid=uid,
        gid=gid,
        passwd_entry=passwd_entry,
        without_env=without_env,
    )
    # The Dockerfile's USER: numeric, non-root, group 0.
    assert container.image["User"] == "1001:0"
    if not passwd_entry:
        passwd = (bundle / "rootfs/etc/passwd").read_text().splitlines()
        assert all(line.split(":")[2] != str(container.uid) for line in passwd)

    ns = new_namespace(cluster, "e2e-image")
    crs = CRs(cluster, ns)
    name = sample("litemaas-cr")["metadata"]["name"]
    interfaces = network_interfaces()
    try:
        # The CR is there first: start-up to Ready is the operator's whole first reconcile.
        cluster.kubectl("apply", "-n", ns, "-f", str(SAMPLES / "litemaas-cr.yaml"))
        container.start()
        live = container.wait_live()

        # It is the pod's process: the UID, group 0, no capabilities, a read-only root.
        status = process_status(container.pid())
        assert status["Uid"].split()[:2] == [str(container.uid)] * 2, status["Uid"]
        assert status["Gid"].split()[:2] == ["0", "0"], status["Gid"]
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0, status
        assert status["NoNewPrivs"] == "1"
        assert "ro" in root_mount_options(container.pid())
        limits = container.container["resources"]["limits"]
        assert container.memory_limit() == quantity_bytes(limits["memory"])

        ready = crs.wait_ready(name, timeout=180)
        to_ready = time.monotonic() - container.started_at
        assert ready["status"]["urls"]["frontend"].startswith("https://"), ready["status"]
        assert "# HELP" in container.metrics()

        # The finalizer is the operator's: deleting the CR needs the running image.
        crs.delete(name)
        crs.wait_gone(name, timeout=90)
        logs = container.logs()
        assert container.alive(), logs[-3000:]
        exit_code = container.stop()
        assert exit_code == 0, f"exit {exit_code}:\n{container.logs()[-3000:]}"
    finally:
        container.remove()
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        leftovers = container.leftovers()
    logs = container.logs()
    assert "Traceback" not in logs and "getpwuid" not in logs, logs[-5000:]
    assert forbidden_lines(logs) == [], "\n".join(forbidden_lines(logs))
    assert leftovers == [], leftovers
    assert network_interfaces() == interfaces
    with capsys.disabled():
        print(
            f"\n[image] {runtime}: {image.summary}; uid {container.uid}; live after {live:.1f}s, "
            f"sample Ready {to_ready:.1f}s after runc run; in-cluster config from {SA_DIR}"
        )
