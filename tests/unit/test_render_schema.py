"""Every rendered core object is valid against the upstream Kubernetes OpenAPI schema.

``kubernetes-validate`` carries the schemas of each Kubernetes release; ``strict`` rejects fields
the schema does not declare, which catches misspelt or misplaced keys (``readOnly`` at the wrong
level, ``tolerationSeconds`` as a string...). OpenShift kinds are not in that schema and are
checked by their own tests.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml
from rendering import CRD_FILE, OPENSHIFT_KINDS, VARIATIONS, Variation

# The oldest Kubernetes release the operator supports, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.34", kubernetes_validate.latest_version()]
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def core_objects(variation: Variation) -> list[dict[str, Any]]:
    state = variation.render()
    assert state.problems == [], f"{variation.id} should render completely"
    return [o for o in state.objects if o["kind"] not in OPENSHIFT_KINDS]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_every_core_object_validates_against_the_kubernetes_schema(variation, version):
    objects = core_objects(variation)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {err.message} at {err.path}")


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_label_values_and_service_names_are_what_the_api_server_accepts(variation):
    # The schema does not check label syntax or Service name rules; the API server does.
    for obj in variation.render().objects:
        meta = obj["metadata"]
        for key, value in meta.get("labels", {}).items():
            assert LABEL_VALUE.match(value) and len(value) <= 63, (meta["name"], key, value)
        if obj["kind"] == "Service":
            assert DNS_1035.match(meta["name"]) and len(meta["name"]) <= 63


def test_the_generated_crd_validates_as_a_custom_resource_definition():
    crd = yaml.safe_load(CRD_FILE.read_text())
    kubernetes_validate.validate(crd, KUBERNETES_VERSIONS[0], strict=True)


def test_a_misplaced_field_would_be_caught():
    # Guard for the tests above: the validator really rejects what the API server would.
    obj = core_objects(VARIATIONS[0])[0]
    broken = {**obj, "metadata": {**obj["metadata"], "lables": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)
