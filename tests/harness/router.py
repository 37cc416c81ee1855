"""A fake OpenShift router: reports Routes in ``status.ingress`` the way OpenShift's router does.

On OpenShift, openshift-apiserver gives a Route created without ``spec.host`` the host
``<name>-<namespace>.<apps domain>``; on a harness cluster the route webhook does that
(:mod:`harness.route_admission`). Then each router that serves the Route reports itself in
``status.ingress[]``: host, ``routerName``, ``routerCanonicalHostname``, ``wildcardPolicy`` and
an ``Admitted`` condition, written through the status subresource. This router (``default``)
admits every Route except one whose host an older Route in another namespace already holds:
that one gets ``Admitted=False``, reason ``HostAlreadyClaimed``, as the real router's
unique-host check says.

With ``assign_hosts`` (only where no route webhook runs, i.e. an external non-OpenShift
cluster), it also fills an empty ``spec.host`` itself, shortly after creation, with the field
manager ``harness-fake-router``.

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
    return f"{name.replace('.', '-')}-{namespace}.{domain}"


def _age_key(route: dict[str, Any]) -> tuple[str, str]:
    """Oldest first, as the router ranks claims on a host (RouteLessThan: ties by UID)."""
    meta = route["metadata"]
    return (meta.get("creationTimestamp") or "", meta.get("uid") or "")


class FakeRouter:
    """Watches all Routes and writes the router's status on each; run it with start()."""

    def __init__(
        self,
        api_client_factory: Callable[[], client.ApiClient],
        domain: str,
        assign_hosts: bool = False,
    ) -> None:
        self.domain = domain
        self.assign_hosts = assign_hosts
        self._api = client.CustomObjectsApi(api_client_factory())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Every Route seen, by (namespace, name): the unique-host check compares claims.
        self._routes: dict[tuple[str, str], dict[str, Any]] = {}

    def _holder(self, host: str) -> dict[str, Any] | None:
        """The oldest Route that still exists and claims ``host``, if any."""
        while True:
            claims = [
                r
                for r in self._routes.values()
                if (r.get("spec") or {}).get("host") == host
                and not r["metadata"].get("deletionTimestamp")
            ]
            if not claims:
                return None
            oldest = min(claims, key=_age_key)
            meta = oldest["metadata"]
            try:  # a DELETED event lost between two watches must not hold a host forever
                self._api.get_namespaced_custom_object(
                    GROUP, VERSION, meta["namespace"], PLURAL, meta["name"]
                )
                return oldest
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
                self._routes.pop((meta["namespace"], meta["name"]), None)

    def admission(self, route: dict[str, Any], host: str) -> dict[str, str]:
        """The ``Admitted`` condition this router gives ``route`` (without its time)."""
        holder = self._holder(host)
        meta = route["metadata"]
        if holder is not None and holder["metadata"]["namespace"] != meta["namespace"]:
            return {
                "type": "Admitted",
                "status": "False",
                "reason": "HostAlreadyClaimed",
                "message": f"a route in another namespace holds {host} and is older than"
                f" {meta['name']}",
            }
        return {"type": "Admitted", "status": "True"}

    def reconcile(self, route: dict[str, Any]) -> None:
        """Writes this router's status on one Route (idempotent)."""
        meta, spec = route["metadata"], route.get("spec") or {}
        name, namespace = meta["name"], meta["namespace"]
        if meta.get("deletionTimestamp"):
            return
        host = spec.get("host")
        if not host:
            if not self.assign_hosts:
                return  # a Route webhook assigns hosts at admission; nothing to report yet
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
            route = {**route, "spec": {**spec, "host": host}}
            self._routes[(namespace, name)] = route
        wanted = self.admission(route, host)
        ingress = (route.get("status") or {}).get("ingress") or []
        for entry in ingress:
            admitted = [c for c in entry.get("conditions") or [] if c.get("type") == "Admitted"]
            if (
                entry.get("routerName") == ROUTER_NAME
                and entry.get("host") == host
                and admitted
                and all(admitted[0].get(k) == v for k, v in wanted.items())
            ):
                return
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry = {
            "host": host,
            "routerName": ROUTER_NAME,
            "routerCanonicalHostname": f"router-default.{self.domain}",
            "wildcardPolicy": spec.get("wildcardPolicy") or "None",
            "conditions": [{**wanted, "lastTransitionTime": now}],
        }
        others = [i for i in ingress if i.get("routerName") != ROUTER_NAME]
        self._api.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            {"status": {"ingress": [*others, entry]}},
            field_manager=FIELD_MANAGER,
            _content_type="application/merge-patch+json",
        )
        log.info(
            "route %s/%s: host %s, Admitted=%s %s",
            namespace,
            name,
            host,
            wanted["status"],
            wanted.get("reason", ""),
        )

    def _handle(self, event_type: str, route: dict[str, Any]) -> None:
        meta = route["metadata"]
        ident = (meta["namespace"], meta["name"])
        if event_type == "DELETED":
            gone = self._routes.pop(ident, None)
            host = ((gone or {}).get("spec") or {}).get("host")
            # A freed host goes to the next claim: re-admit the Routes that wanted it.
            for other in [
                r for r in self._routes.values() if r.get("spec", {}).get("host") == host
            ]:
                self._reconcile_quietly(other)
            return
        if event_type in ("ADDED", "MODIFIED"):
            self._routes[ident] = route
            self._reconcile_quietly(route)

    def _reconcile_quietly(self, route: dict[str, Any]) -> None:
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
