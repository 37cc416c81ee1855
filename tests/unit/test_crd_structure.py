"""The generated CRD is a structural schema the API server accepts, with the columns users see.

The authoritative check is creating it on a real API server (tests/integration); these rules are
the ones from the Kubernetes docs ("Specifying a structural schema") that can fail offline.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
import yaml
from pydantic import BaseModel, Field
from rendering import CRD_FILE

from litemaas_operator.api.crd import crd_manifest, openapi_schema

INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]
ALLOWED_KEYS = {
    "type",
    "description",
    "properties",
    "items",
    "additionalProperties",
    "required",
    "enum",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "nullable",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
}


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    return crd_manifest()


@pytest.fixture(scope="module")
def version(crd) -> dict[str, Any]:
    [only] = crd["spec"]["versions"]
    return only


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path."""
    yield path or ".", schema
    for name, prop in schema.get("properties", {}).items():
        yield from nodes(prop, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


def all_nodes(version: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(nodes(version["schema"]["openAPIV3Schema"]))


def test_committed_file_is_the_generated_one(crd):
    committed = yaml.safe_load(CRD_FILE.read_text())
    assert committed == crd


def test_identity(crd):
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "litemaases.litemaas.io"
    assert spec["group"] == "litemaas.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "LiteMaaS"
    assert spec["names"]["plural"] == "litemaases"
    assert "lmaas" in spec["names"]["shortNames"]
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


def keys_anywhere(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from keys_anywhere(value)
    elif isinstance(node, list):
        for item in node:
            yield from keys_anywhere(item)


def test_no_refs_or_pydantic_leftovers(version):
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
    del schema["properties"]["status"]["default"]  # the one deliberate default, checked below
    leftovers = {"$ref", "$defs", "title", "default", "oneOf", "allOf", "const", "examples"}
    for key, value in keys_anywhere(schema):
        assert key not in leftovers or (key == "title" and isinstance(value, dict)), key
        assert not (key == "type" and value == "null")


def test_every_node_is_typed(version):
    for path, node in all_nodes(version):
        allowed = ALLOWED_KEYS | ({"default"} if path == ".status" else set())
        assert set(node) <= allowed, f"{path}: unexpected keys {set(node) - allowed}"
        if node.get("x-kubernetes-int-or-string"):
            assert "type" not in node, path
            assert node.get("anyOf") == INT_OR_STRING, path
            continue
        assert "anyOf" not in node, f"{path}: anyOf is only allowed for int-or-string"
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        if node.get("type") == "object" and "properties" in node:
            assert "additionalProperties" not in node, (
                f"{path}: properties and additionalProperties"
            )
        if node.get("type") == "array":
            assert isinstance(node.get("items"), dict), f"{path}: array without items"
        for required in node.get("required", []):
            assert required in node.get("properties", {}), f"{path}: required {required} unknown"


def test_free_form_objects_are_marked(version):
    by_path = dict(all_nodes(version))
    # extraVolumes entries declare every volume source (CEL sees only declared fields); the
    # content of each source is free-form.
    for path in (
        ".spec.backend.affinity",
        ".spec.litellm.extraVolumes[].configMap",
        ".status.kopf",
    ):
        assert by_path[path].get("x-kubernetes-preserve-unknown-fields") is True, path


def test_status_subresource_and_conditions(version):
    assert version["subresources"] == {"status": {}}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) >= {
        "type",
        "status",
        "reason",
        "lastTransitionTime",
    }
    assert {"observedGeneration", "phase", "version", "urls"} <= status["properties"].keys()


def test_printer_columns(version):
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    default_columns = [
        c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")
    ]
    assert default_columns == ["Ready", "Version", "URL", "Age"]
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Version"]["jsonPath"] == ".status.version"
    assert columns["URL"]["jsonPath"] == ".status.urls.frontend"
    assert columns["Age"] == {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
    }


def test_defaults_stay_out_of_the_schema(version):
    # The operator's defaults must not be persisted into every CR by the API server. The one
    # exception is a marker: a status nobody wrote yet reads observedGeneration 0, so kstatus
    # (Flux) sees "generation 1, observed 0" instead of Current.
    defaulted = {path: node["default"] for path, node in all_nodes(version) if "default" in node}
    assert defaulted == {".status": {"observedGeneration": 0}}


def test_enums_patterns_and_ranges_are_exposed(version):
    by_path = dict(all_nodes(version))
    assert by_path[".spec.platform"]["enum"] == ["auto", "openshift", "kubernetes"]
    assert by_path[".spec.auth.mode"]["enum"] == ["oauthclient", "serviceaccount", "oidc"]
    assert by_path[".spec.backend.replicas"]["minimum"] == 0
    assert by_path[".spec.backend.replicas"]["maximum"] == 20
    assert "pattern" in by_path[".spec.version"]
    # Images are checked by a CEL rule with a message a person understands, not a bare pattern.
    assert any(
        "tag or digest" in r["message"]
        for r in by_path[".spec.backend.image"]["x-kubernetes-validations"]
    )
    rules = [
        rule["rule"]
        for _, node in all_nodes(version)
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert any(":latest" in r for r in rules)
    assert any("has(self.external)" in r for r in rules)
    assert any("has(self.oidc)" in r for r in rules)
    assert any("metadata.name" in r for r in rules)


def test_cel_rules_guard_optional_fields(version):
    # A CEL rule reading an optional field it has not checked with has() fails with
    # "no such key" on every object that leaves the field out.
    for path, node in all_nodes(version):
        optional = set(node.get("properties", {})) - set(node.get("required", []))
        for rule in node.get("x-kubernetes-validations", []):
            text = rule["rule"]
            for field in optional - {"metadata"}:  # the API server always sets metadata
                if re.search(rf"self\.{field}\b", text) and f"has(self.{field})" not in text:
                    pytest.fail(f"{path}: rule {text!r} reads optional {field} without has()")
            assert rule["message"], path


class _Quantities(BaseModel):
    """The shapes pydantic nests unions in: Optional around an annotated int | str."""

    size: Annotated[int | str, Field(json_schema_extra={"pattern": "^[0-9]+$"})] | None = None
    sizes: dict[str, Annotated[int | str, Field(description="q")]] | None = None
    items: list[int | str] | None = None


@pytest.mark.parametrize("path", [".size", ".sizes{}", ".items[]"])
def test_nested_optional_int_or_string_becomes_int_or_string(path):
    schema = dict(nodes(openapi_schema(_Quantities)))
    node = schema[path]
    assert node.get("x-kubernetes-int-or-string") is True, node
    assert node["anyOf"] == INT_OR_STRING
    assert "type" not in node


def test_unions_that_are_not_int_or_string_are_refused():
    class Mixed(BaseModel):
        value: int | list[str]

    with pytest.raises(ValueError, match="union"):
        openapi_schema(Mixed)


def test_every_spec_field_says_what_it_does_in_plain_text():
    """`kubectl explain` shows these: each field has one, with no reStructuredText markup."""
    from litemaas_operator.api.crd import crd_manifest

    spec = crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    missing, markup = [], []

    def walk(node: dict, path: str) -> None:
        for key, prop in (node.get("properties") or {}).items():
            here = f"{path}.{key}"
            text = prop.get("description") or ""
            (markup if "``" in text or ":class:" in text else missing if not text else []).append(
                here
            )
            walk(prop, here)
            if isinstance(prop.get("items"), dict):
                walk(prop["items"], here + "[]")

    walk(spec, "spec")
    assert missing == [] and markup == []
