"""The instance's OAuthClient: created only where its name is free, touched only while it is ours.

An OAuthClient is cluster-scoped and its name is chosen by the CR (or derived from it), so a CR
could name a client a cluster administrator made. Server-side apply with force would take such
a client over (its secret and redirect URIs replaced) and the finalizer would then delete it.
Instead, the operator creates the client only when the name is free, stamps it with the owning
CR's uid at creation, and patches or deletes only clients carrying that uid. A name held by
anyone else is reported on the CR (Stalled, ``OAuthClientNameTaken``) and left alone.
"""

from __future__ import annotations

from typing import Any

from ..facts import Instance
from ..render.endpoints import Problem
from ..render.names import OWNER_UID_LABEL, owner_labels
from .apply import needs_apply
from .kube import ApiError, Kube

KIND = "OAuthClient"


def ownership_labels(instance: Instance, uid: str) -> dict[str, str]:
    """Labels that make an OAuthClient this CR's: its namespace, name and uid."""
    return {**owner_labels(instance), OWNER_UID_LABEL: uid}


def ownership_selector(instance: Instance, uid: str) -> str:
    """A label selector for the OAuthClients this CR created."""
    return ",".join(f"{k}={v}" for k, v in ownership_labels(instance, uid).items())


def owned_by(obj: dict[str, Any], instance: Instance, uid: str) -> bool:
    """Whether ``obj`` was created by the CR ``instance`` with this ``uid``."""
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in ownership_labels(instance, uid).items())


def with_ownership(obj: dict[str, Any], instance: Instance, uid: str) -> dict[str, Any]:
    """``obj`` labelled as this CR's (the uid cannot be known by the pure renderer)."""
    meta = obj["metadata"]
    labels = {**(meta.get("labels") or {}), **ownership_labels(instance, uid)}
    return {**obj, "metadata": {**meta, "labels": labels}}


def name_taken(name: str, instance: Instance) -> Problem:
    """The condition for a client name that exists and is not this CR's."""
    return Problem(
        "invalid",
        "auth",
        "OAuthClientNameTaken",
        f"OAuthClient {name} already exists and was not created for LiteMaaS "
        f"{instance.namespace}/{instance.name}; the operator leaves it alone. Choose another "
        "spec.auth.oauthClient.name, or have a cluster administrator remove that client.",
    )


async def sync_oauth_client(
    kube: Kube, desired: dict[str, Any], instance: Instance, uid: str
) -> tuple[bool, Problem | None]:
    """Create or update this CR's OAuthClient; returns (written, problem)."""
    obj = with_ownership(desired, instance, uid)
    name = obj["metadata"]["name"]
    live = await kube.get(KIND, name)
    if live is None:
        try:
            await kube.create(obj)
        except ApiError as err:
            if err.conflict:  # created by someone else since the read: judged next time
                return False, None
            raise
        return True, None
    if not owned_by(live, instance, uid):
        return False, name_taken(name, instance)
    if not needs_apply(obj, live):
        return False, None
    # The resourceVersion makes the apply a compare-and-swap: if the client changed hands
    # between the read and the write, the API server refuses (409) instead of overwriting.
    guarded = {
        **obj,
        "metadata": {**obj["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]},
    }
    try:
        await kube.apply(guarded)
    except ApiError as err:
        if err.conflict:
            return False, None
        raise
    return True, None


async def prune_oauth_clients(
    kube: Kube, instance: Instance, uid: str, wanted: set[str]
) -> list[str]:
    """Delete this CR's OAuthClients not in ``wanted``; returns the names deleted."""
    deleted = []
    for client in await kube.list(KIND, selector=ownership_selector(instance, uid)):
        name = client["metadata"]["name"]
        if name not in wanted and owned_by(client, instance, uid) and await kube.delete(KIND, name):
            deleted.append(name)
    return deleted
