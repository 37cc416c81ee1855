"""Shared pieces of the LiteMaaS API models: the base model and Kubernetes-shaped value types.

The pydantic models are the single source of truth for the CRD schema (see ``crd.py``), so the
types here are chosen to map onto *structural* OpenAPI schemas: free-form Kubernetes objects
(affinity, volumes) are plain ``dict`` fields that the CRD marks
``x-kubernetes-preserve-unknown-fields``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

# A Kubernetes DNS-1123 subdomain / label; the messages below are what a user sees from the
# API server when they get it wrong, so they say what is allowed rather than only the regex.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Non-negative resource quantities such as 100m, 0.5, 256Mi, 10Gi, 1e3: Kubernetes' own
# grammar (the one kubebuilder emits for resource.Quantity), without a sign.
QUANTITY = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# A key in a Secret or ConfigMap.
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
# Container image references with an explicit tag or digest: an untagged image means ``latest``,
# which the upstream Kustomize install shipped by accident (upstream #176).
IMAGE = r"^[^\s@]+(:[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}|@sha256:[0-9a-f]{64})$"
IMAGE_RULE = {
    "rule": f"self.matches(r'{IMAGE}')",  # a raw CEL string: no escapes
    "message": "an image needs a tag or digest, e.g. quay.io/org/name:1.2.3 or "
    "name@sha256:<64 hex digits> (an image without a tag means :latest)",
}
NOT_LATEST = {
    "rule": "!self.endsWith(':latest')",
    "message": "pin an image tag or digest; ':latest' is not allowed",
}


def _quantity(value: int | str) -> int | str:
    """Check what the CRD's pattern/minimum check, so ``render`` agrees with the API server."""
    if isinstance(value, int) and value < 0:
        raise ValueError("a quantity must not be negative")
    if isinstance(value, str) and not re.match(QUANTITY, value):
        raise ValueError(
            f"{value!r} is not a Kubernetes quantity such as 10Gi, 512Mi, 500m or 2 (binary "
            "units Ki Mi Gi Ti, decimal k M G T: 10GB is not one, write 10G or 10Gi)"
        )
    return value


Quantity = Annotated[
    int | str,
    AfterValidator(_quantity),
    Field(
        json_schema_extra={
            "minimum": 0,
            "maxLength": 64,
            "x-kubernetes-validations": [
                {
                    "rule": f"type(self) != string || self.matches(r'{QUANTITY}')",
                    "message": "must be a Kubernetes quantity such as 10Gi, 512Mi, 500m or 2 "
                    "(binary units Ki Mi Gi Ti, decimal k M G T: 10GB is not one, write 10G "
                    "or 10Gi)",
                }
            ],
        },
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


class SpecModel(Model):
    """Base of the spec's models: accepts exactly what the API server accepts.

    The API server knows only the camelCase names (a snake_case key would be pruned or
    rejected there) and JSON types (no "3" for 3, no "false" for false, no infinity), so
    ``render`` and the reconciler must not be more lenient than the CRD.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        validate_by_alias=True,
        validate_by_name=False,
        extra="forbid",
        validate_default=True,
        strict=True,
        allow_inf_nan=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _any_mapping(cls, data: Any) -> Any:
        # Strict mode wants a dict; Kopf hands out read-only mapping views of the body.
        return dict(data) if isinstance(data, Mapping) and not isinstance(data, dict) else data


class SecretKeyRef(SpecModel):
    """A key in a Secret in the LiteMaaS namespace."""

    name: ResourceName = Field(description="Name of the Secret, in the CR's namespace.")
    key: str = Field(
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key within the Secret.",
    )


class ResourceRequirements(SpecModel):
    """CPU and memory requests and limits, as in a container's ``resources``."""

    requests: dict[str, Quantity] | None = Field(
        default=None, max_length=16, description="Minimum resources, e.g. cpu: 100m."
    )
    limits: dict[str, Quantity] | None = Field(
        default=None, max_length=16, description="Maximum resources, e.g. memory: 1Gi."
    )


class Toleration(SpecModel):
    """A pod toleration (core/v1 Toleration)."""

    model_config = SpecModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.operator) || self.operator != 'Exists' || "
                    "!has(self.value) || self.value == ''",
                    "message": "a toleration with operator Exists must not set a value",
                }
            ]
        }
    }

    key: str | None = Field(default=None, description="Taint key; empty matches every key.")
    operator: Literal["Exists", "Equal"] | None = Field(
        default=None, description="Equal (default) or Exists."
    )
    value: str | None = Field(default=None, description="Taint value, with operator Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect; empty matches every effect."
    )
    toleration_seconds: int | None = Field(
        default=None, description="How long a NoExecute taint is tolerated."
    )

    @model_validator(mode="after")
    def _exists_has_no_value(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise ValueError("a toleration with operator Exists must not set a value")
        return self


class EnvVar(SpecModel):
    """An extra environment variable: a literal ``value`` or a ``valueFrom`` source."""

    model_config = SpecModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.value) && has(self.valueFrom))",
                    "message": "set either value or valueFrom, not both",
                }
            ]
        }
    }

    name: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$",
        description="Variable name.",
    )
    value: str | None = Field(default=None, max_length=32768, description="A literal value.")
    value_from: dict[str, Any] | None = Field(
        default=None, description="A core/v1 EnvVarSource (secretKeyRef, configMapKeyRef, ...)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> EnvVar:
        if self.value is not None and self.value_from is not None:
            raise ValueError("set either value or valueFrom, not both")
        return self


class Workload(SpecModel):
    """Scheduling and sizing knobs shared by every LiteMaaS component."""

    image: str | None = Field(
        default=None,
        max_length=512,
        json_schema_extra={"x-kubernetes-validations": [IMAGE_RULE, NOT_LATEST]},
        description="Image override with a pinned tag or digest. Defaults to the images of the "
        "LiteMaaS version.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="Always, IfNotPresent or Never; default: Kubernetes' rule."
    )
    replicas: int | None = Field(default=None, ge=0, le=20, description="Pod replicas.")
    resources: ResourceRequirements | None = Field(
        default=None, description="Requests and limits; defaults follow the upstream manifests."
    )
    node_selector: dict[str, str] | None = Field(
        default=None, description="Node labels the pods must run on."
    )
    tolerations: list[Toleration] | None = Field(
        default=None, description="Taints the pods tolerate."
    )
    affinity: dict[str, Any] | None = Field(default=None, description="A core/v1 Affinity.")
    extra_env: list[EnvVar] | None = Field(
        default=None,
        max_length=64,
        description="Extra environment variables, after the operator's own. A name the "
        "operator also sets (e.g. LOG_LEVEL) overrides the operator's value: you then own it.",
    )
    pod_annotations: dict[str, str] | None = Field(
        default=None, description="Annotations added to the pods."
    )

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        if value is not None and not re.match(IMAGE, value):
            raise ValueError(IMAGE_RULE["message"])
        if value is not None and value.endswith(":latest"):
            raise ValueError(NOT_LATEST["message"])
        return value
