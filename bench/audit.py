"""Read kube-apiserver's audit log: one record per request of the users the bench follows."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# Audit verbs as the HTTP-ish names people know from kubectl -v=6 and apiserver metrics.
VERBS = {
    "get": "GET",
    "list": "LIST",
    "watch": "WATCH",
    "create": "POST",
    "patch": "PATCH",
    "update": "PUT",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}
WRITES = ("POST", "PATCH", "PUT", "DELETE")
ORDER = ("GET", "LIST", "WATCH", "POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class Request:
    """One API request as the audit log saw it."""

    received: float  # epoch seconds
    completed: float
    user: str
    verb: str  # GET, LIST, WATCH, POST, PATCH, PUT, DELETE
    resource: str  # e.g. "deployments", "litemaases/status", or the path for non-resource URLs
    namespace: str | None
    name: str | None
    code: int
    query: str = ""  # the request URI's query string (selectors, limit, watch)

    @property
    def by_watch(self) -> bool:
        """A list-then-watch loop's list (paged, ``limit=``), not a reconcile's read."""
        return self.verb == "LIST" and "limit=" in self.query

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def namespaced_list(self) -> bool:
        return self.verb == "LIST" and self.namespace is not None


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def read(path: Path, users: Iterable[str]) -> list[Request]:
    """Requests of ``users``, once each (a watch at its start, others when complete), by time."""
    wanted = set(users)
    seen: set[str] = set()
    out: list[Request] = []
    if not path.exists():
        return out
    with path.open() as fh:
        for line in fh:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            user = ev.get("user", {}).get("username")
            if user not in wanted or ev["auditID"] in seen:
                continue
            verb = VERBS.get(ev.get("verb", ""), ev.get("verb", "").upper())
            stage = ev.get("stage")
            started = verb == "WATCH" and stage == "ResponseStarted"
            if not (stage == "ResponseComplete" or started):
                continue
            seen.add(ev["auditID"])
            ref = ev.get("objectRef") or {}
            resource = ref.get("resource") or ev.get("requestURI", "").split("?")[0]
            if ref.get("subresource"):
                resource += "/" + ref["subresource"]
            out.append(
                Request(
                    received=_epoch(ev["requestReceivedTimestamp"]),
                    completed=_epoch(ev["stageTimestamp"]),
                    user=user,
                    verb=verb,
                    resource=resource,
                    namespace=ref.get("namespace"),
                    name=ref.get("name"),
                    code=int((ev.get("responseStatus") or {}).get("code") or 0),
                    query=ev.get("requestURI", "").partition("?")[2],
                )
            )
    out.sort(key=lambda r: r.received)
    return out


def by_verb(requests: Iterable[Request], *, watches: bool = False) -> dict[str, int]:
    """Count per verb (watches left out unless asked: they are long-lived streams)."""
    counts = Counter(r.verb for r in requests if watches or r.verb != "WATCH")
    return {v: counts[v] for v in ORDER if counts.get(v)} | {
        v: n for v, n in counts.items() if v not in ORDER
    }


def writes(counts: dict[str, int]) -> int:
    """How many of the counted requests wrote."""
    return sum(n for v, n in counts.items() if v in WRITES)


def between(requests: Iterable[Request], start: float, end: float) -> list[Request]:
    """Requests received in [start, end)."""
    return [r for r in requests if start <= r.received < end]


def reconciles(requests: list[Request]) -> list[list[Request]]:
    """Split one CR's request stream into reconciles.

    Each reconcile starts by listing the CR's children, one namespaced LIST per kind in
    parallel (preceded by ``GET /apis`` when the discovery cache expired), and nothing else
    in a reconcile is a namespaced LIST. Kopf's own writes to the CR (finalizer, annotations)
    and requests before the first burst form the first, possibly empty, segment.
    """
    segments: list[list[Request]] = [[]]
    kopf = [r for r in requests if r.resource == "litemaases"]  # finalizer, annotations
    requests = [r for r in requests if r.resource != "litemaases"]
    segments[0].extend(kopf)
    for i, req in enumerate(requests):
        prev = requests[i - 1] if i else None
        if req.namespaced_list and not (prev and prev.namespaced_list):
            carried = []
            while segments[-1] and segments[-1][-1].resource == "/apis":
                carried.insert(0, segments[-1].pop())
            segments.append(carried)
        segments[-1].append(req)
    return segments


class WriteFollower:
    """Follows a growing audit log: when one user last wrote (reads only the new lines)."""

    def __init__(self, path: Path, user: str) -> None:
        self.path = path
        self.user = user
        self.offset = 0
        self.last = 0.0

    def last_write(self) -> float:
        """Epoch seconds of the user's latest completed write so far (0 if none)."""
        if not self.path.exists():
            return self.last
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # a line being written right now: read it next time
                self.offset += len(raw)
                try:
                    ev = json.loads(raw)
                except ValueError:
                    continue
                if (
                    ev.get("user", {}).get("username") == self.user
                    and ev.get("stage") == "ResponseComplete"
                    and VERBS.get(ev.get("verb", "")) in WRITES
                ):
                    self.last = max(self.last, _epoch(ev["stageTimestamp"]))
        return self.last
