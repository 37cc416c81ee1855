"""A small asynchronous Kubernetes client for exactly the kinds the operator touches.

It sends plain HTTP through ``connection.Connection`` (an aiohttp session with the credentials
Kopf also uses), and knows each kind's REST path from a fixed table, so no discovery
round-trips are spent per reconcile. Everything is awaited on Kopf's event loop; nothing
blocks it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from ..api import GROUP, PLURAL, VERSION
from .connection import Connection, credentials

if TYPE_CHECKING:
    from .cache import Caches

FIELD_MANAGER = "litemaas-operator"
MAX_CONNECTIONS = 32  # to the API server, per client (the watches' client has no limit)


@dataclass(frozen=True)
class Kind:
    """Where one kind lives in the REST API."""

    api_version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The collection or object path."""
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        parts = [prefix]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
        return "/".join(parts)


KINDS: dict[str, Kind] = {
    "ConfigMap": Kind("v1", "configmaps"),
    "Secret": Kind("v1", "secrets"),
    "Service": Kind("v1", "services"),
    "ServiceAccount": Kind("v1", "serviceaccounts"),
    "PersistentVolumeClaim": Kind("v1", "persistentvolumeclaims"),
    "Pod": Kind("v1", "pods"),  # read only: why a component's pods are stuck
    "Namespace": Kind("v1", "namespaces", namespaced=False),
    "Deployment": Kind("apps/v1", "deployments"),
    "StatefulSet": Kind("apps/v1", "statefulsets"),
    "Ingress": Kind("networking.k8s.io/v1", "ingresses"),
    "NetworkPolicy": Kind("networking.k8s.io/v1", "networkpolicies"),
    "Route": Kind("route.openshift.io/v1", "routes"),
    "OAuthClient": Kind("oauth.openshift.io/v1", "oauthclients", namespaced=False),
    "Group": Kind("user.openshift.io/v1", "groups", namespaced=False),
    "StorageClass": Kind("storage.k8s.io/v1", "storageclasses", namespaced=False),
    "IngressConfig": Kind("config.openshift.io/v1", "ingresses", namespaced=False),
    "LiteMaaS": Kind(f"{GROUP}/{VERSION}", PLURAL),
    "ServiceMonitor": Kind("monitoring.coreos.com/v1", "servicemonitors"),
    "PodMonitor": Kind("monitoring.coreos.com/v1", "podmonitors"),
    "Job": Kind("batch/v1", "jobs"),
    "LiteMaaSBackup": Kind(f"{GROUP}/{VERSION}", "litemaasbackups"),
    "LiteMaaSRestore": Kind(f"{GROUP}/{VERSION}", "litemaasrestores"),
    "Lease": Kind("coordination.k8s.io/v1", "leases"),  # leader election (controller/election.py)
}

READ_METHODS = frozenset({"GET", "HEAD"})


class NotLeaderError(Exception):
    """A write refused before it was sent: this process does not hold the leader Lease."""


class ApiError(Exception):
    """A non-2xx answer from the API server, with its Status reason and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


async def connect(
    kubeconfig: str | None, user_agent: str | None = None, max_connections: int = MAX_CONNECTIONS
) -> Connection:
    """A connection from a kubeconfig file, or from the in-cluster ServiceAccount.

    ``user_agent`` names this process in the API server's audit log (two replicas of the
    operator share one ServiceAccount; only their User-Agent tells their requests apart).
    The pool is bounded: a burst of applies queues for a few dozen connections rather than
    opening one per request, each of which keeps about 200 KiB of TLS buffers while pooled.
    """
    return Connection(lambda: credentials(kubeconfig), user_agent, max_connections)


class Kube:
    """The operator's API calls: get, list, server-side apply, create, patch, delete.

    With ``cache`` set (``cache.Caches``, fed by the watches), ``get`` and ``list`` answer from
    it where it can and every write's answer goes into it, as controller-runtime's client does
    with its informers; ``live=True`` reads from the API server regardless (after a conflict).
    ``may_write``, when given, is asked before every write: with leader election on, a process
    whose leadership lapsed raises NotLeaderError instead of sending anything.
    """

    def __init__(
        self,
        api: Connection,
        cache: Caches | None = None,
        may_write: Callable[[], bool] | None = None,
    ) -> None:
        self.api = api
        self.cache = cache
        self.may_write = may_write

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One REST call; raises ApiError on a non-2xx answer, returns the decoded JSON."""
        if method not in READ_METHODS and self.may_write is not None and not self.may_write():
            raise NotLeaderError(f"not the leader: {method} {path} not sent")
        if query:
            path = f"{path}?{urlencode(query)}"
        response = await self.api.request(
            method,
            path,
            headers={"Content-Type": content_type, "Accept": "application/json"},
            # JSON is YAML too: server-side apply's body goes as JSON.
            data=None if body is None else json.dumps(body).encode(),
        )
        try:
            raw = await response.read()
        finally:
            response.release()
        try:
            data: dict[str, Any] = json.loads(raw) if raw else {}
        except ValueError:  # e.g. "404 page not found" for an API group that is not served
            data = {}
        if not 200 <= response.status < 300:
            raise ApiError(
                response.status,
                str(data.get("reason") or response.reason),
                str(data.get("message") or raw[:200].decode(errors="replace")),
            )
        return data

    async def get(
        self, kind: str, name: str, namespace: str | None = None, *, live: bool = False
    ) -> dict | None:
        """An object, or None when it does not exist."""
        if self.cache is not None and not live:
            cached = self.cache.get(kind, name, namespace)
            if cached is None or isinstance(cached, dict):
                return cached
        try:
            obj = await self.request("GET", KINDS[kind].path(namespace, name))
        except ApiError as err:
            if err.not_found:
                return None
            raise
        if self.cache is not None:
            self.cache.fetched({**obj, "kind": kind})
        return obj

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        selector: str | None = None,
        *,
        live: bool = False,
    ) -> list[dict[str, Any]]:
        """Objects of a kind, optionally filtered by a label selector."""
        if self.cache is not None and not live:
            cached = self.cache.list(kind, namespace, selector)
            if isinstance(cached, list):
                return cached
        query = {"labelSelector": selector} if selector else None
        data = await self.request("GET", KINDS[kind].path(namespace), query=query)
        return list(data.get("items") or [])

    async def _write(
        self, kind: str, namespace: str | None, name: str, send: Awaitable[dict[str, Any]]
    ) -> dict[str, Any]:
        """Send a write; its answer goes into the cache, and the watch's echo of it is held
        until then (see ``cache.Caches.notify``)."""
        if self.cache is None:
            return await send
        key = (namespace or "", name)
        self.cache.writing(kind, key)
        answer: dict[str, Any] | None = None
        try:
            answer = await send
            if answer.get("metadata"):
                self.cache.written({**answer, "kind": kind})
            return answer
        finally:
            self.cache.wrote(kind, key, answer)

    async def apply(self, obj: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
        """Server-side apply ``obj`` as the ``litemaas-operator`` field manager."""
        meta = obj["metadata"]
        path = KINDS[obj["kind"]].path(meta.get("namespace"), meta["name"])
        query = {"fieldManager": FIELD_MANAGER, "force": "true" if force else "false"}
        send = self.request(
            "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml"
        )
        return await self._write(obj["kind"], meta.get("namespace"), meta["name"], send)

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``; raises ApiError (conflict) when it already exists."""
        meta = obj["metadata"]
        path = KINDS[obj["kind"]].path(meta.get("namespace"))
        send = self.request("POST", path, body=obj, query={"fieldManager": FIELD_MANAGER})
        return await self._write(obj["kind"], meta.get("namespace"), meta["name"], send)

    async def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace ``obj`` (PUT), guarded by its resourceVersion."""
        meta = obj["metadata"]
        path = KINDS[obj["kind"]].path(meta.get("namespace"), meta["name"])
        send = self.request("PUT", path, body=obj, query={"fieldManager": FIELD_MANAGER})
        return await self._write(obj["kind"], meta.get("namespace"), meta["name"], send)

    async def patch(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Any,
        *,
        subresource: str | None = None,
        content_type: str = "application/merge-patch+json",
    ) -> dict[str, Any]:
        """A merge (or JSON) patch of an object or one of its subresources."""
        path = KINDS[kind].path(namespace, name)
        if subresource:
            path += f"/{subresource}"
        send = self.request(
            "PATCH",
            path,
            body=patch,
            query={"fieldManager": FIELD_MANAGER},
            content_type=content_type,
        )
        return await self._write(kind, namespace, name, send)

    async def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object in the background; False when it was already gone."""
        answer: dict[str, Any] | None = None
        try:
            answer = await self.request(
                "DELETE",
                KINDS[kind].path(namespace, name),
                body={"propagationPolicy": "Background"},
            )
            gone = True
        except ApiError as err:
            if not err.not_found:
                raise
            gone = False
        if self.cache is not None:
            self.cache.deleted(kind, name, namespace, answer)
        return gone

    async def watch(
        self, path: str, query: dict[str, Any], *, read_timeout: float
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream the events (``type``, ``object``) of one watch request on a collection path.

        ``watch=true`` is added to ``query``; the selectors in it are sent to the server, which
        filters. The stream ends when the server closes it (its ``timeoutSeconds``). A non-2xx
        answer or an ERROR event raises ApiError (410 Gone: the resourceVersion is too old, list
        again). ``read_timeout`` bounds the silence between two lines, so that a connection that
        died without a FIN is noticed (bookmarks arrive about once a minute).
        """
        # No total timeout: a watch is meant to stay open until the server ends it.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout)
        response = await self.api.request(
            "GET",
            f"{path}?{urlencode({**query, 'watch': 'true'})}",
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
        try:
            if not 200 <= response.status < 300:
                raw = await response.read()
                try:
                    data = json.loads(raw) if raw else {}
                except ValueError:
                    data = {}
                raise ApiError(
                    response.status,
                    str(data.get("reason") or response.reason),
                    str(data.get("message") or raw[:200].decode(errors="replace")),
                )
            async for line in response.content:
                if not line.strip():
                    continue
                event: dict[str, Any] = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise ApiError(
                        int(status.get("code") or 500),
                        str(status.get("reason") or "Error"),
                        str(status.get("message") or ""),
                    )
                yield event
        finally:
            # Closes the connection instead of draining an endless body into the pool.
            response.close()

    async def served_groups(self) -> set[str]:
        """API group/versions the server serves, e.g. ``route.openshift.io/v1``."""
        data = await self.request("GET", "/apis")
        return {
            version["groupVersion"]
            for group in data.get("groups") or []
            for version in group.get("versions") or []
        }

    async def close(self) -> None:
        """Close the connection pool."""
        await self.api.close()
