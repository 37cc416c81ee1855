"""What the finalizer does when a LiteMaaS CR is deleted.

Namespaced children go by garbage collection (ownerReferences). Left to do here: cluster-scoped
objects (OAuthClient, Group members), which cannot carry an ownerReference to a namespaced CR,
and, only when the user opted in, the retained data (PVCs and the credentials that open them).
Every step treats "already gone" and "API not served" as done, so deletion never hangs.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from ..api.spec import LiteMaaSSpec
from ..facts import Instance
from ..render.backup import claim_name as backup_claim_name
from ..render.names import Names
from .backups import release_deleted_backups
from .groups import sync_groups
from .kube import ApiError, Kube
from .oauthclients import prune_oauth_clients

log = logging.getLogger(__name__)


async def _served(kube: Kube, kind: str, action: Any) -> Any:
    try:
        return await action
    except ApiError as err:
        # 404 on a collection: the API (e.g. oauth.openshift.io) is not served here.
        if err.not_found:
            log.info("%s API not served; nothing to clean up", kind)
            return None
        raise


async def cleanup(kube: Kube, body: dict[str, Any]) -> list[str]:
    """Remove what garbage collection cannot; returns what was deleted, for the log."""
    meta = body["metadata"]
    instance = Instance(meta["name"], meta["namespace"])
    names = Names(instance)
    done: list[str] = []
    # Only clients stamped with this CR's uid: never one that merely shares the name.
    clients = await _served(
        kube, "OAuthClient", prune_oauth_clients(kube, instance, meta["uid"], set())
    )
    done += [f"OAuthClient/{name}" for name in clients or []]
    # Backups being deleted wait for a prune no loop will run any more: let them go.
    done += await release_deleted_backups(kube, instance)
    writes = await _served(kube, "Group", sync_groups(kube, instance, {}))
    if writes:
        done.append(f"{writes} group membership change(s)")
    try:
        spec = LiteMaaSSpec.model_validate(body.get("spec") or {})
        delete_data = spec.database.delete_claim_on_delete
    except ValidationError:
        delete_data = False  # when in doubt, keep the data
    if delete_data:
        for kind, name in (
            ("PersistentVolumeClaim", names.postgres_pvc),
            ("PersistentVolumeClaim", names.backend_backup),
            ("PersistentVolumeClaim", backup_claim_name(instance)),
            ("Secret", names.credentials),
        ):
            if await kube.delete(kind, name, instance.namespace):
                done.append(f"{kind}/{name}")
    return done
