"""Invalid specs are refused with an error that names the field and says what is wrong.

Each case is checked twice: by the model (``LiteMaaSSpec.model_validate``, what the reconciler
uses) and by ``litemaas-operator render`` (exit code 2, the field path on stderr).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.cli import EXIT_INVALID, main

OIDC = {
    "issuer": "https://sso.example.com/realms/ai",
    "clientId": "litemaas",
    "clientSecret": {"name": "oidc", "key": "secret"},
}

# (id, spec, field path under spec, words the message must contain)
INVALID = [
    ("unknown-field", {"replica": 1}, "replica", "Extra inputs are not permitted"),
    (
        "snake-case-name",
        {"network_policy": {"enabled": True}},
        "network_policy",
        "Extra inputs are not permitted",
    ),
    (
        "unknown-nested-field",
        {"database": {"storage": {"sizeGi": 10}}},
        "database.storage.sizeGi",
        "Extra inputs",
    ),
    ("string-for-int", {"backend": {"replicas": "3"}}, "backend.replicas", "valid integer"),
    ("two-backends", {"backend": {"replicas": 2}}, "backend", "OAuth login state in memory"),
    (
        "passthrough-allows-http",
        {
            "routing": {
                "frontend": {
                    "tls": {"termination": "passthrough", "insecureEdgeTerminationPolicy": "Allow"}
                }
            }
        },
        "routing.frontend.tls",
        "passthrough Routes cannot Allow plain HTTP",
    ),
    (
        "passthrough-with-certificate",
        {
            "routing": {
                "frontend": {"tls": {"termination": "passthrough", "certificateSecretName": "c"}}
            }
        },
        "routing.frontend.tls",
        "passthrough Routes carry no certificate",
    ),
    ("bad-timeout", {"routing": {"litellm": {"timeout": "10 min"}}}, "routing.litellm.timeout", ""),
    ("string-for-bool", {"redis": {"enabled": "yes"}}, "redis.enabled", "valid boolean"),
    (
        "replicas-too-high",
        {"litellm": {"replicas": 21}},
        "litellm.replicas",
        "less than or equal to 20",
    ),
    (
        "replicas-negative",
        {"frontend": {"replicas": -1}},
        "frontend.replicas",
        "greater than or equal to 0",
    ),
    ("bad-platform", {"platform": "eks"}, "platform", "'auto', 'openshift' or 'kubernetes'"),
    ("version-not-semver", {"version": "latest"}, "version", "'latest'"),
    ("version-build-metadata", {"version": "0.5.0+build.1"}, "version", "'0.5.0+build.1'"),
    ("version-huge", {"version": "1.2.3-" + "a" * 80}, "version", "at most 63 characters"),
    (
        "image-latest",
        {"backend": {"image": "quay.io/acme/backend:latest"}},
        "backend.image",
        "':latest' is not allowed",
    ),
    (
        "image-untagged",
        {"frontend": {"image": "quay.io/acme/frontend"}},
        "frontend.image",
        "an image needs a tag or digest",
    ),
    (
        "size-in-gb",
        {"database": {"storage": {"size": "10GB"}}},
        "database.storage.size",
        "10GB is not one, write 10G or 10Gi",
    ),
    (
        "external-database-without-secret",
        {"database": {"mode": "external"}},
        "database",
        "database.external",
    ),
    ("database-two-replicas", {"database": {"replicas": 2}}, "database", "one instance"),
    ("oidc-without-settings", {"auth": {"mode": "oidc"}}, "auth", "auth.oidc"),
    (
        "oidc-issuer-not-a-url",
        {"auth": {"mode": "oidc", "oidc": {**OIDC, "issuer": "sso.example.com"}}},
        "auth.oidc.issuer",
        "'sso.example.com'",
    ),
    (
        "oidc-without-client-secret",
        {"auth": {"oidc": {k: v for k, v in OIDC.items() if k != "clientSecret"}}},
        "auth.oidc.clientSecret",
        "Field required",
    ),
    ("bad-auth-mode", {"auth": {"mode": "ldap"}}, "auth.mode", "'oauthclient', 'serviceaccount'"),
    (
        "secret-ref-bad-name",
        {"secrets": {"jwtSecret": {"name": "My_Secret", "key": "jwt"}}},
        "secrets.jwtSecret.name",
        "'My_Secret'",
    ),
    (
        "secret-ref-without-key",
        {"secrets": {"jwtSecret": {"name": "mine"}}},
        "secrets.jwtSecret.key",
        "Field required",
    ),
    (
        "secret-ref-bad-key",
        {"secrets": {"redisPassword": {"name": "mine", "key": "a/b"}}},
        "secrets.redisPassword.key",
        "'a/b'",
    ),
    (
        "external-database-bad-key",
        {
            "database": {
                "mode": "external",
                "external": {"secretName": "db", "litellmUrlKey": "a b"},
            }
        },
        "database.external.litellmUrlKey",
        "'a b'",
    ),
    (
        "bad-quantity",
        {"backend": {"resources": {"limits": {"memory": "lots"}}}},
        "backend.resources.limits.memory",
        "not a Kubernetes quantity",
    ),
    (
        "negative-storage",
        {"database": {"storage": {"size": -5}}},
        "database.storage.size",
        "must not be negative",
    ),
    (
        "quantity-with-garbage",
        {"database": {"storage": {"size": "10Gi5"}}},
        "database.storage.size",
        "not a Kubernetes quantity",
    ),
    (
        "huge-username",
        {"litellm": {"uiUsername": "a" * 200}},
        "litellm.uiUsername",
        "at most 128 characters",
    ),
    ("huge-domain", {"domain": "a." * 200 + "io"}, "domain", "at most 253 characters"),
    ("uppercase-domain", {"domain": "Apps.Example.com"}, "domain", "'Apps.Example.com'"),
    ("bad-log-level", {"backend": {"logLevel": "verbose"}}, "backend.logLevel", "'info'"),
    (
        "bad-duration",
        {"backend": {"rateLimit": {"timeWindow": "5 minutes"}}},
        "backend.rateLimit.timeWindow",
        "'5 minutes'",
    ),
    (
        "rate-limit-zero",
        {"backend": {"rateLimit": {"max": 0}}},
        "backend.rateLimit.max",
        "greater than or equal to 1",
    ),
    (
        "negative-budget",
        {"backend": {"defaultUser": {"maxBudget": -1}}},
        "backend.defaultUser.maxBudget",
        "greater than or equal to 0",
    ),
    (
        "infinite-budget",
        {"backend": {"defaultUser": {"maxBudget": float("inf")}}},
        "backend.defaultUser.maxBudget",
        "finite number",
    ),
    ("member-with-comma", {"groups": {"admins": ["a,b"]}}, "groups.admins.0", "'a,b'"),
    (
        "env-value-and-value-from",
        {"backend": {"extraEnv": [{"name": "A", "value": "1", "valueFrom": {"x": {}}}]}},
        "backend.extraEnv.0",
        "not both",
    ),
    (
        "env-bad-name",
        {"backend": {"extraEnv": [{"name": "1 A"}]}},
        "backend.extraEnv.0.name",
        "'1 A'",
    ),
    (
        "toleration-exists-with-value",
        {"redis": {"tolerations": [{"operator": "Exists", "value": "x"}]}},
        "redis.tolerations.0",
        "must not set a value",
    ),
    (
        "toleration-bad-effect",
        {"redis": {"tolerations": [{"effect": "Evict"}]}},
        "redis.tolerations.0.effect",
        "'NoSchedule'",
    ),
    (
        "host-path-volume",
        {"litellm": {"extraVolumes": [{"name": "h", "hostPath": {"path": "/"}}]}},
        "litellm.extraVolumes",
        "restricted Pod Security Standard",
    ),
    (
        "bad-routing-type",
        {"routing": {"type": "gateway"}},
        "routing.type",
        "'auto', 'route' or 'ingress'",
    ),
    (
        "host-with-scheme",
        {"routing": {"frontend": {"host": "https://ai.example.com"}}},
        "routing.frontend.host",
        "'https://ai.example.com'",
    ),
    (
        "litellm-url-not-http",
        {"backend": {"litellmApiUrl": "ftp://litellm"}},
        "backend.litellmApiUrl",
        "'ftp://litellm'",
    ),
    (
        "node-selector-not-strings",
        {"backend": {"nodeSelector": {"zone": 1}}},
        "backend.nodeSelector.zone",
        "valid string",
    ),
    (
        "annotations-not-a-map",
        {"routing": {"ingress": {"annotations": ["a"]}}},
        "routing.ingress.annotations",
        "valid dictionary",
    ),
    (
        "too-many-env",
        {"frontend": {"extraEnv": [{"name": "A"}] * 65}},
        "frontend.extraEnv",
        "at most 64",
    ),
]
IDS = [case[0] for case in INVALID]
CASES = [case[1:] for case in INVALID]


def test_the_table_is_big_enough():
    assert len(INVALID) >= 15
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize(("spec", "path", "words"), CASES, ids=IDS)
def test_model_rejects(spec: dict[str, Any], path: str, words: str):
    with pytest.raises(ValidationError) as caught:
        LiteMaaSSpec.model_validate(spec)
    # The message says what is wrong; for patterns, the rejected value names it.
    errors = {
        ".".join(map(str, e["loc"])): f"{e['msg']} (got {e['input']!r})"
        for e in caught.value.errors()
    }
    assert path in errors, f"expected an error at {path}, got {errors}"
    assert words in errors[path]


@pytest.mark.parametrize(("spec", "path", "words"), CASES, ids=IDS)
def test_render_rejects_with_exit_code_2(capsys, tmp_path, spec, path, words):
    cr = {
        "apiVersion": "litemaas.io/v1alpha1",
        "kind": "LiteMaaS",
        "metadata": {"name": "litemaas"},
        "spec": spec,
    }
    file = tmp_path / "cr.yaml"
    file.write_text(yaml.safe_dump(cr))
    assert main(["render", "-f", str(file), "--domain", "apps.example.com"]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    line = next((x for x in err.splitlines() if x.startswith(f"spec.{path}:")), None)
    assert line is not None, f"no line for spec.{path} in:\n{err}"
    assert words in line


@pytest.mark.parametrize(
    "name",
    ["a" * 41, "Litemaas", "1litemaas", "lite_maas", "litemaas-"],
)
def test_render_rejects_names_the_crd_rejects(capsys, tmp_path, name):
    file = tmp_path / "cr.yaml"
    file.write_text(
        yaml.safe_dump(
            {"apiVersion": "litemaas.io/v1alpha1", "kind": "LiteMaaS", "metadata": {"name": name}}
        )
    )
    assert main(["render", "-f", str(file)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "metadata.name" in err and "at most 40 characters" in err and repr(name) in err


def test_valid_edge_values_are_accepted():
    # Guards against a table that passes because everything is rejected.
    spec = LiteMaaSSpec.model_validate(
        {
            "version": "v1.0.0-rc.1",
            "domain": "a" * 63 + ".io",
            "backend": {
                "replicas": 1,
                "resources": {"limits": {"cpu": 2, "memory": "1.5Gi"}, "requests": {"cpu": ".5"}},
                "defaultUser": {"maxBudget": 0, "rpmLimit": 0},
                "extraEnv": [{"name": "A"}] * 64,
            },
            "database": {"replicas": 0, "storage": {"size": "1e3"}},
            "litellm": {
                "uiUsername": "a" * 128,
                "image": "registry:5000/litellm@sha256:" + "0" * 64,
            },
            "redis": {"tolerations": [{"operator": "Exists"}]},
        }
    )
    assert spec.backend.replicas == 1
