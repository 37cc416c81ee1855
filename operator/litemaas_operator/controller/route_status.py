"""Whether OpenShift's routers admitted the instance's Routes, read from ``status.ingress``.

A Route that exists is not yet served: each router that considers it reports an ``Admitted``
condition. One refused by every router that reported on it (most often ``HostAlreadyClaimed``:
an older Route in another namespace holds the host, e.g. a second instance given the same
``spec.routing.*.host``) serves nothing, so the component is not ready and a person must act.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..render.endpoints import Problem
from ..render.names import Names

REASON = "RouteNotAdmitted"


def _admitted(entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next(
        (c for c in entry.get("conditions") or [] if c.get("type") == "Admitted"),
        None,
    )


def route_problems(
    live: Mapping[tuple[str, str], Mapping[str, Any]], names: Names
) -> list[Problem]:
    """A Problem for each of the instance's Routes that no router admitted and one refused."""
    problems = []
    for component, name in (("frontend", names.frontend_route), ("litellm", names.litellm_route)):
        route = live.get(("Route", name))
        if route is None:
            continue
        host = (route.get("spec") or {}).get("host")
        # Only what routers said about the current host: an entry for an old host is stale.
        entries = [
            e
            for e in (route.get("status") or {}).get("ingress") or []
            if not host or e.get("host") == host
        ]
        verdicts = [(e, c) for e in entries if (c := _admitted(e)) is not None]
        if not verdicts or any(c.get("status") == "True" for _, c in verdicts):
            continue
        refusals = "; ".join(
            f"router {e.get('routerName', '?')}: {c.get('reason', 'NotAdmitted')}"
            + (f" ({c['message']})" if c.get("message") else "")
            for e, c in verdicts
        )
        problems.append(
            Problem(
                "invalid",
                component,
                REASON,
                f"Route {name} is not admitted for host {host}: {refusals}",
            )
        )
    return problems
