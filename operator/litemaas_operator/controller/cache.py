"""Stores of the objects the operator reads, kept current by its watches (client-go's informer
store, in small).

Each ``Store`` holds one kind as its watches (``watches.ListWatch``) last saw it: filled by each
list, updated by each event, emptied of what a relist no longer shows. A store answers reads
only for the *scopes* (a namespace, all namespaces, or one object's name) whose first list has
completed; anything else goes to the API server, as before. ``Caches`` is what ``kube.Kube``
consults: a read it can answer costs no request, and every write the operator makes goes into
the store at once, so a reconcile never reads something older than what it just wrote.

Objects are kept as compact JSON without ``managedFields``: a few hundred children per hundred
instances cost little memory that way, and every read decodes a fresh copy that the caller may
change freely. Versions only move forward: an event or write response older than what the store
holds (or older than a deletion it saw) is ignored.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .relevance import fingerprint

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
# (namespace, name) that one list-then-watch covers; None is "any". Children: (ns or None,
# None); a watch of one object by name: (None, name).
Scope = tuple[str | None, str | None]
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
ZDICT_MAX = 32 * 1024  # zlib's window: a longer dictionary's start would go unused
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Unknown:
    """The store cannot say (not synced, or a selector that may hide the object): ask the API."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


def key_of(obj: Obj) -> Key:
    """(namespace or "", name) of an object."""
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def is_object(answer: Obj) -> bool:
    """Whether an API answer is an object (not a ``Status``)."""
    return answer.get("kind") != "Status" and bool((answer.get("metadata") or {}).get("name"))


def still_there(answer: Obj) -> bool:
    """Whether a DELETE's answer is an object that still exists, terminating."""
    meta = answer.get("metadata") or {}
    return (
        is_object(answer)
        and bool(meta.get("deletionTimestamp"))
        and bool(meta.get("finalizers") or meta.get("deletionGracePeriodSeconds"))
    )


def version_of(obj: Obj) -> int | None:
    """The resourceVersion as a number, None when absent or not a number.

    resourceVersions are opaque to clients in principle; every API server in practice (etcd's
    revision) hands out increasing integers, which is what ordering a write's response against
    watch events needs. Where one is not a number, the newer arrival simply wins.
    """
    raw = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def parse_selector(selector: str | None) -> dict[str, str] | None:
    """``a=b,c=d`` as a dict; None for a selector this store cannot evaluate (``in``, ``!=``)."""
    if not selector:
        return {}
    out: dict[str, str] = {}
    for part in selector.split(","):
        name, sep, value = part.partition("=")
        if not sep or value.startswith("=") or name.endswith("!") or not name.strip():
            return None
        out[name.strip()] = value.strip()
    return out


def matches(labels: dict[str, str], wanted: dict[str, str]) -> bool:
    """Whether ``labels`` carry every ``wanted`` label."""
    return all(labels.get(k) == v for k, v in wanted.items())


def in_scope(scope: Scope, key: Key) -> bool:
    """Whether an object's key falls within a watch's scope."""
    namespace, name = scope
    return (namespace is None or key[0] == namespace) and (name is None or key[1] == name)


def compact(obj: Obj, kind: str, api_version: str) -> bytes:
    """``obj`` without what nobody reads (managedFields, kubectl's last-applied copy), as JSON."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    slim = {
        **obj,
        "kind": kind,
        "apiVersion": obj.get("apiVersion") or api_version,
        "metadata": meta,
    }
    return json.dumps(slim, separators=(",", ":")).encode()


@dataclass(slots=True)
class Entry:
    """One object: its version, labels, what a reconcile reads of it, and its JSON."""

    version: int | None
    labels: dict[str, str]
    data: bytes | None  # None: known to exist, content not kept (see Store.wanted)
    fingerprint: bytes = b""  # relevance.fingerprint: what a reconcile reads of it


@dataclass
class Store:
    """The objects of one kind that a set of list-then-watch loops see.

    ``selector`` is the label selector those watches send: a store with one cannot prove that
    an object is absent (it may exist without the labels), only that one it holds is there.
    ``wanted``, when not None, limits which objects' contents are kept (users' Secrets: only
    those some CR reads); others are remembered by version only and read from the API once.
    """

    kind: str
    api_version: str
    selector: dict[str, str] = field(default_factory=dict)
    wanted: set[Key] | None = None
    items: dict[Key, Entry] = field(default_factory=dict)
    # Versions of deletions seen, so that a late, older event cannot bring an object back.
    tombstones: dict[Key, int] = field(default_factory=dict)
    by_instance: dict[Key, set[str]] = field(default_factory=dict)  # (ns, instance) -> names
    synced: set[Scope] = field(default_factory=set)
    relists: int = 0  # lists after the first of a scope (410 Gone, reconnects): the safety net
    label_sets: dict[frozenset[tuple[str, str]], dict[str, str]] = field(default_factory=dict)
    # Preset dictionaries for _pack, by component label: set once, never changed.
    zdicts: dict[str, bytes] = field(default_factory=dict)

    # ---- keeping ------------------------------------------------------------------------

    def listed(self, scope: Scope, objects: Iterable[Obj], version: int | None) -> list[Key]:
        """A complete list of ``scope`` at ``version``: replace what it covers; what changed.

        What the store holds that is newer than the list (a write of ours that finished while
        the list was being read) stays; what the list no longer shows and is not newer goes.
        """
        seen: set[Key] = set()
        changed = [key_of(obj) for obj in objects if self.put_listed(obj, seen)]
        return changed + self.list_done(scope, seen, version)

    def put_listed(self, obj: Obj, seen: set[Key]) -> bool:
        """One object of a list being read page by page (``list_done`` ends it): stored at
        once, so that a list of thousands is never held whole; True if stored."""
        seen.add(key_of(obj))
        return self.put(obj)

    def list_done(self, scope: Scope, seen: set[Key], version: int | None) -> list[Key]:
        """A list of ``scope`` at ``version`` showed exactly ``seen``: what it no longer shows
        and is not newer goes; the keys removed."""
        if scope in self.synced:
            self.relists += 1
        removed: list[Key] = []
        for key, entry in list(self.items.items()):
            if key in seen or not in_scope(scope, key):
                continue
            if version is not None and entry.version is not None and entry.version > version:
                continue
            self._remove(key, version)
            removed.append(key)
        # Deletions the list has caught up with need no tombstone any more.
        for key, dead in list(self.tombstones.items()):
            if in_scope(scope, key) and (version is None or dead <= version):
                del self.tombstones[key]
        self.synced.add(scope)
        return removed

    def put(self, obj: Obj) -> bool:
        """Store ``obj`` unless the store already holds it or something newer; True if stored."""
        key = key_of(obj)
        version = version_of(obj)
        labels = self._labels(obj)
        if not matches(labels, self.selector):
            # It left the selector (labels removed): a watch would say DELETED.
            return self.delete(key, version)
        old = self.items.get(key)
        keep = self._keeps(key)
        if version is not None:
            # Not older; the same version only to fill in contents now wanted.
            if (
                old is not None
                and old.version is not None
                and (
                    version < old.version
                    or (version == old.version and (old.data is not None or not keep))
                )
            ):
                return False
            dead = self.tombstones.get(key)
            if old is None and dead is not None and version <= dead:
                return False
        self.tombstones.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        data = self._pack(compact(obj, self.kind, self.api_version), labels) if keep else None
        entry = Entry(version, labels, data, fingerprint(self.kind, obj))
        self.items[key] = entry
        self._index(key, entry)
        return True

    def delete(self, key: Key, version: int | None) -> bool:
        """Forget an object (deleted at ``version``, if known); True if the store held it."""
        old = self.items.get(key)
        if old is None:
            if version is not None:
                self.tombstones[key] = max(version, self.tombstones.get(key, 0))
            return False
        if version is not None and old.version is not None and version < old.version:
            return False  # a deletion older than what we hold: the object was re-created since
        self._remove(key, version if version is not None else old.version)
        return True

    def forget(self, scope: Scope) -> None:
        """The watch of ``scope`` stopped (or its API went away): drop it, stop answering."""
        self.synced.discard(scope)
        for key in [k for k in self.items if in_scope(scope, k)]:
            if not any(in_scope(s, key) for s in self.synced):
                self._remove(key, None)

    def fingerprint(self, key: Key) -> bytes | None:
        """What a reconcile reads of the object held at ``key`` (None: none held)."""
        entry = self.items.get(key)
        return entry.fingerprint if entry is not None else None

    def want(self, key: Key) -> None:
        """Keep the contents of ``key`` from now on (a CR reads it)."""
        if self.wanted is not None:
            self.wanted.add(key)

    def _keeps(self, key: Key) -> bool:
        return self.wanted is None or key in self.wanted

    def _remove(self, key: Key, version: int | None) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        if version is not None:
            self.tombstones[key] = version

    def _pack(self, raw: bytes, labels: dict[str, str]) -> bytes:
        """``raw`` compressed against the first object of its component seen by this store.

        A store holds every child of every instance, read far less often than kept, and one
        instance's backend Deployment is much like another's: against a sibling's JSON as the
        preset dictionary, 2 to 10 KB of JSON come down to a few hundred bytes. Secrets are
        compressed alone: the dictionary outlives the object it was taken from.
        """
        if self.kind == "Secret":  # a dictionary would keep one Secret's values for good
            return zlib.compress(raw, 1)
        zdict = self.zdicts.setdefault(labels.get(COMPONENT_LABEL, ""), raw[-ZDICT_MAX:])
        packer = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
        return packer.compress(raw) + packer.flush()

    def _unpack(self, entry: Entry) -> Obj:
        """The object ``_pack`` kept."""
        assert entry.data is not None
        if self.kind == "Secret":
            return json.loads(zlib.decompress(entry.data))  # type: ignore[no-any-return]
        unpacker = zlib.decompressobj(zdict=self.zdicts[entry.labels.get(COMPONENT_LABEL, "")])
        return json.loads(unpacker.decompress(entry.data) + unpacker.flush())  # type: ignore[no-any-return]

    def _labels(self, obj: Obj) -> dict[str, str]:
        """``obj``'s labels as a dict shared by every entry with the same ones (read only):
        an instance's children carry a handful of label sets between them."""
        labels = (obj.get("metadata") or {}).get("labels") or {}
        shape = frozenset(labels.items())
        shared = self.label_sets.get(shape)
        if shared is None:
            if len(self.label_sets) > 2 * len(self.items) + 64:  # drop sets nobody holds
                held = {frozenset(e.labels.items()) for e in self.items.values()}
                self.label_sets = {k: v for k, v in self.label_sets.items() if k in held}
            shared = self.label_sets[shape] = {
                sys.intern(k): sys.intern(v) for k, v in labels.items()
            }
        return shared

    def _index(self, key: Key, entry: Entry) -> None:
        instance = entry.labels.get(INSTANCE_LABEL)
        if instance:
            self.by_instance.setdefault((key[0], instance), set()).add(key[1])

    def _unindex(self, key: Key, entry: Entry) -> None:
        instance = entry.labels.get(INSTANCE_LABEL)
        names = self.by_instance.get((key[0], instance or ""))
        if names is not None:
            names.discard(key[1])
            if not names:
                del self.by_instance[(key[0], instance or "")]

    # ---- reading ------------------------------------------------------------------------

    def covers(self, namespace: str, name: str | None = None) -> bool:
        """Whether a completed list covers ``namespace`` (and ``name``, if given)."""
        return any(
            in_scope(scope, (namespace, name or "")) and (name is not None or scope[1] is None)
            for scope in self.synced
        )

    def get(self, namespace: str, name: str) -> Obj | Unknown | None:
        """A copy of the object, None if it certainly does not exist, or UNKNOWN."""
        if not self.covers(namespace, name):
            return UNKNOWN
        entry = self.items.get((namespace, name))
        if entry is None:
            return None if not self.selector else UNKNOWN
        if entry.data is None:
            return UNKNOWN
        return self._unpack(entry)

    def select(self, namespace: str, selector: str | None) -> list[Obj] | Unknown:
        """Copies of the objects in ``namespace`` ("" for cluster-scoped) matching ``selector``.

        UNKNOWN unless the store is synced there and the selector asks for at least the
        store's own labels (a wider query could match objects the watch never sent).
        """
        wanted = parse_selector(selector)
        if wanted is None or not self.covers(namespace) or not matches(wanted, self.selector):
            return UNKNOWN
        instance = wanted.get(INSTANCE_LABEL)
        if instance is not None:
            keys: Iterable[Key] = (
                (namespace, n) for n in sorted(self.by_instance.get((namespace, instance), ()))
            )
        else:
            keys = sorted(k for k in self.items if k[0] == namespace)
        out: list[Obj] = []
        for key in keys:
            entry = self.items[key]
            if not matches(entry.labels, wanted):
                continue
            if entry.data is None:
                return UNKNOWN
            out.append(self._unpack(entry))
        return out


@dataclass
class InFlight:
    """Writes of ours to one object that have not answered yet, and events held meanwhile."""

    writes: int = 0
    versions: set[int] = field(default_factory=set)
    deferred: list[tuple[int | None, Callable[[], None]]] = field(default_factory=list)


class Caches:
    """Every store, by kind; what ``kube.Kube`` reads through and writes into.

    A kind may have more than one store (Secrets: our children, labelled, and users' Secrets in
    the namespaces where CRs read them); a read goes to the first that can answer, a write to
    all of them (each keeps only what its watches would show).
    """

    def __init__(self) -> None:
        self.stores: dict[str, list[Store]] = {}
        self.in_flight: dict[tuple[str, Key], InFlight] = {}

    def store(
        self,
        kind: str,
        api_version: str,
        selector: dict[str, str] | None = None,
        *,
        wanted: set[Key] | None = None,
    ) -> Store:
        """The store of ``kind`` with this selector, created on first use."""
        selector = selector or {}
        for store in self.stores.get(kind, []):
            if store.selector == selector:
                return store
        store = Store(kind, api_version, dict(selector), wanted)
        self.stores.setdefault(kind, []).append(store)
        return store

    def watching(self, kind: str, namespace: str) -> bool:
        """Whether a synced watch follows ``kind`` in ``namespace`` (its changes wake CRs)."""
        return any(store.covers(namespace) for store in self.stores.get(kind, []))

    def get(self, kind: str, name: str, namespace: str | None) -> Obj | Unknown | None:
        """An object from the first store that knows, else UNKNOWN."""
        for store in self.stores.get(kind, []):
            found = store.get(namespace or "", name)
            if not isinstance(found, Unknown):
                return found
        return UNKNOWN

    def list(self, kind: str, namespace: str | None, selector: str | None) -> list[Obj] | Unknown:
        """Objects from the first store that can answer the whole query, else UNKNOWN."""
        for store in self.stores.get(kind, []):
            found = store.select(namespace or "", selector)
            if not isinstance(found, Unknown):
                return found
        return UNKNOWN

    def fetched(self, obj: Obj) -> None:
        """An object just read from the API (a cache miss): newer than or equal to any held."""
        for store in self.stores.get(str(obj.get("kind") or ""), []):
            store.want(key_of(obj))
            if any(in_scope(s, key_of(obj)) for s in store.synced):
                store.put(obj)

    def written(self, obj: Obj) -> None:
        """The API server's answer to a write of ours: the object as it now is."""
        for store in self.stores.get(str(obj.get("kind") or ""), []):
            if any(in_scope(s, key_of(obj)) for s in store.synced):
                store.put(obj)

    def deleted(
        self, kind: str, name: str, namespace: str | None, answer: Obj | None = None
    ) -> None:
        """We deleted an object (``answer``: the API server's reply, if any).

        An object that finalizers or a grace period hold comes back terminating: it stays in
        the stores as such (a watch event faster than the reply may already have put it
        there, and no later event would bring it back). Otherwise it is gone from the stores
        until a newer version shows up.
        """
        if answer is not None and still_there(answer):
            self.written({**answer, "kind": kind})
            return
        version = version_of(answer) if answer is not None and is_object(answer) else None
        for store in self.stores.get(kind, []):
            store.delete((namespace or "", name), version)

    # ---- echoes of our own writes ----------------------------------------------------------

    def writing(self, kind: str, key: Key) -> None:
        """A write of ours to ``key`` is about to be sent."""
        self.in_flight.setdefault((kind, key), InFlight()).writes += 1

    def wrote(self, kind: str, key: Key, answer: Obj | None) -> None:
        """That write finished (``answer``: the object it left, None if it failed)."""
        flight = self.in_flight.get((kind, key))
        if flight is None:
            return
        flight.writes -= 1
        if answer is not None and (version := version_of(answer)) is not None:
            flight.versions.add(version)
        if flight.writes > 0:
            return
        del self.in_flight[(kind, key)]
        for version, notify in flight.deferred:
            if version is None or version not in flight.versions:
                notify()

    def notify(self, kind: str, key: Key, version: int | None, notify: Callable[[], None]) -> None:
        """Report a watch event now, or once the write in flight to ``key`` has answered: the
        event may be that write's own echo (the watch can be faster than the answer), which
        the reconcile that wrote already accounts for, and is then dropped."""
        flight = self.in_flight.get((kind, key))
        if flight is None:
            notify()
        else:
            flight.deferred.append((version, notify))

    def relists(self) -> int:
        """Lists that repeated a scope's first one, over all stores (the safety net)."""
        return sum(s.relists for stores in self.stores.values() for s in stores)
