"""litellm.extraVolumes in the CRD: every core/v1 volume source declared, restricted ones only."""

from __future__ import annotations

from typing import Any

from kubernetes.client import V1Volume

from litemaas_operator.api.crd import crd_manifest
from litemaas_operator.api.spec import RESTRICTED_VOLUME_SOURCES, VOLUME_SOURCES


def volume_schema() -> dict[str, Any]:
    """The CRD schema of one extraVolumes entry."""
    root = crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    field = root["properties"]["spec"]["properties"]["litellm"]["properties"]["extraVolumes"]
    assert field["maxItems"] == 32  # bounds the CEL cost estimate
    return field["items"]


def test_volume_sources_are_those_of_the_kubernetes_api():
    # CEL sees only declared fields: a source missing here would slip past the rule unseen
    # (pruned, or refused as unknown under strict field validation).
    assert set(V1Volume.attribute_map.values()) - {"name"} == VOLUME_SOURCES
    assert RESTRICTED_VOLUME_SOURCES < VOLUME_SOURCES


def test_every_source_is_declared_free_form_and_nothing_else_is_kept():
    schema = volume_schema()
    assert set(schema["properties"]) == VOLUME_SOURCES | {"name"}
    assert schema["required"] == ["name"]
    assert "x-kubernetes-preserve-unknown-fields" not in schema
    for source in VOLUME_SOURCES:
        assert schema["properties"][source]["x-kubernetes-preserve-unknown-fields"] is True


def test_the_rule_refuses_exactly_the_sources_restricted_does_not_admit():
    sources_rule, one_rule = volume_schema()["x-kubernetes-validations"]
    for source in VOLUME_SOURCES:
        assert (f"!has(self.{source})" in sources_rule["rule"]) is (
            source not in RESTRICTED_VOLUME_SOURCES
        ), source
    assert "hostPath" in sources_rule["message"]
    assert all(s in sources_rule["message"] for s in RESTRICTED_VOLUME_SOURCES)
    assert all(f"has(self.{s})" in one_rule["rule"] for s in VOLUME_SOURCES)
    assert one_rule["rule"].endswith(".filter(x, x).size() == 1")
