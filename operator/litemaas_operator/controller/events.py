"""Kubernetes Events about LiteMaaS, LiteMaaSBackup and LiteMaaSRestore resources.

Posted by the backup and restore controller at each transition it writes (Kopf posts its own,
for handler failures only). Best effort, like every controller's Events: a failure to post is
logged and never fails the reconcile. Messages are built from names and phases only, never from
Secret data.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from ..api import API_VERSION, KIND
from .kube import ApiError, Kube

log = logging.getLogger(__name__)
COMPONENT = "litemaas-operator"
EventType = Literal["Normal", "Warning"]


def event_body(
    obj: Mapping[str, Any], kind_type: EventType, reason: str, message: str
) -> dict[str, Any]:
    """A core/v1 Event about ``obj`` (which must carry apiVersion, kind and metadata)."""
    meta = obj["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "type": kind_type,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": os.environ.get("POD_ID") or socket.gethostname(),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def post(
    kube: Kube, obj: Mapping[str, Any], kind_type: EventType, reason: str, message: str
) -> None:
    """Post one Event about ``obj``; errors are logged, not raised."""
    body = event_body(obj, kind_type, reason, message)
    namespace = obj["metadata"]["namespace"]
    try:
        await kube.request("POST", f"/api/v1/namespaces/{namespace}/events", body=body)
    except (ApiError, OSError) as err:
        log.warning("could not post Event %s about %s: %s", reason, obj["metadata"]["name"], err)


async def post_about_instance(
    kube: Kube, body: Mapping[str, Any], kind_type: EventType, reason: str, message: str
) -> None:
    """``post`` about a LiteMaaS resource, whose body may lack apiVersion and kind."""
    await post(kube, {"apiVersion": API_VERSION, "kind": KIND, **body}, kind_type, reason, message)
