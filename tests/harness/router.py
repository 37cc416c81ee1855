"""A fake OpenShift router: gives Routes a host the way OpenShift does.

On OpenShift, a Route created without ``spec.host`` gets ``<name>-<namespace>.<apps domain>``
and the router then reports itself in ``status.ingress`` (condition ``Admitted``). With the
Route CRD on a plain cluster nothing does either, so this watches Routes and does both,
shortly (milliseconds) after creation instead of synchronously in the create call.
Writes use the field manager ``harness-fake-router``, so an operator applying its Route
server-side without ``spec.host`` does not fight over that field.

Used by ``hack/cluster.sh up --flavour openshift`` (inside the agent process) and by the
pytest fixture when it is pointed at an external cluster (as a thread).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client

from .watching import watch_forever

log = logging.getLogger(__name__)
GROUP, VERSION, PLURAL = "route.openshift.io", "v1", "routes"
FIELD_MANAGER = "harness-fake-router"
ROUTER_NAME = "default"


def host_for(name: str, namespace: str, domain: str) -> str:
    """The host OpenShift generates for a Route without ``spec.host``."""
    return f"{name}-{namespace}.{domain}"


class FakeRouter:
    """Watches all Routes and fills in empty hosts and router status; run it with start()."""

    def __init__(self, api_client_factory: Callable[[], client.ApiClient], domain: str) -> None:
        self.domain = domain
        self._api = client.CustomObjectsApi(api_client_factory())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reconcile(self, route: dict[str, Any]) -> None:
        """Makes one Route look admitted by a router (idempotent)."""
        meta, spec = route["metadata"], route.get("spec") or {}
        name, namespace = meta["name"], meta["namespace"]
        if meta.get("deletionTimestamp"):
            return
        host = spec.get("host")
        if not host:
            host = host_for(name, namespace, self.domain)
            self._api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                {"spec": {"host": host}},
                field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json",
            )
        ingress = (route.get("status") or {}).get("ingress") or []
        if any(i.get("routerName") == ROUTER_NAME and i.get("host") == host for i in ingress):
            return
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        admitted = {
            "host": host,
            "routerName": ROUTER_NAME,
            "routerCanonicalHostname": f"router-default.{self.domain}",
            "wildcardPolicy": spec.get("wildcardPolicy") or "None",
            "conditions": [{"type": "Admitted", "status": "True", "lastTransitionTime": now}],
        }
        self._api.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            {"status": {"ingress": [admitted]}},
            field_manager=FIELD_MANAGER,
            _content_type="application/merge-patch+json",
        )
        log.info("route %s/%s admitted with host %s", namespace, name, host)

    def _handle(self, event_type: str, route: dict[str, Any]) -> None:
        if event_type in ("ADDED", "MODIFIED"):
            try:
                self.reconcile(route)
            except client.ApiException as exc:
                if exc.status not in (404, 409):  # deleted or changed meanwhile: next event
                    raise

    def run(self) -> None:
        """Blocks, reconciling Routes until stop() is called."""
        watch_forever(
            self._api.list_cluster_custom_object,
            self._handle,
            self._stop,
            GROUP,
            VERSION,
            PLURAL,
            resync_seconds=5,
        )

    def start(self) -> FakeRouter:
        """Runs in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.run, name="fake-router", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
