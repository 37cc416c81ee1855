"""Secrets: the credentials store and the per-component Secrets derived from it.

The derived Secrets hold what each application reads (database URLs with URL-encoded passwords,
derived URLs); they are fully owned by the operator and re-rendered on every change, while the
store (``<name>-credentials``) is created once and never rewritten.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..facts import Instance
from .names import RETAIN_LABEL, Component, Names, labels

DB_USER = "litemaas_admin"
LITEMAAS_DB = "litemaas_db"
LITELLM_DB = "litellm_db"


def secret(
    instance: Instance,
    name: str,
    component: Component,
    version: str,
    data: Mapping[str, str],
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An Opaque Secret with base64 ``data`` (not ``stringData``, which never reads back equal)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": instance.namespace,
            "labels": {**labels(instance, component, version), **(extra_labels or {})},
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())},
    }


def credentials_store(
    instance: Instance, name: str, version: str, values: Mapping[str, str], retain: bool
) -> dict[str, Any]:
    """The Secret holding generated credentials; retained with the database unless opted out."""
    extra = {RETAIN_LABEL: "true"} if retain else {}
    return secret(instance, name, "credentials", version, values, extra)


def database_url(password: str, host: str, database: str, *, sslmode_disable: bool) -> str:
    """A PostgreSQL URL with the password URL-encoded (upstream inserted it raw)."""
    url = f"postgresql://{DB_USER}:{quote(password, safe='')}@{host}:5432/{database}"
    return url + ("?sslmode=disable" if sslmode_disable else "")


def decode(data: Mapping[str, str] | None) -> dict[str, str]:
    """Decode a Secret's base64 ``data`` map."""
    return {k: base64.b64decode(v).decode() for k, v in (data or {}).items()}


# The derived Secrets that also carry a copy of the config-hash key, under this data key. No pod
# reads it (each env var names its key); it is there so that a lost credentials store can be
# rebuilt with the same key (recovery.py) instead of re-keying, and so rolling, every pod.
HASH_KEY_COPY = "config-hash-key"


def hash_key_carriers(names: Names) -> tuple[str, ...]:
    """The Secrets that carry ``HASH_KEY_COPY``: the database's, the backend's and LiteLLM's."""
    return (names.postgres, names.backend, names.litellm)


def carry_hash_key(
    objects: list[dict[str, Any]], carriers: tuple[str, ...], key: str | None
) -> list[dict[str, Any]]:
    """``objects`` with ``key`` added to the carriers' data.

    Added after rendering, so the pod-template hashes (computed over each Secret's data by its
    builder) do not cover it: copying the key in changes no annotation and rolls no pod.
    """
    if not key:
        return objects
    encoded = base64.b64encode(key.encode()).decode()
    out = []
    for obj in objects:
        if obj["kind"] == "Secret" and obj["metadata"]["name"] in carriers:
            obj = {**obj, "data": {**obj["data"], HASH_KEY_COPY: encoded}}
        out.append(obj)
    return out
