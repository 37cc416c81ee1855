"""Shared pieces of the LiteMaaS API models: the base model and Kubernetes-shaped value types.

The pydantic models are the single source of truth for the CRD schema (see ``crd.py``), so the
types here are chosen to map onto *structural* OpenAPI schemas: free-form Kubernetes objects
(affinity, volumes) are plain ``dict`` fields that the CRD marks
``x-kubernetes-preserve-unknown-fields``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

# A Kubernetes DNS-1123 subdomain / label; the messages below are what a user sees from the
# API server when they get it wrong, so they say what is allowed rather than only the regex.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Resource quantities such as 100m, 0.5, 256Mi, 10Gi, 1e3.
QUANTITY = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
# Container image references with an explicit tag or digest: an untagged image means ``latest``,
# which the upstream Kustomize install shipped by accident (upstream #176).
IMAGE = r"^[^\s@]+(:[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}|@sha256:[0-9a-f]{64})$"
NOT_LATEST = {
    "rule": "!self.endsWith(':latest')",
    "message": "pin an image tag or digest; ':latest' is not allowed",
}

Quantity = Annotated[
    int | str,
    Field(
        json_schema_extra={"pattern": QUANTITY},
        description="A Kubernetes resource quantity, for example 100m, 512Mi or 2.",
    ),
]
ResourceName = Annotated[str, Field(max_length=253, pattern=DNS_SUBDOMAIN)]


class Model(BaseModel):
    """Base of every API model: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """Serialise with API field names, leaving out what was never set."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class SecretKeyRef(Model):
    """A key in a Secret in the LiteMaaS namespace."""

    name: ResourceName = Field(description="Name of the Secret, in the CR's namespace.")
    key: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="Key within the Secret.",
    )


class ResourceRequirements(Model):
    """CPU and memory requests and limits, as in a container's ``resources``."""

    requests: dict[str, Quantity] | None = Field(default=None, description="Minimum resources.")
    limits: dict[str, Quantity] | None = Field(default=None, description="Maximum resources.")


class Toleration(Model):
    """A pod toleration (core/v1 Toleration)."""

    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class EnvVar(Model):
    """An extra environment variable: a literal ``value`` or a ``valueFrom`` source."""

    name: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$",
        description="Variable name.",
    )
    value: str | None = Field(default=None, max_length=32768)
    value_from: dict[str, Any] | None = Field(
        default=None, description="A core/v1 EnvVarSource (secretKeyRef, configMapKeyRef, ...)."
    )


class Workload(Model):
    """Scheduling and sizing knobs shared by every LiteMaaS component."""

    image: str | None = Field(
        default=None,
        max_length=512,
        pattern=IMAGE,
        json_schema_extra={"x-kubernetes-validations": [NOT_LATEST]},
        description="Image override with a pinned tag or digest. Defaults to the images of the "
        "LiteMaaS version.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    replicas: int | None = Field(default=None, ge=0, le=20, description="Pod replicas.")
    resources: ResourceRequirements | None = Field(
        default=None, description="Requests and limits; defaults follow the upstream manifests."
    )
    node_selector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = None
    affinity: dict[str, Any] | None = Field(default=None, description="A core/v1 Affinity.")
    extra_env: list[EnvVar] | None = Field(
        default=None,
        max_length=64,
        description="Extra environment variables, appended after the operator's own.",
    )
    pod_annotations: dict[str, str] | None = None

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        if value is not None and value.endswith(":latest"):
            raise ValueError(NOT_LATEST["message"])
        return value
