"""A child the API server refused, described so that a person knows what to do.

The API server's message says what was refused; for refusals with a known cause the operator
adds the fix, since the person reading the CR's status may not know the platform's rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# OpenShift's words (library-go route/hostassignment) when the requesting user may not set or
# change spec.host: `create` (a new Route) or `update` (a changed host) on routes/custom-host.
CUSTOM_HOST_DENIED = "you do not have permission to set the host field of the route"


def describe(obj: Mapping[str, Any], message: str) -> str:
    """``<Kind> <name>: <server message>``, plus the remedy when the cause is known."""
    meta = obj["metadata"]
    text = f"{obj['kind']} {meta['name']}: {message}"
    if obj["kind"] == "Route" and CUSTOM_HOST_DENIED in message:
        # The operator sets a host for spec.routing.*.host, and for a default host it shortens
        # because <route>-<namespace> passes 63 characters (OpenShift would refuse that one).
        text += (
            f" (the operator's identity needs create and update on routes/custom-host in"
            f" namespace {meta.get('namespace')} to set a Route's host, whether from"
            " spec.routing or shortened because <route>-<namespace> passes 63 characters:"
            " restore that rule of its ClusterRole)"
        )
    return text
