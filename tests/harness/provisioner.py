"""A minimal external volume provisioner so PVCs of the harness StorageClass get Bound.

kube-controller-manager's PV controller binds claims but, for an external provisioner,
waits for someone to create the volume. This plays that part like a CSI external-provisioner
would: for each pending claim it is responsible for, it creates a pre-bound hostPath
PersistentVolume (nothing ever mounts it: pods run on a kwok fake node), and it deletes
Released volumes whose reclaim policy is Delete. Binding itself stays the real controller's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from kubernetes import client

from .watching import watch_forever

log = logging.getLogger(__name__)
PROVISIONER = "harness.litemaas.io/hostpath"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"


class Provisioner:
    """Creates and deletes PVs for claims whose class names our provisioner."""

    def __init__(self, api_client_factory: Callable[[], client.ApiClient], volumes_dir: Path):
        self._core = client.CoreV1Api(api_client_factory())
        self._storage = client.StorageV1Api(api_client_factory())
        self._volumes_dir = volumes_dir
        self._stop = threading.Event()

    def _ours(self, pvc: client.V1PersistentVolumeClaim) -> client.V1StorageClass | None:
        annotations = pvc.metadata.annotations or {}
        # KCM sets this annotation once it has decided the claim needs external provisioning.
        if annotations.get(ANN_STORAGE_PROVISIONER) != PROVISIONER:
            return None
        return self._storage.read_storage_class(pvc.spec.storage_class_name)

    def on_claim(self, event_type: str, pvc: client.V1PersistentVolumeClaim) -> None:
        if event_type == "DELETED" or pvc.spec.volume_name or pvc.status.phase != "Pending":
            return
        sc = self._ours(pvc)
        if sc is None:
            return
        name = f"pvc-{pvc.metadata.uid}"
        pv = client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=name, annotations={ANN_PROVISIONED_BY: PROVISIONER}),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": pvc.spec.resources.requests["storage"]},
                access_modes=pvc.spec.access_modes,
                volume_mode=pvc.spec.volume_mode,
                storage_class_name=sc.metadata.name,
                persistent_volume_reclaim_policy=sc.reclaim_policy or "Delete",
                mount_options=sc.mount_options,
                host_path=client.V1HostPathVolumeSource(
                    path=str(self._volumes_dir / name), type="DirectoryOrCreate"
                ),
                claim_ref=client.V1ObjectReference(
                    api_version="v1",
                    kind="PersistentVolumeClaim",
                    namespace=pvc.metadata.namespace,
                    name=pvc.metadata.name,
                    uid=pvc.metadata.uid,
                ),
            ),
        )
        try:
            self._core.create_persistent_volume(pv)
            log.info("provisioned %s for %s/%s", name, pvc.metadata.namespace, pvc.metadata.name)
        except client.ApiException as exc:
            if exc.status != 409:  # 409: provisioned on an earlier event
                raise

    def on_volume(self, event_type: str, pv: client.V1PersistentVolume) -> None:
        annotations = pv.metadata.annotations or {}
        if (
            event_type != "DELETED"
            and annotations.get(ANN_PROVISIONED_BY) == PROVISIONER
            and pv.status.phase == "Released"
            and pv.spec.persistent_volume_reclaim_policy == "Delete"
        ):
            try:
                self._core.delete_persistent_volume(pv.metadata.name)
                log.info("deleted released %s", pv.metadata.name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise

    def start(self) -> Provisioner:
        """Runs the claim and volume loops in daemon threads; returns self."""
        loops = [
            (self._core.list_persistent_volume_claim_for_all_namespaces, self.on_claim),
            (self._core.list_persistent_volume, self.on_volume),
        ]
        for list_func, handler in loops:
            threading.Thread(
                target=watch_forever, args=(list_func, handler, self._stop), daemon=True
            ).start()
        return self

    def stop(self) -> None:
        self._stop.set()
