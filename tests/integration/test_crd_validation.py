"""The CRD on a real API server: it installs, accepts good CRs, and explains bad ones.

Each malformed CR is sent with a server-side dry run and strict field validation (as
``kubectl`` does by default), and must be refused with a message that names the field and says
what is wrong. The same spec is also refused by the pydantic model, so ``render`` and the
reconciler never accept what the API server refuses, and vice versa for the good ones.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from litemaas_operator.api import LiteMaaSSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
CRD_NAME = "litemaases.litemaas.io"
SAMPLES = sorted((ROOT / "manifests" / "samples").glob("*.yaml"))
OIDC = {
    "issuer": "https://sso.example.com/realms/ai",
    "clientId": "litemaas",
    "clientSecret": {"name": "oidc", "key": "client-secret"},
}


@pytest.fixture(scope="module")
def crd(cluster) -> None:
    """The CRD from crds/, server-side applied and Established on this cluster."""
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=litemaas-tests",
        "-f", str(CRD_DIR),
    )  # fmt: skip
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")


def cr(spec: dict[str, Any] | None = None, name: str = "litemaas") -> dict[str, Any]:
    return {
        "apiVersion": "litemaas.io/v1alpha1",
        "kind": "LiteMaaS",
        "metadata": {"name": name},
        "spec": spec or {},
    }


def dry_run_create(cluster, namespace: str, body: dict[str, Any]) -> subprocess.CompletedProcess:
    return cluster.kubectl(
        "create", "--dry-run=server", "--validate=strict", "-n", namespace, "-o", "yaml",
        "-f", "-", input=yaml.safe_dump(body), check=False,
    )  # fmt: skip


def test_crd_is_established_with_status_and_columns(cluster, crd):
    live = yaml.safe_load(cluster.kubectl("get", "crd", CRD_NAME, "-o", "yaml").stdout)
    conditions = {c["type"]: c["status"] for c in live["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    assert conditions.get("NonStructuralSchema", "False") == "False"
    [version] = live["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")] == [
        "Ready",
        "Version",
        "URL",
        "Age",
    ]
    assert "lmaas" in live["spec"]["names"]["shortNames"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_samples_are_accepted(cluster, crd, namespace, sample):
    result = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "--validate=strict", "-n", namespace,
        "-f", str(sample), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


VALID = [
    ("empty", {}),
    ("database-without-mode", {"database": {"storage": {"size": "20Gi", "storageClassName": "x"}}}),
    (
        "external-database",
        {"database": {"mode": "external", "external": {"secretName": "pg", "litellmUrlKey": "u"}}},
    ),
    (
        "oidc",
        {
            "platform": "kubernetes",
            "domain": "a.example.com",
            "auth": {"mode": "oidc", "oidc": OIDC},
        },
    ),
    ("oidc-without-mode", {"auth": {"oidc": OIDC}}),
    (
        "restricted-volumes",
        {
            "litellm": {
                "extraVolumes": [
                    {
                        "name": "ca",
                        "configMap": {"name": "ca", "items": [{"key": "a", "path": "a"}]},
                    },
                    {"name": "tls", "secret": {"secretName": "tls", "defaultMode": 288}},
                    {"name": "scratch", "emptyDir": {}},
                    {
                        "name": "token",
                        "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]},
                    },
                ]
            }
        },
    ),
    (
        "scheduling",
        {
            "backend": {
                "replicas": 0,
                "image": "registry.example.com:5000/backend@sha256:" + "a" * 64,
                "resources": {"requests": {"cpu": "100m", "memory": 1073741824}},
                "tolerations": [{"operator": "Exists"}, {"key": "k", "value": "v"}],
                "affinity": {"nodeAffinity": {}},
                "extraEnv": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                ],
            }
        },
    ),
    (
        "everything-else",
        {
            "version": "v0.6.0-rc.1",
            "redis": {"enabled": False},
            "litellm": {
                "expose": False,
                "sslVerify": False,
                "extraVolumes": [{"name": "ca", "configMap": {"name": "ca"}}],
                "extraVolumeMounts": [{"name": "ca", "mountPath": "/ca"}],
            },
            "groups": {"manage": True, "admins": ["alice"], "users": ["bob@example.com"]},
            "routing": {
                "type": "ingress",
                "ingress": {"className": "nginx", "annotations": {"a": "b"}},
            },
            "secrets": {"jwtSecret": {"name": "mine", "key": "jwt.secret"}},
            "networkPolicy": {"enabled": True, "ingressNamespaceSelector": {"a": "b"}},
            "backend": {"defaultUser": {"maxBudget": 12.5}, "rateLimit": {"timeWindow": "90s"}},
        },
    ),
]


@pytest.mark.parametrize("spec", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_specs_are_accepted_by_both(cluster, crd, namespace, spec):
    LiteMaaSSpec.model_validate(copy.deepcopy(spec))
    result = dry_run_create(cluster, namespace, cr(spec))
    assert result.returncode == 0, result.stderr
    # Nothing was pruned on the way in: the API server stored exactly what was sent.
    assert yaml.safe_load(result.stdout)["spec"] == spec


# (id, spec, metadata.name, words every one of which the API server's message must contain)
MALFORMED = [
    ("unknown-field", {"replica": 1}, None, ['unknown field "spec.replica"']),
    (
        "unknown-nested-field",
        {"backend": {"logLevl": "debug"}},
        None,
        ['unknown field "spec.backend.logLevl"'],
    ),
    (
        "snake-case-field",
        {"network_policy": {"enabled": True}},
        None,
        ['unknown field "spec.network_policy"'],
    ),
    (
        "string-for-integer",
        {"backend": {"replicas": "3"}},
        None,
        ["spec.backend.replicas", "must be of type integer"],
    ),
    (
        "string-for-boolean",
        {"redis": {"enabled": "yes"}},
        None,
        ["spec.redis.enabled", "must be of type boolean"],
    ),
    (
        "list-for-string",
        {"domain": ["example.com"]},
        None,
        ["spec.domain", "must be of type string"],
    ),
    (
        "replicas-too-high",
        {"litellm": {"replicas": 21}},
        None,
        ["spec.litellm.replicas", "less than or equal to 20"],
    ),
    (
        "replicas-negative",
        {"frontend": {"replicas": -1}},
        None,
        ["spec.frontend.replicas", "greater than or equal to 0"],
    ),
    (
        "bad-enum",
        {"platform": "eks"},
        None,
        ["spec.platform", 'Unsupported value: "eks"', '"openshift"'],
    ),
    (
        "bad-auth-mode",
        {"auth": {"mode": "ldap"}},
        None,
        ["spec.auth.mode", 'Unsupported value: "ldap"', '"oidc"'],
    ),
    ("bad-version", {"version": "latest"}, None, ["spec.version", '"latest"', "should match"]),
    (
        "version-build-metadata",
        {"version": "0.5.0+build.7"},
        None,
        ["spec.version", '"0.5.0+build.7"', "should match"],
    ),
    (
        "huge-string",
        {"litellm": {"uiUsername": "u" * 5000}},
        None,
        ["spec.litellm.uiUsername", "Too long", "128"],
    ),
    (
        "huge-env-value",
        {"backend": {"extraEnv": [{"name": "A", "value": "x" * 40000}]}},
        None,
        ["spec.backend.extraEnv[0].value", "Too long", "32768"],
    ),
    (
        "too-many-items",
        {"frontend": {"extraEnv": [{"name": "A"}] * 65}},
        None,
        ["spec.frontend.extraEnv", "Too many", "at most 64"],
    ),
    (
        "latest-image",
        {"backend": {"image": "quay.io/acme/backend:latest"}},
        None,
        ["spec.backend.image", "':latest' is not allowed"],
    ),
    (
        "untagged-image",
        {"frontend": {"image": "quay.io/acme/frontend"}},
        None,
        ["spec.frontend.image", "an image needs a tag or digest"],
    ),
    (
        "size-in-gb",
        {"database": {"storage": {"size": "10GB"}}},
        None,
        ["spec.database.storage.size", "10GB is not one, write 10G or 10Gi"],
    ),
    (
        "memory-in-gb",
        {"backend": {"resources": {"limits": {"memory": "2GB"}}}},
        None,
        ["spec.backend.resources.limits[memory]", "write 10G or 10Gi"],
    ),
    (
        "external-database-without-secret",
        {"database": {"mode": "external"}},
        None,
        ["spec.database", "database.external", "required when database.mode is external"],
    ),
    (
        "external-database-without-secret-name",
        {"database": {"mode": "external", "external": {}}},
        None,
        ["spec.database.external.secretName", "Required value"],
    ),
    (
        "database-two-replicas",
        {"database": {"replicas": 2}},
        None,
        ["spec.database", "runs one instance"],
    ),
    (
        "two-backends",
        {"backend": {"replicas": 2}},
        None,
        ["spec.backend", "OAuth login state in memory"],
    ),
    (
        "passthrough-with-certificate",
        {
            "routing": {
                "litellm": {"tls": {"termination": "passthrough", "certificateSecretName": "c"}}
            }
        },
        None,
        ["spec.routing.litellm.tls", "passthrough Routes carry no certificate"],
    ),
    (
        "oidc-without-settings",
        {"auth": {"mode": "oidc"}},
        None,
        ["spec.auth", "auth.oidc", "required when auth.mode is oidc"],
    ),
    (
        "oidc-issuer-not-a-url",
        {"auth": {"oidc": {**OIDC, "issuer": "sso.example.com"}}},
        None,
        ["spec.auth.oidc.issuer", "should match"],
    ),
    (
        "oidc-without-client-secret",
        {"auth": {"oidc": {k: v for k, v in OIDC.items() if k != "clientSecret"}}},
        None,
        ["spec.auth.oidc.clientSecret", "Required value"],
    ),
    (
        "secret-ref-without-key",
        {"secrets": {"jwtSecret": {"name": "mine"}}},
        None,
        ["spec.secrets.jwtSecret.key", "Required value"],
    ),
    (
        "secret-ref-bad-name",
        {"secrets": {"litellmMasterKey": {"name": "My_Secret", "key": "k"}}},
        None,
        ["spec.secrets.litellmMasterKey.name", '"My_Secret"', "should match"],
    ),
    (
        "secret-ref-bad-key",
        {"secrets": {"redisPassword": {"name": "mine", "key": "a/b"}}},
        None,
        ["spec.secrets.redisPassword.key", '"a/b"', "should match"],
    ),
    (
        "bad-quantity",
        {"backend": {"resources": {"limits": {"memory": "lots"}}}},
        None,
        ["spec.backend.resources.limits[memory]", '"lots"', "must be a Kubernetes quantity"],
    ),
    (
        "negative-quantity",
        {"database": {"storage": {"size": -5}}},
        None,
        ["spec.database.storage.size", "greater than or equal to 0"],
    ),
    (
        "env-value-and-value-from",
        {"backend": {"extraEnv": [{"name": "A", "value": "1", "valueFrom": {"x": {}}}]}},
        None,
        ["spec.backend.extraEnv[0]", "set either value or valueFrom, not both"],
    ),
    (
        "toleration-exists-with-value",
        {"redis": {"tolerations": [{"operator": "Exists", "value": "x"}]}},
        None,
        ["spec.redis.tolerations[0]", "operator Exists must not set a value"],
    ),
    (
        "node-selector-not-strings",
        {"backend": {"nodeSelector": {"zone": 1}}},
        None,
        ["spec.backend.nodeSelector.zone", "must be of type string"],
    ),
    (
        "host-with-scheme",
        {"routing": {"frontend": {"host": "https://ai.example.com"}}},
        None,
        ["spec.routing.frontend.host", "should match"],
    ),
    (
        "host-path-volume",
        {"litellm": {"extraVolumes": [{"name": "root", "hostPath": {"path": "/"}}]}},
        None,
        ["spec.litellm.extraVolumes[0]", "volume sources are limited to configMap", "hostPath"],
    ),
    (
        "host-path-beside-a-secret",
        {
            "litellm": {
                "extraVolumes": [
                    {"name": "ca", "configMap": {"name": "ca"}},
                    {"name": "x", "secret": {"secretName": "s"}, "hostPath": {"path": "/"}},
                ]
            }
        },
        None,
        [
            "spec.litellm.extraVolumes[1]",
            "volume sources are limited to configMap",
            "a volume has exactly one source",
        ],
    ),
    (
        "volume-without-source",
        {"litellm": {"extraVolumes": [{"name": "empty"}]}},
        None,
        ["spec.litellm.extraVolumes[0]", "a volume has exactly one source"],
    ),
    (
        "unknown-volume-source",
        {"litellm": {"extraVolumes": [{"name": "x", "secret": {}, "bogus": {}}]}},
        None,
        ['unknown field "spec.litellm.extraVolumes[0].bogus"'],
    ),
    ("name-too-long", {}, "a" * 41, ["metadata.name", "at most 40 characters"]),
    ("name-starts-with-digit", {}, "1litemaas", ["metadata.name", "start with a letter"]),
]


def test_the_malformed_table_is_big_enough():
    assert len(MALFORMED) >= 20
    assert len({m[0] for m in MALFORMED}) == len(MALFORMED)


@pytest.mark.parametrize(
    ("spec", "name", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_crs_are_rejected_with_a_clear_message(
    cluster, crd, namespace, spec, name, words
):
    result = dry_run_create(cluster, namespace, cr(spec, name or "litemaas"))
    assert result.returncode != 0, f"accepted:\n{result.stdout}"
    message = result.stderr
    for word in words:
        assert word in message, f"{word!r} not in the API server's message:\n{message}"
    if name is None:
        # The model refuses it too, so `render` and the reconciler agree with the API server.
        with pytest.raises(ValidationError):
            LiteMaaSSpec.model_validate(spec)


def test_nothing_was_created(cluster, crd, namespace):
    # Dry runs only: the namespace holds no LiteMaaS at all.
    listed = cluster.kubectl("get", "litemaases", "-n", namespace, "-o", "name").stdout
    assert listed.strip() == ""
