"""The pod-template config hash is keyed: it says nothing testable about the Secrets it covers."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from rendering import CREDENTIALS, INSTANCE, find, render

from litemaas_operator import credentials
from litemaas_operator.render.names import CONFIG_HASH
from litemaas_operator.render.pods import config_hash

CR = INSTANCE.name
# (kind, name, the Secret whose data the hash covers); the StatefulSet's covers its init too.
WORKLOADS = [
    ("Deployment", f"{CR}-backend", f"{CR}-backend"),
    ("Deployment", f"{CR}-litellm", f"{CR}-litellm"),
    ("Deployment", f"{CR}-redis", f"{CR}-redis"),
    ("StatefulSet", f"{CR}-postgres", f"{CR}-postgres"),
]
ALL_WORKLOADS = [(kind, name) for kind, name, _ in WORKLOADS]


def annotation(objects: list[dict[str, Any]], kind: str, name: str) -> str | None:
    """The config-hash annotation of a workload's pod template."""
    template = find(objects, kind, name)["spec"]["template"]
    return template["metadata"].get("annotations", {}).get(CONFIG_HASH)


def plain_sha256(*inputs: Any) -> str:
    """What the annotation used to be: an unkeyed digest, open to offline guessing."""
    blob = json.dumps(inputs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def with_key(key: str) -> list[dict[str, Any]]:
    """Render the default spec with ``key`` as the config-hash key."""
    return render({}, credentials={**CREDENTIALS, "config-hash-key": key}).objects


@pytest.mark.parametrize(("kind", "name", "secret"), WORKLOADS, ids=lambda v: str(v))
def test_the_annotation_is_not_a_plain_digest_of_the_secret(kind, name, secret):
    objects = render({}).objects
    data = find(objects, "Secret", secret)["data"]
    value = annotation(objects, kind, name)
    assert value and len(value) == 32
    assert value != plain_sha256(data)
    if kind == "StatefulSet":
        init = find(objects, "ConfigMap", f"{CR}-postgres-init")["data"]
        assert value != plain_sha256(data, init)


@pytest.mark.parametrize(("kind", "name"), ALL_WORKLOADS, ids=lambda v: str(v))
def test_a_different_key_gives_a_different_annotation(kind, name):
    first = credentials.CONFIG_HASH_KEY.generate()
    second = credentials.CONFIG_HASH_KEY.generate()
    assert annotation(with_key(first), kind, name) != annotation(with_key(second), kind, name)


@pytest.mark.parametrize(("kind", "name"), ALL_WORKLOADS, ids=lambda v: str(v))
def test_the_same_key_gives_the_same_annotation(kind, name):
    key = credentials.CONFIG_HASH_KEY.generate()
    assert annotation(with_key(key), kind, name) == annotation(with_key(key), kind, name)


def test_the_hash_is_hmac_sha256_under_the_key():
    blob = json.dumps(({"a": "b"},), sort_keys=True, default=str).encode()
    expected = hmac.new(b"k" * 32, blob, hashlib.sha256).hexdigest()[:32]
    assert config_hash("k" * 32, {"a": "b"}) == expected
    assert config_hash("k" * 32, {"a": "b"}) != plain_sha256({"a": "b"})


def test_without_the_key_the_workloads_wait_instead_of_hashing_unkeyed():
    values = {k: v for k, v in CREDENTIALS.items() if k != "config-hash-key"}
    state = render({}, credentials=values)
    waiting = {(p.kind, p.reason) for p in state.problems}
    assert ("waiting", "WaitingForCredentials") in waiting
    for kind, name in ALL_WORKLOADS:
        assert annotation(state.objects, kind, name) is None


def test_the_key_is_generated_once_like_every_credential():
    key = credentials.CONFIG_HASH_KEY
    assert key in credentials.INTERNAL and key not in credentials.ALL
    assert key.key == "config-hash-key"
    assert len(key.generate()) >= 43  # 32 random bytes, URL-safe base64
