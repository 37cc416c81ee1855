"""Kopf watches on LiteMaaSBackup and LiteMaaSRestore: they wake the instance they name.

All backup and restore work happens in the instance's reconcile loop (``backups``); these only
poke it, as the child watches do. One thing needs no loop: a backup being deleted whose
instance is gone would hang on its files finalizer forever, so it is released here (its files
stay on the retained backup volume).
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from ..api import GROUP, KIND, VERSION
from ..api.backup import BACKUP_KIND, BACKUP_PLURAL, RESTORE_PLURAL
from .backups import FINALIZER
from .registry import REGISTRY

log = logging.getLogger(__name__)


def _instance(body: kopf.Body) -> str | None:
    value = (body.get("spec") or {}).get("instance")
    return value if isinstance(value, str) and value else None


@kopf.on.event(GROUP, VERSION, BACKUP_PLURAL)
async def backup_changed(body: kopf.Body, namespace: str, name: str, **_: Any) -> None:
    """A backup appeared, changed or went: wake its instance; release an orphan's finalizer."""
    instance = _instance(body)
    if instance is not None:
        REGISTRY.poke((namespace, instance))
    meta = body.get("metadata") or {}
    if not meta.get("deletionTimestamp") or FINALIZER not in (meta.get("finalizers") or []):
        return
    from .handlers import RUNTIME  # the client is created at start-up

    if RUNTIME.kube is None:
        return
    owner = await RUNTIME.kube.get(KIND, instance, namespace) if instance else None
    if owner is not None and not owner["metadata"].get("deletionTimestamp"):
        return  # the instance's loop prunes the files, then releases it
    finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
    await RUNTIME.kube.patch(BACKUP_KIND, name, namespace, patch)
    log.info(
        "released %s/%s: LiteMaaS %s is gone (files stay on its volume)", namespace, name, instance
    )


@kopf.on.event(GROUP, VERSION, RESTORE_PLURAL)
async def restore_changed(body: kopf.Body, namespace: str, **_: Any) -> None:
    """A restore appeared, changed or went: wake its instance."""
    instance = _instance(body)
    if instance is not None:
        REGISTRY.poke((namespace, instance))
