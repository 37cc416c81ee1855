"""Routes and Ingresses that work in production: TLS, router timeouts, annotations."""

from __future__ import annotations

from typing import Any

from rendering import INSTANCE, KUBERNETES_BASE, find, render

FRONTEND, LITELLM = INSTANCE.name, f"{INSTANCE.name}-litellm"


def objects(spec: dict[str, Any], platform: str) -> list[dict[str, Any]]:
    state = render(spec, platform)
    assert state.problems == []
    return state.objects


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def test_litellm_route_outlives_the_routers_default_timeout():
    objs = objects({}, "openshift")
    assert annotations(find(objs, "Route", LITELLM))["haproxy.router.openshift.io/timeout"] == "10m"
    assert "haproxy.router.openshift.io/timeout" not in annotations(find(objs, "Route", FRONTEND))


def test_timeouts_and_annotations_are_the_users_to_set():
    spec = {
        "routing": {
            "frontend": {"timeout": "90s", "annotations": {"a.example.com/x": "1"}},
            "litellm": {"annotations": {"haproxy.router.openshift.io/timeout": "30m"}},
        }
    }
    objs = objects(spec, "openshift")
    assert annotations(find(objs, "Route", FRONTEND)) == {
        "haproxy.router.openshift.io/timeout": "90s",
        "a.example.com/x": "1",
    }
    # An explicit annotation wins over the operator's default.
    assert annotations(find(objs, "Route", LITELLM))["haproxy.router.openshift.io/timeout"] == "30m"


def test_route_tls_termination_is_configurable():
    default = find(objects({}, "openshift"), "Route", FRONTEND)["spec"]["tls"]
    assert default == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    spec = {"routing": {"litellm": {"tls": {"termination": "reencrypt",
                                            "insecureEdgeTerminationPolicy": "None"}}}}  # fmt: skip
    tls = find(objects(spec, "openshift"), "Route", LITELLM)["spec"]["tls"]
    assert tls == {"termination": "reencrypt", "insecureEdgeTerminationPolicy": "None"}


def test_each_ingress_host_gets_its_own_tls_secret_by_default():
    spec = {**KUBERNETES_BASE, "routing": {"ingress": {"className": "nginx"}}}
    objs = objects(spec, "kubernetes")
    for name in (FRONTEND, LITELLM):
        ingress = find(objs, "Ingress", name)
        host = ingress["spec"]["rules"][0]["host"]
        assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": f"{name}-tls"}]


def test_a_shared_tls_secret_and_cert_manager_annotations():
    spec = {
        **KUBERNETES_BASE,
        "routing": {
            "ingress": {
                "tlsSecretName": "wildcard",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
            }
        },
    }
    objs = objects(spec, "kubernetes")
    for name in (FRONTEND, LITELLM):
        ingress = find(objs, "Ingress", name)
        assert ingress["spec"]["tls"][0]["secretName"] == "wildcard"
        assert annotations(ingress)["cert-manager.io/cluster-issuer"] == "letsencrypt"


def test_litellm_ingress_gets_nginx_timeouts_in_seconds():
    objs = objects(KUBERNETES_BASE, "kubernetes")
    litellm = annotations(find(objs, "Ingress", LITELLM))
    assert litellm["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "600"
    assert litellm["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "600"
    assert "nginx.ingress.kubernetes.io/proxy-read-timeout" not in annotations(
        find(objs, "Ingress", FRONTEND)
    )


def test_no_tls_no_tls_block():
    spec = {**KUBERNETES_BASE, "routing": {"ingress": {"tls": False}}}
    assert "tls" not in find(objects(spec, "kubernetes"), "Ingress", FRONTEND)["spec"]


def test_a_custom_host_serves_its_certificate_from_a_secret():
    spec = {
        "routing": {
            "frontend": {
                "host": "ai.example.com",
                "tls": {"certificateSecretName": "ai-example-com-tls"},
            }
        }
    }
    route = find(objects(spec, "openshift"), "Route", FRONTEND)
    assert route["spec"]["host"] == "ai.example.com"
    assert route["spec"]["tls"]["externalCertificate"] == {"name": "ai-example-com-tls"}
