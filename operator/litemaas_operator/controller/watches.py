"""Watches that wake reconcile loops, filtered by the API server rather than by us.

Kopf can only filter by labels after an event has arrived, so its watch on a child kind streams
every object of that kind (every Secret of the cluster, when watching all namespaces) through
the operator. These watches send the selector in the request instead:

- each child kind, with ``labelSelector=app.kubernetes.io/managed-by=litemaas-operator``, in
  the namespaces the operator watches (one cluster-scope watch when it watches all);
- Secrets without a selector (users' Secrets carry no label of ours), but only in namespaces
  where some CR reads a Secret (``spec.secrets.*``, the external database's Secret), started
  when the first reader appears there and stopped when the last one goes.

Each is a list-then-watch loop in the manner of client-go's reflector: list, watch from the
list's resourceVersion with bookmarks, watch again from the last resourceVersion seen when the
server ends the stream, list again on 410 Gone, and back off (bounded) on errors. Events only
*poke* reconcile loops, as Kopf's handlers did: all work happens in the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..render.names import MANAGED_BY
from .apply import NAMESPACED_KINDS
from .gather import served_groups
from .kube import KINDS, ApiError, Kube, connect
from .registry import Registry

log = logging.getLogger(__name__)

MANAGED_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"
INSTANCE_LABEL = "app.kubernetes.io/instance"
# Every kind the operator creates in a CR's namespace, watched with MANAGED_SELECTOR.
# Jobs too: the backup, restore and prune Jobs wake their instance when they finish.
CHILD_KINDS: tuple[str, ...] = tuple(dict.fromkeys((*NAMESPACED_KINDS, "Job")))
# Watched without a selector, in namespaces of CRs that read one.
REFERENCED_KIND = "Secret"
# What these watches need ``list`` and ``watch`` on (the RBAC test reads it).
WATCHED_KINDS: frozenset[str] = frozenset({*CHILD_KINDS, REFERENCED_KIND})
# Served by every cluster; other groups (Routes) are checked before they are watched.
CORE_APIS = frozenset({"v1", "apps/v1", "networking.k8s.io/v1"})

SERVER_TIMEOUT_SECONDS = 300  # as Kopf's watches here: the server ends a watch after 5 min
READ_TIMEOUT_SECONDS = SERVER_TIMEOUT_SECONDS + 30  # silence longer than this: connection lost
UNSERVED_RECHECK_SECONDS = 30.0  # a kind whose API appears later (a Route CRD) is picked up
PAGE_SIZE = 500
MIN_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0

Meta = dict[str, Any]  # the part of an object's metadata the handlers read
Handler = Callable[[Meta], None]


def _meta(obj: dict[str, Any]) -> Meta:
    """What is kept of an object: enough to route its events, little enough to hold many."""
    meta = obj.get("metadata") or {}
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "resourceVersion": meta.get("resourceVersion"),
        "labels": dict(meta.get("labels") or {}),
    }


def _key(meta: Meta) -> tuple[str, str]:
    return (meta.get("namespace") or "", meta.get("name") or "")


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
    """List, then watch, one kind in one namespace (or all), calling ``handler`` per change.

    ``known`` holds what the last list and the events since showed, so a relist (after 410
    Gone) reports what changed or vanished while nobody watched, as an informer would.
    """

    kube: Kube
    kind: str
    namespace: str | None
    selector: str | None
    handler: Handler
    served: Callable[[], Awaitable[set[str]]]
    resource_version: str | None = None  # None: list before watching
    known: dict[tuple[str, str], Meta] = field(default_factory=dict)
    lists: int = 0
    watches: int = 0
    backoff: Backoff = field(default_factory=Backoff)

    @property
    def what(self) -> str:
        """E.g. ``deployments in all namespaces (app.kubernetes.io/managed-by=...)``."""
        where = f"in {self.namespace}" if self.namespace else "in all namespaces"
        selected = f" ({self.selector})" if self.selector else ""
        return f"{KINDS[self.kind].plural} {where}{selected}"

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
                    self.known.clear()
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

    def _query(self) -> dict[str, Any]:
        return {"labelSelector": self.selector} if self.selector else {}

    async def _list(self) -> str:
        """List (in pages), report changes since what was known; the list's resourceVersion."""
        path = KINDS[self.kind].path(self.namespace)
        query: dict[str, Any] = {**self._query(), "limit": PAGE_SIZE}
        seen: dict[tuple[str, str], Meta] = {}
        version = ""
        while True:
            page = await self.kube.request("GET", path, query=query)
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            for item in page.get("items") or []:
                obj = _meta(item)
                seen[_key(obj)] = obj
            if not meta.get("continue"):
                break
            query = {**query, "continue": meta["continue"]}
        self.lists += 1
        self.backoff.reset()
        previous, self.known = self.known, seen
        for key, obj in seen.items():
            if previous.get(key, {}).get("resourceVersion") != obj["resourceVersion"]:
                self.handler(obj)
        for key in previous.keys() - seen.keys():
            self.handler(previous[key])
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
                obj = _meta(event.get("object") or {})
                version = obj["resourceVersion"] or version
                if event.get("type") == "BOOKMARK":
                    continue
                if event.get("type") == "DELETED":
                    self.known.pop(_key(obj), None)
                else:
                    self.known[_key(obj)] = obj
                self.handler(obj)
        return version


class Watches:
    """The operator's watches besides Kopf's own on the CR, started and stopped together."""

    def __init__(self, kube: Kube, registry: Registry, namespaces: tuple[str, ...]) -> None:
        self.kube = kube
        self.registry = registry
        # None: all namespaces, one cluster-scope watch per kind.
        self.namespaces: tuple[str | None, ...] = namespaces or (None,)
        self.tasks: dict[tuple[str, str, str | None], asyncio.Task[None]] = {}
        self.ending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Watch every child kind, and Secrets where CRs read them (now and from now on)."""
        for kind in CHILD_KINDS:
            for namespace in self.namespaces:
                self._spawn(("child", kind, namespace), MANAGED_SELECTOR, self.poke_owner)
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
            self.registry.poke((meta["namespace"], instance))

    def secret_changed(self, meta: Meta) -> None:
        """A Secret changed (or appeared, or went) where CRs read Secrets: wake its readers."""
        if meta.get("namespace") and meta.get("name"):
            self.registry.secret_changed((meta["namespace"], meta["name"]))

    def _spawn(
        self, key: tuple[str, str, str | None], selector: str | None, handler: Handler
    ) -> None:
        watch = ListWatch(
            self.kube,
            key[1],
            key[2],
            selector,
            handler,
            lambda: served_groups(self.kube, self.registry),
        )
        self.tasks[key] = asyncio.create_task(watch.run(), name=f"watch {watch.what}")


async def watch_client(kubeconfig: str | None, user_agent: str | None = None) -> Kube:
    """A client for watches only, with a connection pool of its own.

    Each watch holds one HTTP/1.1 connection for as long as it runs; sharing the reconciler's
    bounded pool (100) would let enough namespaces' watches starve every other request.
    """
    api = await connect(kubeconfig, user_agent)
    api.rest_client.maxsize = 0  # aiohttp: no limit; read when the pool is first created
    return Kube(api)
