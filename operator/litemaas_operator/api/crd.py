"""Generate the LiteMaaS CustomResourceDefinition from the pydantic models.

pydantic's JSON Schema is not a *structural* schema as Kubernetes requires, so it is rewritten:
``$ref``/``$defs`` inlined, ``Optional`` unions flattened into plain optional properties,
int-or-string unions turned into ``x-kubernetes-int-or-string``, free-form objects marked
``x-kubernetes-preserve-unknown-fields``, and ``title``/``default`` dropped (defaults are the
operator's, see ``spec.py``).
"""

from __future__ import annotations

import copy
from typing import Any

from . import backup
from .identity import (
    API_VERSION,
    GROUP,
    KIND,
    NAME_MAX_LENGTH,
    NAME_MESSAGE,
    NAME_PATTERN,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
)
from .spec import LiteMaaSSpec
from .status import LiteMaaSStatus

# Keys of pydantic's output that are not part of Kubernetes' OpenAPI v3 subset, or that we
# deliberately leave out.
_DROP = {"title", "default", "$defs", "examples"}

PRINTER_COLUMNS = [
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
    {"name": "Version", "type": "string", "jsonPath": ".status.version"},
    {"name": "URL", "type": "string", "jsonPath": ".status.urls.frontend"},
    {
        "name": "Message",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].message',
        "priority": 1,
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def plain_text(description: str) -> str:
    """A docstring as ``kubectl explain`` should show it: no reStructuredText literals."""
    return description.replace("``", "")


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return {key: _resolve(value, defs) for key, value in node.items()}


def _is_null(node: dict[str, Any]) -> bool:
    return node.get("type") == "null"


def _structural(node: Any) -> Any:
    """Rewrite one (already inlined) JSON-schema node into a structural CRD schema node."""
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    # Annotated unions nest (Optional[int | str] -> anyOf[anyOf[int, str], null]): flatten.
    while any(
        len([o for o in node.get(u, []) if not _is_null(o)]) == 1 for u in ("anyOf", "oneOf")
    ):
        for u in ("anyOf", "oneOf"):
            options = [o for o in node.get(u, []) if not _is_null(o)]
            if len(options) == 1 and u in node:
                del node[u]
                node = {**options[0], **node}
    for union in ("anyOf", "oneOf"):
        if union in node:
            options = [opt for opt in node.pop(union) if not _is_null(opt)]
            types = sorted(opt.get("type", "") for opt in options)
            if len(options) == 1:
                node = {**options[0], **node}
            elif types == ["integer", "string"]:
                node["x-kubernetes-int-or-string"] = True
                node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
            else:
                raise ValueError(f"cannot express union {options!r} structurally")
    # Structural schemas forbid additionalProperties beside properties; pruning already drops
    # unknown fields, so `extra="forbid"` needs no schema counterpart.
    extra = node.pop("additionalProperties", None)
    if node.get("type") == "object" and "properties" not in node:
        if isinstance(extra, dict):
            node["additionalProperties"] = _structural(extra)
        else:
            node["x-kubernetes-preserve-unknown-fields"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {name: _structural(prop) for name, prop in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _structural(value)
        elif key == "description":
            out[key] = plain_text(value)
        else:
            out[key] = value
    if out.get("required") == []:
        out.pop("required")
    return out


def openapi_schema(model: type) -> dict[str, Any]:
    """Return the structural OpenAPI v3 schema of one pydantic model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")  # type: ignore[attr-defined]
    defs = raw.get("$defs", {})
    return _structural(_resolve(raw, defs))


def crd_manifest() -> dict[str, Any]:
    """Return the complete CustomResourceDefinition for ``LiteMaaS``."""
    spec_schema = openapi_schema(LiteMaaSSpec)
    status_schema = openapi_schema(LiteMaaSStatus)
    spec_schema["description"] = "Desired state of one LiteMaaS installation."
    status_schema["description"] = "Observed state, written by the operator."
    # A CR nobody has looked at yet must not read as Current to kstatus (Flux): with a defaulted
    # observedGeneration of 0 it reads "generation 1, observed 0", i.e. InProgress.
    status_schema["default"] = {"observedGeneration": 0}
    root = {
        "type": "object",
        "description": f"{KIND} deploys and runs LiteMaaS ({API_VERSION}).",
        "x-kubernetes-validations": [
            {
                "rule": f"self.metadata.name.size() <= {NAME_MAX_LENGTH} && "
                f"self.metadata.name.matches('{NAME_PATTERN}')",
                "message": NAME_MESSAGE,
            }
        ],
        "properties": _properties(spec_schema, status_schema),
    }
    return _crd(KIND, PLURAL, SINGULAR, SHORT_NAMES, PRINTER_COLUMNS, root)


def _properties(spec_schema: dict[str, Any], status_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": spec_schema,
        "status": status_schema,
    }


def _crd(
    kind: str,
    plural: str,
    singular: str,
    short_names: list[str],
    columns: list[dict[str, Any]],
    root: dict[str, Any],
) -> dict[str, Any]:
    """A CRD of the group: one namespaced kind, one served and stored version, a status
    subresource, in the ``litemaas`` category; ``root`` is its openAPIV3Schema."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "litemaas-operator"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": short_names,
                "categories": ["litemaas"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def _column(name: str, path: str, kind: str = "string", priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


def resource_crd(
    kind: str,
    plural: str,
    singular: str,
    short_names: list[str],
    spec_model: type,
    status_model: type,
    columns: list[dict[str, Any]],
    description: str,
) -> dict[str, Any]:
    """The CRD of one more namespaced kind of the group (LiteMaaSBackup, LiteMaaSRestore).

    The spec is immutable: a backup or restore is the record of one request, not a desired
    state that could move.
    """
    spec_schema = openapi_schema(spec_model)
    status_schema = openapi_schema(status_model)
    spec_schema["x-kubernetes-validations"] = [
        {"rule": "self == oldSelf", "message": "spec is immutable; create a new object instead"}
    ]
    status_schema["description"] = "Observed state, written by the operator."
    root = {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": _properties(spec_schema, status_schema),
    }
    return _crd(kind, plural, singular, short_names, columns, root)


def backup_crd_manifest() -> dict[str, Any]:
    """The CRD of ``LiteMaaSBackup``."""
    return resource_crd(
        backup.BACKUP_KIND,
        backup.BACKUP_PLURAL,
        backup.BACKUP_SINGULAR,
        backup.BACKUP_SHORT_NAMES,
        backup.LiteMaaSBackupSpec,
        backup.LiteMaaSBackupStatus,
        [
            _column("Instance", ".spec.instance"),
            _column("Reason", ".spec.reason"),
            _column("Phase", ".status.phase"),
            _column("Completed", ".status.completionTime", "date", priority=1),
            _column("Message", ".status.message", priority=1),
            _column("Age", ".metadata.creationTimestamp", "date"),
        ],
        f"{backup.BACKUP_KIND} is one pg_dump backup of a LiteMaaS instance's two databases "
        f"({API_VERSION}).",
    )


def restore_crd_manifest() -> dict[str, Any]:
    """The CRD of ``LiteMaaSRestore``."""
    return resource_crd(
        backup.RESTORE_KIND,
        backup.RESTORE_PLURAL,
        backup.RESTORE_SINGULAR,
        backup.RESTORE_SHORT_NAMES,
        backup.LiteMaaSRestoreSpec,
        backup.LiteMaaSRestoreStatus,
        [
            _column("Instance", ".spec.instance"),
            _column("Backup", ".spec.backup"),
            _column("Phase", ".status.phase"),
            _column("Message", ".status.message", priority=1),
            _column("Age", ".metadata.creationTimestamp", "date"),
        ],
        f"{backup.RESTORE_KIND} loads a LiteMaaSBackup into its instance, with the backend, "
        f"LiteLLM and Redis stopped meanwhile ({API_VERSION}).",
    )


def crd_manifests() -> list[dict[str, Any]]:
    """Every CRD of the group: LiteMaaS, LiteMaaSBackup, LiteMaaSRestore."""
    return [crd_manifest(), backup_crd_manifest(), restore_crd_manifest()]


def crd_filename(crd: dict[str, Any]) -> str:
    """``<group>_<plural>.yaml``, the file name of a CRD in crds/ and the OLM bundle."""
    return f"{crd['spec']['group']}_{crd['spec']['names']['plural']}.yaml"
