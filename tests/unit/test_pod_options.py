"""Pull secrets for mirrors, a CA bundle the backend trusts, a writable backup volume."""

from __future__ import annotations

from rendering import INSTANCE, KUBERNETES_BASE, find, render

WORKLOADS = ("Deployment", "StatefulSet")


def pods(objs: list[dict]) -> list[dict]:
    return [o["spec"]["template"]["spec"] for o in objs if o["kind"] in WORKLOADS]


def test_image_pull_secrets_reach_every_pod():
    objs = render({"imagePullSecrets": ["mirror"]}, "openshift").objects
    assert len(pods(objs)) == 5
    assert all(p["imagePullSecrets"] == [{"name": "mirror"}] for p in pods(objs))
    assert all("imagePullSecrets" not in p for p in pods(render({}, "openshift").objects))


def test_the_backend_trusts_an_extra_ca_bundle_without_dropping_the_public_ones():
    spec = {"backend": {"caBundle": {"configMapName": "trusted-ca"}}}
    pod = find(render(spec, "openshift").objects, "Deployment", f"{INSTANCE.name}-backend")
    spec_ = pod["spec"]["template"]["spec"]
    [backend] = spec_["containers"]
    assert {"name": "NODE_EXTRA_CA_CERTS", "value": "/etc/litemaas/ca/ca-bundle.crt"} in backend[
        "env"
    ]
    assert {"name": "ca-bundle", "mountPath": "/etc/litemaas/ca", "readOnly": True} in backend[
        "volumeMounts"
    ]
    assert {
        "name": "ca-bundle",
        "configMap": {
            "name": "trusted-ca",
            "items": [{"key": "ca-bundle.crt", "path": "ca-bundle.crt"}],
        },
    } in spec_["volumes"]


def test_the_backup_volume_is_writable_on_kubernetes_and_openshift_assigns_its_own():
    name = f"{INSTANCE.name}-backend"
    k8s = find(render(KUBERNETES_BASE, "kubernetes").objects, "Deployment", name)
    assert k8s["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 1001
    custom = {**KUBERNETES_BASE, "backend": {"fsGroup": 2000}}
    k8s = find(render(custom, "kubernetes").objects, "Deployment", name)
    assert k8s["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 2000
    ocp = find(render({}, "openshift").objects, "Deployment", name)
    assert "fsGroup" not in ocp["spec"]["template"]["spec"]["securityContext"]
