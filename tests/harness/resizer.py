"""A minimal external volume resizer for the harness provisioner's volumes.

kube-controller-manager's expand controller leaves volumes of out-of-tree provisioners to an
external resizer ("waiting for an external controller to expand this PVC"). This plays that
part as a CSI external-resizer would for a driver that needs no node-side step: for a bound
claim of our provisioner whose ``spec.resources.requests.storage`` exceeds its
``status.capacity.storage``, on a class with ``allowVolumeExpansion: true``, it marks the claim
``Resizing``, grows the PV's ``spec.capacity``, then records the new size in the claim's
``status.capacity`` (and ``allocatedResources``) and clears the condition. Nothing on disk
changes: the hostPath directory has no size. The API server's own admission refuses growing a
claim whose class does not allow expansion, so the class check here only mirrors the resizer's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.utils.quantity import parse_quantity

from .provisioner import ANN_PROVISIONED_BY, PROVISIONER
from .watching import watch_forever

log = logging.getLogger(__name__)
MERGE_PATCH = "application/merge-patch+json"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Resizer:
    """Grows the PVs (and records it on the claims) of claims asking for more than they have."""

    def __init__(self, api_client_factory: Callable[[], client.ApiClient]):
        self._core = client.CoreV1Api(api_client_factory())
        self._storage = client.StorageV1Api(api_client_factory())
        self._stop = threading.Event()

    def _expandable(self, class_name: str | None) -> bool:
        if not class_name:
            return False
        try:
            sc = self._storage.read_storage_class(class_name)
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return sc.provisioner == PROVISIONER and bool(sc.allow_volume_expansion)

    def on_claim(self, event_type: str, pvc: client.V1PersistentVolumeClaim) -> None:
        if event_type == "DELETED" or pvc.status.phase != "Bound" or not pvc.spec.volume_name:
            return
        requested = pvc.spec.resources.requests["storage"]
        capacity = (pvc.status.capacity or {}).get("storage", "0")
        if parse_quantity(requested) <= parse_quantity(capacity):
            return
        if not self._expandable(pvc.spec.storage_class_name):
            return
        pv = self._core.read_persistent_volume(pvc.spec.volume_name)
        if (pv.metadata.annotations or {}).get(ANN_PROVISIONED_BY) != PROVISIONER:
            return
        ns, name = pvc.metadata.namespace, pvc.metadata.name
        # As the external-resizer: the claim says a controller resize is in progress ...
        self._core.patch_namespaced_persistent_volume_claim_status(
            name,
            ns,
            {
                "status": {
                    "conditions": [
                        {"type": "Resizing", "status": "True", "lastTransitionTime": _now()}
                    ],
                    "allocatedResources": {"storage": requested},
                    "allocatedResourceStatuses": {"storage": "ControllerResizeInProgress"},
                }
            },
            _content_type=MERGE_PATCH,
        )
        # ... the volume grows (the PV's capacity is the volume's size) ...
        if parse_quantity(pv.spec.capacity["storage"]) < parse_quantity(requested):
            self._core.patch_persistent_volume(
                pv.metadata.name,
                {"spec": {"capacity": {"storage": requested}}},
                _content_type=MERGE_PATCH,
            )
        # ... and, no file system step being needed, the claim gets its new capacity. A merge
        # patch with null removes the condition and the in-progress marker.
        self._core.patch_namespaced_persistent_volume_claim_status(
            name,
            ns,
            {
                "status": {
                    "capacity": {"storage": requested},
                    "conditions": None,
                    "allocatedResourceStatuses": None,
                }
            },
            _content_type=MERGE_PATCH,
        )
        log.info("resized %s for %s/%s: %s -> %s", pv.metadata.name, ns, name, capacity, requested)

    def start(self) -> Resizer:
        """Runs the claim loop in a daemon thread; returns self."""
        threading.Thread(
            target=watch_forever,
            args=(
                self._core.list_persistent_volume_claim_for_all_namespaces,
                self.on_claim,
                self._stop,
            ),
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        self._stop.set()
