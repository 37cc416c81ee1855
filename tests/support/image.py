"""Run the operator image under runc, configured as the kubelet would configure its pod.

No Docker engine and no kubelet: ``hack/image.sh`` builds the image with buildah into an OCI
archive, ``umoci`` unpacks it into a root filesystem plus a runtime config, and this module
turns the installed Deployment's pod template into that config (the container's env with the
downward API resolved, command/args, user, read-only root, capabilities, resources, the /tmp
emptyDir, the ServiceAccount volume) and runs it with ``runc``. Only the network is the
host's: the harness API server listens on the host's loopback.

Not reproduced: the RuntimeDefault seccomp profile (runc runs without one), the probes (the
test asks /healthz itself), the emptyDir's sizeLimit (the kubelet enforces it by eviction), and
the token's binding to a pod (``kubectl create token`` gives an unbound one, as valid for RBAC).
The health and metrics ports move to free ones, since the host's network is shared.

tests/e2e/test_image.py runs it this way, and so does ``hack/demo.sh up`` (hack/demo_image.py).
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import urlopen

from support.install import OPERATOR_NAMESPACE, ROOT, SERVICE_ACCOUNT
from support.operator import free_port

# What the image test needs on the machine (`hack/image.sh deps` installs them).
TOOLS = ("mmdebstrap", "buildah", "skopeo", "umoci", "runc")
# What running an already built image needs (hack/demo.sh).
RUN_TOOLS = ("umoci", "runc")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The Deployment's ports are the pod's own; sharing the host's network, the test moves them.
PORT_VARS = ("HEALTH_PORT", "METRICS_PORT")
# containerd's and CRI-O's open-files limit, capped by what this host allows.
NOFILE = min(1048576, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
# Runs kubectl with a cluster's admin kubeconfig (``Cluster.kubectl``); raises on failure.
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@dataclass
class Image:
    """The OCI archive ``hack/image.sh`` wrote, and what it was built from."""

    archive: Path
    tag: str
    id: str
    base: str  # "stand-in" or "official"
    base_image: str
    official_base: str
    size: str

    @property
    def summary(self) -> str:
        base = (
            f"STAND-IN base {self.base_image} (not {self.official_base})"
            if self.base == "stand-in"
            else f"official base {self.base_image}"
        )
        return f"image {self.id[:12]} ({self.size}) on {base}"


def missing_tools(tools: tuple[str, ...] = TOOLS) -> list[str]:
    """The image tools (by default: to build and run it) not installed here."""
    return [t for t in tools if shutil.which(t) is None]


def build_image() -> Image:
    """``hack/image.sh build``: seconds when nothing changed, so the test runs today's code.

    Never installs packages (``LITEMAAS_IMAGE_NO_INSTALL``): a missing tool is an error.
    """
    out = subprocess.run(
        [str(ROOT / "hack/image.sh"), "build"],
        env={**os.environ, "LITEMAAS_IMAGE_NO_INSTALL": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"hack/image.sh build failed:\n{out.stderr[-4000:]}")
    return built_image()


def built_image() -> Image:
    """The archive ``hack/image.sh`` last wrote, as it is (RuntimeError if none was built)."""
    out = subprocess.run(
        [str(ROOT / "hack/image.sh"), "path"], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    path = out.stdout.strip()
    meta = json.loads(Path(path).with_suffix("").with_suffix(".json").read_text())
    return Image(
        archive=Path(meta["archive"]),
        tag=meta["tag"],
        id=meta["id"],
        base=meta["base"],
        base_image=meta["base_image"],
        official_base=meta["official_base"],
        size=meta["size"],
    )


def unpack(image: Image, dest: Path) -> Path:
    """Unpack the archive with umoci into ``dest/bundle`` (rootfs/ and umoci's config.json)."""
    layout = dest / "layout"
    with tarfile.open(image.archive) as tar:
        tar.extractall(layout, filter="tar")
    bundle = dest / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{image.tag}", str(bundle)],
        check=True,
        capture_output=True,
        text=True,
    )
    # umoci's config.json merges ENTRYPOINT and CMD; Kubernetes treats them apart, so keep
    # the image's own config beside it.
    (bundle / "image-config.json").write_text(json.dumps(image_config(layout, image.tag)))
    shutil.rmtree(layout)
    return bundle


def image_config(layout: Path, tag: str) -> dict[str, Any]:
    """The image config's ``config`` (Entrypoint, Cmd, Env, User, WorkingDir) in an OCI layout."""

    def blob(digest: str) -> dict[str, Any]:
        algo, _, hexa = digest.partition(":")
        return json.loads((layout / "blobs" / algo / hexa).read_text())

    index = json.loads((layout / "index.json").read_text())
    (manifest,) = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    return blob(blob(manifest["digest"])["config"]["digest"])["config"]


def quantity_bytes(q: str) -> int:
    """A Kubernetes memory quantity (``512Mi``, ``1G``, ``128974848``) in bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6}
    units |= {"G": 10**9, "T": 10**12}
    m = re.fullmatch(r"(\d+)([A-Za-z]*)", q)
    if not m or (m.group(2) and m.group(2) not in units):
        raise ValueError(f"unsupported quantity {q!r}")
    return int(m.group(1)) * units.get(m.group(2), 1)


def quantity_millicpu(q: str) -> int:
    """A CPU quantity (``500m``, ``2``) in millicores."""
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


@dataclass
class PodIdentity:
    """What the kubelet would know of the pod: its name, namespace and API server."""

    name: str
    namespace: str
    service_host: str
    service_port: int

    @classmethod
    def for_server(cls, server: str, namespace: str = OPERATOR_NAMESPACE) -> PodIdentity:
        """A pod of the operator's Deployment (a ReplicaSet-style name) on API ``server``."""
        api = urlparse(server)
        if not (api.hostname and api.port):
            raise ValueError(f"no host and port in {server!r}")
        return cls(
            name=f"litemaas-operator-{secrets.token_hex(5)}-{secrets.token_hex(3)[:5]}",
            namespace=namespace,
            service_host=api.hostname,
            service_port=api.port,
        )


def operator_deployment(kubectl: Kubectl) -> dict[str, Any]:
    """The installed operator Deployment (its pod template is what the container runs)."""
    out = kubectl("get", "deployment", "litemaas-operator", "-n", OPERATOR_NAMESPACE, "-o", "json")
    return json.loads(out.stdout)


def service_account_files(kubectl: Kubectl, duration: str = "1h") -> dict[str, str]:
    """What the kubelet projects for the pod's ServiceAccount: token, ca.crt, namespace."""
    token = kubectl(
        "create", "token", SERVICE_ACCOUNT, "-n", OPERATOR_NAMESPACE, f"--duration={duration}"
    ).stdout.strip()
    ca = kubectl("get", "configmap", "kube-root-ca.crt", "-n", OPERATOR_NAMESPACE, "-o", "json")
    return {
        "token": token,
        "ca.crt": json.loads(ca.stdout)["data"]["ca.crt"],
        "namespace": OPERATOR_NAMESPACE,
    }


def resolve_env(container: dict[str, Any], pod: PodIdentity) -> dict[str, str]:
    """The container's env, the downward API resolved; anything else is refused loudly."""
    fields = {"metadata.name": pod.name, "metadata.namespace": pod.namespace}
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "valueFrom" not in var:
            env[var["name"]] = str(var.get("value", ""))
            continue
        path = (var["valueFrom"].get("fieldRef") or {}).get("fieldPath")
        if path not in fields:
            raise NotImplementedError(f"env {var['name']}: {var['valueFrom']} is not resolved")
        env[var["name"]] = fields[path]
    if container.get("envFrom"):
        raise NotImplementedError(f"envFrom is not resolved: {container['envFrom']}")
    return env


class RuncContainer:
    """A runc container known by its id, work directory and root filesystem.

    Enough to kill, delete and audit it from another process than the one that started it
    (``hack/demo.sh down``): ``handle()`` is what that process has to keep.
    """

    def __init__(self, id: str, workdir: Path, rootfs: Path) -> None:
        self.id = id
        self.dir = workdir
        self.rootfs = rootfs
        self.state_root = workdir / "runc-state"
        self.cgroup = f"/{id}"  # runc removes it with the container

    def handle(self) -> dict[str, str]:
        """What ``from_handle`` needs, JSON-ready."""
        return {"id": self.id, "workdir": str(self.dir), "rootfs": str(self.rootfs)}

    @staticmethod
    def from_handle(handle: dict[str, str]) -> RuncContainer:
        return RuncContainer(handle["id"], Path(handle["workdir"]), Path(handle["rootfs"]))

    def runc(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runc", "--root", str(self.state_root), *args],
            capture_output=True,
            text=True,
            check=check,
        )

    def remove(self) -> None:
        """Kill whatever of it still runs and delete it (runc takes its cgroup and mounts)."""
        self.runc("kill", "--all", self.id, "KILL")
        self.runc("delete", "--force", self.id)

    def leftovers(self) -> list[str]:
        """Anything of this container still on the host (empty when it is all gone)."""
        found = []
        listed = self.runc("list", "-q").stdout.split()
        if self.id in listed:
            found.append(f"runc container {self.id}")
        mountinfo = Path("/proc/self/mountinfo").read_text()
        for line in mountinfo.splitlines():
            if str(self.dir) in line or str(self.rootfs) in line:
                found.append(f"mount: {line}")
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            cg = hierarchy / self.cgroup.lstrip("/")
            if cg.exists():
                found.append(f"cgroup {cg}")
        return found


class Container(RuncContainer):
    """One runc container of the operator image, from the Deployment's pod template.

    ``uid``/``gid`` replace the pod's (OpenShift assigns an arbitrary UID in group 0);
    ``passwd_entry`` bind-mounts a copy of the image's /etc/passwd with a line for the UID, as
    CRI-O does on OpenShift (Docker and containerd add none); ``without_env`` drops variables
    of the pod template (a Deployment written without them); ``log_path`` receives its
    output (default: ``container.log`` in ``workdir``).
    """

    def __init__(
        self,
        bundle: Path,
        workdir: Path,
        deployment: dict[str, Any],
        pod: PodIdentity,
        sa_files: dict[str, str],
        *,
        uid: int | None = None,
        gid: int | None = None,
        passwd_entry: bool = False,
        without_env: tuple[str, ...] = (),
        log_path: Path | None = None,
    ) -> None:
        super().__init__(f"litemaas-image-{uuid.uuid4().hex[:8]}", workdir, bundle / "rootfs")
        self.bundle = bundle
        self.pod = pod
        self.log_path = log_path or workdir / "container.log"
        spec = deployment["spec"]["template"]["spec"]
        (container,) = [c for c in spec["containers"] if c["name"] == "operator"]
        self.container = container
        ctx = {**(spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
        self.image = json.loads((bundle / "image-config.json").read_text())
        # The image's USER unless the pod says otherwise (runAsUser/runAsGroup, or OpenShift).
        image_uid, _, image_gid = (self.image.get("User") or "0").partition(":")
        self.uid: int = next(
            u for u in (uid, ctx.get("runAsUser"), int(image_uid)) if u is not None
        )
        self.gid: int = next(
            g for g in (gid, ctx.get("runAsGroup"), int(image_gid or 0)) if g is not None
        )
        self.security = ctx
        self.volumes = {v["name"]: v for v in spec.get("volumes") or []}
        self.grace = spec.get("terminationGracePeriodSeconds", 30)
        self.env = resolve_env(container, pod)
        for var in without_env:
            del self.env[var]
        self.ports = {var: free_port() for var in PORT_VARS if var in self.env}
        self.env.update({var: str(port) for var, port in self.ports.items()})
        self.passwd_entry = passwd_entry
        self.sa_files = sa_files
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    # -- the runtime config ------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """umoci's config.json for the image, turned into this pod's container."""
        config = json.loads((self.bundle / "config.json").read_text())
        image = self.image
        process = config["process"]
        process["terminal"] = False
        if self.security.get("runAsNonRoot") and self.uid == 0:
            raise RuntimeError("runAsNonRoot: the container would run as root")
        process["user"] = {"uid": self.uid, "gid": self.gid, "additionalGids": [self.gid]}
        # Kubernetes: command replaces ENTRYPOINT, args replace CMD.
        entrypoint = self.container.get("command") or image.get("Entrypoint") or []
        cmd = self.container.get("args") or ([] if self.container.get("command") else None)
        process["args"] = [*entrypoint, *(cmd if cmd is not None else image.get("Cmd") or [])]
        env = dict(e.split("=", 1) for e in image.get("Env") or [])
        env.update(
            {
                "HOSTNAME": self.pod.name,
                # What the kubelet sets for the `kubernetes` Service (here: the harness).
                "KUBERNETES_SERVICE_HOST": self.pod.service_host,
                "KUBERNETES_SERVICE_PORT": str(self.pod.service_port),
                "KUBERNETES_SERVICE_PORT_HTTPS": str(self.pod.service_port),
                "KUBERNETES_PORT": f"tcp://{self.pod.service_host}:{self.pod.service_port}",
            }
        )
        env.update(self.env)
        process["env"] = [f"{k}={v}" for k, v in env.items()]
        process["cwd"] = self.container.get("workingDir") or image.get("WorkingDir") or "/"
        caps = self.security.get("capabilities") or {}
        if "ALL" in (caps.get("drop") or []):
            kept: list[str] = []
        else:
            kept = process["capabilities"]["bounding"]
        kept = sorted({*kept, *(f"CAP_{c}" for c in caps.get("add") or [])})
        process["capabilities"] = {k: kept for k in ("bounding", "effective", "permitted")}
        process["noNewPrivileges"] = self.security.get("allowPrivilegeEscalation") is False
        process["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": NOFILE, "soft": NOFILE}]

        config["root"] = {
            "path": str(self.rootfs),
            "readonly": bool(self.security.get("readOnlyRootFilesystem")),
        }
        config["hostname"] = self.pod.name
        config["mounts"] += self.volume_mounts()
        linux = config["linux"]
        # Host network (the harness API server is on the host's loopback); the rest of the
        # pod's isolation (pid, ipc, uts, mount) as a pod has it.
        linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] != "network"]
        linux["cgroupsPath"] = self.cgroup
        linux["resources"] = {**linux.get("resources", {}), **self.resources()}
        return config

    def resources(self) -> dict[str, Any]:
        """The container's limits as the kubelet sets its cgroup.

        Not the CPU request's shares: on a node they weigh the pod against other pods inside
        the kubepods cgroup; here they would weigh it against everything else on the host.
        """
        limits = (self.container.get("resources") or {}).get("limits") or {}
        out: dict[str, Any] = {}
        if "memory" in limits:
            out["memory"] = {"limit": quantity_bytes(limits["memory"])}
        if "cpu" in limits:
            out["cpu"] = {"quota": quantity_millicpu(limits["cpu"]) * 100, "period": 100000}
        return out

    def volume_mounts(self) -> list[dict[str, Any]]:
        """The pod's volumes: emptyDirs as fresh directories, the ServiceAccount's token."""
        mounts = []
        for vm in self.container.get("volumeMounts") or []:
            volume = self.volumes[vm["name"]]
            if "emptyDir" not in volume:
                raise NotImplementedError(f"volume {volume} is not reproduced")
            src = self.dir / "volumes" / vm["name"]
            src.mkdir(parents=True)
            src.chmod(0o777)  # as the kubelet makes an emptyDir
            opts = ["rbind", "ro" if vm.get("readOnly") else "rw", "nosuid", "nodev"]
            mounts.append(
                {
                    "destination": vm["mountPath"],
                    "type": "bind",
                    "source": str(src),
                    "options": opts,
                }
            )
        # automountServiceAccountToken: the projected volume, read-only, files 0644.
        sa = self.dir / "serviceaccount"
        sa.mkdir()
        for name, text in self.sa_files.items():
            (sa / name).write_text(text)
            (sa / name).chmod(0o644)
        mounts.append(
            {
                "destination": SA_DIR,
                "type": "bind",
                "source": str(sa),
                "options": ["rbind", "ro", "nosuid", "nodev", "noexec"],
            }
        )
        if self.passwd_entry:
            passwd = self.dir / "passwd"
            text = (self.rootfs / "etc/passwd").read_text()
            # CRI-O's line: the UID as the name, the group, the working directory as home.
            uid, gid = self.uid, self.gid
            passwd.write_text(f"{text}{uid}:x:{uid}:{gid}:{uid} user:/tmp:/sbin/nologin\n")
            passwd.chmod(0o644)
            mounts.append(
                {
                    "destination": "/etc/passwd",
                    "type": "bind",
                    "source": str(passwd),
                    "options": ["bind", "ro"],
                }
            )
        return mounts

    def start(self) -> Container:
        """Write the bundle's config and ``runc run`` it (in the foreground, as a child)."""
        run_bundle = self.dir / "bundle"
        run_bundle.mkdir()
        (run_bundle / "config.json").write_text(json.dumps(self.config(), indent=1))
        self.started_at = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    "runc",
                    "--root",
                    str(self.state_root),
                    "run",
                    "--bundle",
                    str(run_bundle),
                    self.id,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        """Whether the container's process (runc in the foreground) still runs."""
        return self.proc is not None and self.proc.poll() is None

    def pid(self) -> int:
        """The container's init (the operator) as the host sees it."""
        return int(json.loads(self.runc("state", self.id, check=True).stdout)["pid"])

    def wait_live(self) -> float:
        """Seconds from ``runc run`` until /healthz answers, as the kubelet's probe asks.

        Within the time the liveness probe allows before the kubelet would restart it.
        """
        port = self.ports["HEALTH_PORT"]
        probe = self.container["livenessProbe"]
        allowed = probe.get("failureThreshold", 3) * probe.get("periodSeconds", 10)
        deadline = self.started_at + probe.get("initialDelaySeconds", 0) + allowed
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"the container exited ({code}):\n{self.logs()}")
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return time.monotonic() - self.started_at
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"the operator did not become live:\n{self.logs()[-3000:]}")

    def memory_limit(self) -> int | None:
        """The memory limit of the container's cgroup (v1 or v2), in bytes."""
        for line in Path(f"/proc/{self.pid()}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                limit = Path("/sys/fs/cgroup/memory", path.lstrip("/"), "memory.limit_in_bytes")
            elif controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
                limit = Path("/sys/fs/cgroup", path.lstrip("/"), "memory.max")
            else:
                continue
            text = limit.read_text().strip()
            return None if text == "max" else int(text)
        return None

    def metrics(self) -> str:
        with urlopen(f"http://127.0.0.1:{self.ports['METRICS_PORT']}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after the pod's terminationGracePeriodSeconds; the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            self.runc("kill", self.id, "TERM")
            try:
                proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                self.runc("kill", "--all", self.id, "KILL")
                proc.wait(10)
        return proc.returncode

    def remove(self) -> None:
        """Whatever happened: no container, process, cgroup or mount of it is left."""
        super().remove()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def network_interfaces() -> set[str]:
    """The host's network interfaces (nothing may be added by running a container)."""
    return {name for _, name in socket.if_nameindex()}
