"""In-memory state shared by the handlers: wake-up triggers, referenced Secrets, cached
cluster facts.

Nothing here is a source of truth: after a restart it is rebuilt by the first reconcile of each
CR, and everything it would have triggered is also caught by the periodic resync.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
Key = tuple[str, str]  # (namespace, name) of a LiteMaaS CR
KOPF_PREFIX = "litemaas.io/"  # Kopf's progress and diff-base annotations (main.startup)


@dataclass
class Registry:
    """Triggers per CR, and which CRs read which user Secrets."""

    triggers: dict[Key, asyncio.Event] = field(default_factory=dict)
    readers: dict[Key, set[Key]] = field(default_factory=lambda: defaultdict(set))
    # Told the namespaces holding a read Secret whenever that set changes, so that Secrets are
    # watched there and nowhere else (see watches.Watches.follow_readers).
    on_reader_namespaces: Callable[[set[str]], None] | None = None
    _reader_namespaces: set[str] = field(default_factory=set, init=False, repr=False)
    # Cluster-wide facts (served API groups, the apps domain) change rarely: fetched at most
    # once per TTL for all CRs instead of on every reconcile.
    cluster_facts: dict[str, tuple[float, Any]] = field(default_factory=dict)
    facts_ttl: float = 30.0
    # What a reconcile reads of each CR besides its status, as last seen by the CR's watch.
    seen: dict[Key, Any] = field(default_factory=dict)
    # CRs poked for a whole reconcile (not only a child's status news) since their loop woke.
    whole: set[Key] = field(default_factory=set)

    def trigger(self, key: Key) -> asyncio.Event:
        """The event that wakes the reconcile loop of one CR."""
        return self.triggers.setdefault(key, asyncio.Event())

    def poke(self, key: Key, *, whole: bool = True) -> None:
        """Ask for a reconcile of one CR soon (no-op for CRs this process does not run).

        ``whole`` False: only a child's status changed, and observing is enough, unless
        another poke before the loop wakes asks for the whole reconcile.
        """
        event = self.triggers.get(key)
        if event is not None:
            if whole:
                self.whole.add(key)
            event.set()

    def take(self, key: Key) -> bool:
        """Whether some poke since the last call asked for a whole reconcile; clears it."""
        if key in self.whole:
            self.whole.discard(key)
            return True
        return False

    def forget(self, key: Key) -> None:
        """Drop everything kept for a CR that is gone."""
        self.triggers.pop(key, None)
        self.seen.pop(key, None)
        self.whole.discard(key)
        self.reads(key, set())

    def cr_changed(self, key: Key, metadata: dict[str, Any]) -> bool:
        """Whether a CR event changes what a reconcile acts on (True the first time).

        The status is the reconcile's own output and Kopf's annotations are its bookkeeping:
        an event that changed only those (the echo of a status write) needs no reconcile.
        """
        annotations = metadata.get("annotations") or {}
        seen = (
            metadata.get("uid"),
            metadata.get("generation"),
            metadata.get("deletionTimestamp"),
            sorted((metadata.get("labels") or {}).items()),
            sorted((k, v) for k, v in annotations.items() if not k.startswith(KOPF_PREFIX)),
        )
        if self.seen.get(key) == seen:
            return False
        self.seen[key] = seen
        return True

    def reads(self, cr: Key, secrets: set[Key]) -> None:
        """Record the user Secrets (namespace, name) that a CR's last reconcile read."""
        for secret, readers in list(self.readers.items()):
            if secret not in secrets:
                readers.discard(cr)
                if not readers:
                    del self.readers[secret]
        for secret in secrets:
            self.readers[secret].add(cr)
        namespaces = self.reader_namespaces()
        if namespaces != self._reader_namespaces:
            self._reader_namespaces = namespaces
            if self.on_reader_namespaces is not None:
                self.on_reader_namespaces(set(namespaces))

    def reader_namespaces(self) -> set[str]:
        """Namespaces where at least one CR reads a user Secret."""
        return {namespace for (namespace, _), readers in self.readers.items() if readers}

    def secret_changed(self, secret: Key) -> bool:
        """Wake every CR that reads ``secret``; True if any did."""
        readers = self.readers.get(secret) or set()
        for cr in readers:
            self.poke(cr)
        return bool(readers)

    async def cached(self, name: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """A cluster-wide fact, fetched again only when older than ``facts_ttl``."""
        at, value = self.cluster_facts.get(name, (0.0, None))
        if name not in self.cluster_facts or time.monotonic() - at >= self.facts_ttl:
            value = await fetch()
            self.cluster_facts[name] = (time.monotonic(), value)
        return value  # type: ignore[no-any-return]


REGISTRY = Registry()
