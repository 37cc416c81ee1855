"""Watches that keep the operator's caches current and wake reconcile loops, filtered by the
API server rather than by us.

Kopf can only filter by labels after an event has arrived, so its watch on a child kind streams
every object of that kind (every Secret of the cluster, when watching all namespaces) through
the operator. These watches send the selector in the request instead:

- each child kind, with ``labelSelector=app.kubernetes.io/managed-by=litemaas-operator``, in
  the namespaces the operator watches (one cluster-scope watch when it watches all);
- Secrets without a selector (users' Secrets carry no label of ours), but only in namespaces
  where some CR reads a Secret (``spec.secrets.*``, the external database's Secret), started
  when the first reader appears there and stopped when the last one goes;
- the instances' pods (``MANAGED_SELECTOR``), for one thing: a pod getting stuck wakes its
  instance (``relevance.pod_signal``); only fingerprints are kept;
- the cluster-scoped objects a reconcile reads: OAuthClients (few per cluster), and by name
  (``fieldSelector=metadata.name=...``) the three role Groups and the ingress config.

Each is a list-then-watch loop in the manner of client-go's reflector: list, watch from the
list's resourceVersion with bookmarks, watch again from the last resourceVersion seen when the
server ends the stream, list again on 410 Gone, and back off (bounded) on errors. What they see
goes into a ``cache.Store`` (reads of reconciles come from there), and a change the store did
not already hold (not the echo of the operator's own write) *pokes* reconcile loops: all work
happens in the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..render.groups import ROLE_GROUPS
from ..render.names import MANAGED_BY, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL
from . import metrics
from .apply import NAMESPACED_KINDS
from .cache import Caches, Key, Scope, Store, key_of, version_of
from .gather import served_groups
from .kube import KINDS, ApiError, Kube, connect
from .registry import Registry
from .relevance import OBJECT, STATUS, wakes

log = logging.getLogger(__name__)

MANAGED_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"
INSTANCE_LABEL = "app.kubernetes.io/instance"
# Every kind the operator creates in a CR's namespace, watched with MANAGED_SELECTOR.
# Jobs too: the backup, restore and prune Jobs wake their instance when they finish.
CHILD_KINDS: tuple[str, ...] = tuple(dict.fromkeys((*NAMESPACED_KINDS, "Job")))
# The instances' pods (MANAGED_SELECTOR), kept as fingerprints only: a pod that gets stuck
# (an image that cannot be pulled, no node that fits) wakes its instance, which no change of
# its workload would (relevance.pod_signal); the status then lists the pods from the API.
POD_KIND = "Pod"
# Watched without a selector, in namespaces of CRs that read one.
REFERENCED_KIND = "Secret"
# The backup and restore CRs (users' objects: no selector) in the watched namespaces, for the
# store reconciles read; Kopf's watches on them (backup_watch) release orphans' finalizers.
DAY2_KINDS: tuple[str, ...] = ("LiteMaaSBackup", "LiteMaaSRestore")
# Cluster-scoped objects a reconcile reads, watched by name where a name is given.
CLUSTER_WATCHES: tuple[tuple[str, str | None], ...] = (
    ("OAuthClient", None),
    *(("Group", name) for name in ROLE_GROUPS.values()),
    ("IngressConfig", "cluster"),
)
# What these watches need ``list`` and ``watch`` on (the RBAC test reads it).
WATCHED_KINDS: frozenset[str] = frozenset(
    {*CHILD_KINDS, POD_KIND, REFERENCED_KIND, *DAY2_KINDS, *(k for k, _ in CLUSTER_WATCHES)}
)
# Served by every cluster; other groups (Routes) are checked before they are watched.
CORE_APIS = frozenset({"v1", "apps/v1", "networking.k8s.io/v1"})

SERVER_TIMEOUT_SECONDS = 300  # as Kopf's watches here: the server ends a watch after 5 min
READ_TIMEOUT_SECONDS = SERVER_TIMEOUT_SECONDS + 30  # silence longer than this: connection lost
UNSERVED_RECHECK_SECONDS = 30.0  # a kind whose API appears later (a Route CRD) is picked up
PAGE_SIZE = 250
MIN_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0

Meta = dict[str, Any]  # the part of an object's metadata the handlers read
Handler = Callable[[Meta], None]


def _meta(obj: dict[str, Any]) -> Meta:
    """What is kept of an object: enough to route its events, little enough to hold many."""
    meta = obj.get("metadata") or {}
    instance = (obj.get("spec") or {}).get("instance")  # a backup's or restore's instance
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "resourceVersion": meta.get("resourceVersion"),
        "labels": dict(meta.get("labels") or {}),
        "instance": instance if isinstance(instance, str) else None,
    }


def selector_labels(selector: str | None) -> dict[str, str]:
    """``a=b,c=d`` (the selectors these watches send) as a dict."""
    return dict(part.split("=", 1) for part in selector.split(",")) if selector else {}


@dataclass
class Backoff:
    """Exponential delays between failed attempts, bounded, with jitter so that many watches
    failing together (an API server restart) do not return in lockstep."""

    delay: float = MIN_BACKOFF_SECONDS

    def next(self) -> float:
        """The delay before the next attempt; the one after is twice as long (up to the cap)."""
        current = self.delay
        self.delay = min(self.delay * 2, MAX_BACKOFF_SECONDS)
        return current * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        """The last attempt worked."""
        self.delay = MIN_BACKOFF_SECONDS


@dataclass
class ListWatch:
    """List, then watch, one kind in one namespace (or all, or one object by ``name``),
    calling ``handler`` per change.

    ``store`` holds what the last list and the events since showed, so a relist (after 410
    Gone) reports what changed or vanished while nobody watched, as an informer would.
    """

    kube: Kube
    kind: str
    namespace: str | None
    selector: str | None
    handler: Handler
    served: Callable[[], Awaitable[set[str]]]
    store: Store | None = None  # None: a store of its own
    name: str | None = None  # watch one object: fieldSelector=metadata.name=<name>
    caches: Caches | None = None  # where echoes of the operator's own writes are recognised
    resource_version: str | None = None  # None: list before watching
    lists: int = 0
    watches: int = 0
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.store is None:
            labels = selector_labels(self.selector)
            self.store = Store(self.kind, KINDS[self.kind].api_version, labels)

    @property
    def objects(self) -> Store:
        """Where what this watch sees is kept."""
        assert self.store is not None  # set by __post_init__
        return self.store

    @property
    def what(self) -> str:
        """E.g. ``deployments in all namespaces (app.kubernetes.io/managed-by=...)``."""
        if self.name:
            return f"{KINDS[self.kind].plural} named {self.name}"
        where = f"in {self.namespace}" if self.namespace else "in all namespaces"
        selected = f" ({self.selector})" if self.selector else ""
        return f"{KINDS[self.kind].plural} {where}{selected}"

    @property
    def scope(self) -> Scope:
        """What a complete list of this watch covers."""
        return (self.namespace, self.name)

    async def run(self) -> None:
        """Keep the watch going until cancelled; errors are logged and retried, never raised."""
        not_served_logged = False
        while True:
            try:
                if self.resource_version is None:
                    if not await self._is_served():
                        if not not_served_logged:
                            log.info("not watching %s: its API is not served", self.what)
                            not_served_logged = True
                        await asyncio.sleep(UNSERVED_RECHECK_SECONDS)
                        continue
                    not_served_logged = False
                    self.resource_version = await self._list()
                self.resource_version = await self._watch(self.resource_version)
            except asyncio.CancelledError:
                raise
            except ApiError as err:
                if err.status == 410:  # our resourceVersion was compacted away: list again
                    log.debug("watch of %s expired (%s); listing again", self.what, err.message)
                    self.resource_version = None
                elif err.status == 404:  # the API went away (a CRD deleted)
                    self.resource_version = None
                    self.objects.forget(self.scope)
                    await asyncio.sleep(UNSERVED_RECHECK_SECONDS)
                else:
                    await self._failed(err)
            except Exception as err:  # connection lost, timeouts, a bad line: retry
                await self._failed(err)

    async def _failed(self, err: Exception) -> None:
        delay = self.backoff.next()
        log.warning(
            "watch of %s failed, retrying in %.1fs: %s: %s",
            self.what,
            delay,
            type(err).__name__,
            err,
        )
        await asyncio.sleep(delay)

    async def _is_served(self) -> bool:
        api_version = KINDS[self.kind].api_version
        return api_version in CORE_APIS or api_version in await self.served()

    def _wake(self, obj: Meta) -> None:
        """Hand a change on (not an echo of our own write: ``Caches.notify`` dropped those)."""
        metrics.WATCH_WAKES.labels(kind=self.kind, change=obj.get("change", OBJECT)).inc()
        self.handler(obj)

    def _query(self) -> dict[str, Any]:
        query: dict[str, Any] = {"labelSelector": self.selector} if self.selector else {}
        if self.name:
            query["fieldSelector"] = f"metadata.name={self.name}"
        return query

    async def _list(self) -> str:
        """List (in pages) into the store, report what changed; the list's resourceVersion."""
        path = KINDS[self.kind].path(self.namespace)
        query: dict[str, Any] = {**self._query(), "limit": PAGE_SIZE}
        version = ""
        seen: set[Key] = set()
        changed: list[Meta] = []
        while True:
            page = await self.kube.request("GET", path, query=query)
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            # Each page into the store as it comes: a restart's lists of thousands of children
            # are never held whole.
            for obj in page.get("items") or []:
                if self.objects.put_listed(obj, seen):
                    changed.append(_meta(obj))
            del page
            if not meta.get("continue"):
                break
            query = {**query, "continue": meta["continue"]}
        self.lists += 1
        self.backoff.reset()
        gone = {k: e.labels for k, e in self.objects.items.items() if k not in seen}
        listed = version_of({"metadata": {"resourceVersion": version}})
        for key in self.objects.list_done(self.scope, seen, listed):
            self._wake(
                {
                    "namespace": key[0] or None,
                    "name": key[1],
                    "resourceVersion": None,
                    "labels": gone.get(key, {}),
                }
            )
        for obj_meta in changed:
            self._wake(obj_meta)
        return version

    async def _watch(self, version: str) -> str:
        """Watch from ``version`` until the server ends the stream; the last version seen."""
        query = {
            **self._query(),
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": SERVER_TIMEOUT_SECONDS,
        }
        path = KINDS[self.kind].path(self.namespace)
        self.watches += 1
        events = self.kube.watch(path, query, read_timeout=READ_TIMEOUT_SECONDS)
        async with contextlib.aclosing(events):
            async for event in events:
                self.backoff.reset()
                raw = event.get("object") or {}
                obj = _meta(raw)
                version = obj["resourceVersion"] or version
                if event.get("type") == "BOOKMARK":
                    continue
                key = key_of(raw)
                before = self.objects.fingerprint(key)
                if event.get("type") == "DELETED":
                    changed = self.objects.delete(key, version_of(raw))
                    changed = changed and wakes(self.kind, before, None)
                else:
                    # Unchanged: the echo of a write of ours that the store already holds.
                    # Changed in nothing a reconcile reads (a condition's timestamp): no wake.
                    stored = self.objects.put(raw)
                    changed = stored and wakes(self.kind, before, self.objects.fingerprint(key))
                if changed:
                    obj["change"] = changed
                if changed and self.caches is not None:
                    self.caches.notify(self.kind, key, version_of(raw), partial(self._wake, obj))
                elif changed:
                    self._wake(obj)
        return version


class Watches:
    """The operator's watches besides Kopf's own on the CR, started and stopped together."""

    def __init__(
        self,
        kube: Kube,
        registry: Registry,
        namespaces: tuple[str, ...],
        caches: Caches | None = None,
    ) -> None:
        self.kube = kube
        self.registry = registry
        self.caches = caches or Caches()
        # None: all namespaces, one cluster-scope watch per kind.
        self.namespaces: tuple[str | None, ...] = namespaces or (None,)
        self.tasks: dict[tuple[str, str, str | None], asyncio.Task[None]] = {}
        self.ending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Watch every child kind, Secrets where CRs read them (now and from now on), and the
        cluster-scoped objects reconciles read."""
        for kind in CHILD_KINDS:
            for namespace in self.namespaces:
                self._spawn(("child", kind, namespace), MANAGED_SELECTOR, self.poke_owner)
        for namespace in self.namespaces:
            self._spawn(("pods", POD_KIND, namespace), MANAGED_SELECTOR, self.poke_owner)
        for kind in DAY2_KINDS:
            for namespace in self.namespaces:
                self._spawn(("day2", kind, namespace), None, self.poke_named)
        for kind, name in CLUSTER_WATCHES:
            self._spawn(("cluster", kind, name), None, self.cluster_changed)
        self.registry.on_reader_namespaces = self.follow_readers
        self.follow_readers(self.registry.reader_namespaces())

    def follow_readers(self, namespaces: set[str]) -> None:
        """Watch Secrets in exactly ``namespaces``: those where some CR reads a Secret."""
        current = {ns for (role, _, ns) in self.tasks if role == "referenced" and ns}
        for namespace in sorted(namespaces - current):
            self._spawn(("referenced", REFERENCED_KIND, namespace), None, self.secret_changed)
        for namespace in current - namespaces:
            task = self.tasks.pop(("referenced", REFERENCED_KIND, namespace))
            task.cancel()
            self._referenced_store().forget((namespace, None))
            # Awaited by stop() if it has not ended by then.
            self.ending.add(task)
            task.add_done_callback(self.ending.discard)

    async def stop(self) -> None:
        """Cancel every watch and wait until their connections are closed."""
        self.registry.on_reader_namespaces = None
        tasks = [*self.tasks.values(), *self.ending]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    def poke_owner(self, meta: Meta) -> None:
        """A child changed: wake the CR named by its instance label."""
        instance = meta["labels"].get(INSTANCE_LABEL)
        if meta.get("namespace") and instance:
            # Only its status changed (a workload became ready): observing it is enough.
            whole = meta.get("change", OBJECT) != STATUS
            self.registry.poke((meta["namespace"], instance), whole=whole)

    def poke_named(self, meta: Meta) -> None:
        """A backup or restore changed: wake the instance it names. (Kopf's watch wakes it
        too, but may do so before this store holds the change.)"""
        if meta.get("namespace") and meta.get("instance"):
            self.registry.poke((meta["namespace"], meta["instance"]))

    def secret_changed(self, meta: Meta) -> None:
        """A Secret changed (or appeared, or went) where CRs read Secrets: wake its readers."""
        if meta.get("namespace") and meta.get("name"):
            self.registry.secret_changed((meta["namespace"], meta["name"]))

    def cluster_changed(self, meta: Meta) -> None:
        """An OAuthClient changed: wake the CR its owner labels name. (Groups and the ingress
        config are read afresh by the next reconcile of each CR, at the latest on resync.)"""
        labels = meta["labels"]
        namespace, name = labels.get(OWNER_NAMESPACE_LABEL), labels.get(OWNER_NAME_LABEL)
        if namespace and name:
            self.registry.poke((namespace, name))

    def _referenced_store(self) -> Store:
        # Contents kept only of the Secrets some CR reads (others: versions only).
        return self.caches.store(REFERENCED_KIND, "v1", wanted=set())

    def _store(self, role: str, kind: str, selector: str | None) -> Store:
        if role == "referenced":
            return self._referenced_store()
        if role == "pods":  # fingerprints only: listing pods still asks the API server
            return self.caches.store(kind, "v1", selector_labels(selector), wanted=set())
        return self.caches.store(kind, KINDS[kind].api_version, selector_labels(selector))

    def _spawn(
        self, key: tuple[str, str, str | None], selector: str | None, handler: Handler
    ) -> None:
        role, kind, where = key
        cluster = role == "cluster"
        watch = ListWatch(
            self.kube,
            kind,
            None if cluster else where,
            selector,
            handler,
            lambda: served_groups(self.kube, self.registry),
            self._store(role, kind, selector),
            name=where if cluster else None,
            caches=self.caches,
        )
        self.tasks[key] = asyncio.create_task(watch.run(), name=f"watch {watch.what}")


async def watch_client(kubeconfig: str | None, user_agent: str | None = None) -> Kube:
    """A client for watches only, with a connection pool of its own.

    Each watch holds one HTTP/1.1 connection for as long as it runs; sharing the reconciler's
    bounded pool (``kube.MAX_CONNECTIONS``) would let enough namespaces' watches starve every
    other request.
    """
    return Kube(await connect(kubeconfig, user_agent, max_connections=0))  # 0: no bound
