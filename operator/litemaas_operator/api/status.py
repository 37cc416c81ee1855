"""The ``LiteMaaS`` status: what the operator observed, in shapes that kstatus and Argo CD read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .backup import BackupStatus
from .base import Model

# metav1.Condition's reason format, so kstatus, Argo CD and `kubectl wait` accept it.
REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"

ConditionStatus = Literal["True", "False", "Unknown"]
# Only the phases the operator sets (controller/conditions.py): the CRD enum is documentation.
Phase = Literal["Progressing", "Ready", "Degraded", "Stalled"]


class Condition(Model):
    """A metav1.Condition."""

    type: str = Field(max_length=316, pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9_.-]+$")
    status: ConditionStatus
    reason: str = Field(max_length=1024, min_length=1, pattern=REASON)
    message: str = Field(default="", max_length=32768)
    observed_generation: int | None = Field(default=None, ge=0)
    last_transition_time: str = Field(json_schema_extra={"format": "date-time"})


class ComponentStatus(Model):
    """Replica counts of one workload."""

    replicas: int = 0
    ready_replicas: int = 0


class URLs(Model):
    """Where users reach LiteMaaS."""

    frontend: str | None = None
    litellm: str | None = None


class LiteMaaSStatus(Model):
    """Observed state of a LiteMaaS installation."""

    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    observed_generation: int | None = None
    phase: Phase | None = None
    version: str | None = None
    platform: Literal["openshift", "kubernetes"] | None = None
    urls: URLs | None = None
    backup: BackupStatus | None = Field(
        default=None, description="Latest backup outcomes and the next scheduled backup."
    )
    components: dict[str, ComponentStatus] | None = Field(
        default=None, description="Replica counts per component (database, redis, ...)."
    )
    kopf: dict[str, Any] | None = Field(
        default=None, description="Reserved for the Kopf framework's own bookkeeping."
    )
