"""Every pod passes the ``restricted`` Pod Security Standard, and images are pinned and public.

The rules are those of https://kubernetes.io/docs/concepts/security/pod-security-standards/
(restricted profile), which OpenShift's restricted-v2 SCC also enforces; on OpenShift the pod
must not ask for a fixed UID, because the SCC assigns one from the namespace's range.
"""

from __future__ import annotations

from typing import Any

import pytest
from rendering import VARIATIONS, Variation, all_containers, pod_spec, workloads

from litemaas_operator.render.pods import LITELLM_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE

RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC", "hostUsers")


def pods(variation: Variation) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    objects = list(workloads(variation.render().objects))
    assert len(objects) >= 3
    return [(o["metadata"]["name"], pod_spec(o), all_containers(o)) for o in objects]


def effective(pod: dict[str, Any], c: dict[str, Any], field: str) -> Any:
    """A container's setting, falling back to the pod's (as the kubelet does)."""
    value = c.get("securityContext", {}).get(field)
    return value if value is not None else pod.get("securityContext", {}).get(field)


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_restricted_pod_security_standard(variation):
    for name, pod, containers in pods(variation):
        assert not any(pod.get(h) for h in HOST_NAMESPACES if h != "hostUsers"), name
        assert pod.get("hostUsers", False) is False
        for volume in pod.get("volumes", []):
            sources = set(volume) - {"name"}
            assert sources <= RESTRICTED_VOLUMES, (name, volume)
        for c in containers:
            where = f"{name}/{c['name']}"
            sc = c.get("securityContext", {})
            assert effective(pod, c, "runAsNonRoot") is True, where
            assert effective(pod, c, "runAsUser") != 0, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert set(sc.get("capabilities", {}).get("add", [])) <= {"NET_BIND_SERVICE"}, where
            assert (effective(pod, c, "seccompProfile") or {}).get("type") in (
                "RuntimeDefault",
                "Localhost",
            ), where
            assert "procMount" not in sc or sc["procMount"] == "Default", where
            assert not any(p.get("hostPort") for p in c.get("ports", [])), where


@pytest.mark.parametrize(
    "variation", [v for v in VARIATIONS if v.platform == "openshift"], ids=lambda v: v.id
)
def test_openshift_pods_leave_the_uid_to_the_scc(variation):
    for name, pod, containers in pods(variation):
        for context in [pod.get("securityContext", {})] + [
            c.get("securityContext", {}) for c in containers
        ]:
            assert not {"runAsUser", "runAsGroup", "fsGroup"} & context.keys(), name


@pytest.mark.parametrize(
    "variation", [v for v in VARIATIONS if v.platform == "kubernetes"], ids=lambda v: v.id
)
def test_kubernetes_pods_of_root_default_images_run_as_a_numeric_non_root_user(variation):
    # postgres and redis images default to root; runAsNonRoot alone would refuse to start them.
    for name, pod, _ in pods(variation):
        if name.endswith(("-postgres", "-redis")):
            assert pod["securityContext"]["runAsUser"] > 0, name


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_images_are_pinned_and_pullable_outside_openshift(variation):
    for name, _, containers in pods(variation):
        for c in containers:
            image = c["image"]
            last = image.rsplit("/", 1)[-1]
            assert "@sha256:" in image or ":" in last, f"{name}/{c['name']}: {image} has no tag"
            assert not image.endswith(":latest"), f"{name}/{c['name']}: {image}"
            assert "image-registry.openshift-image-registry.svc" not in image


@pytest.mark.parametrize("image", [LITELLM_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE])
def test_default_images_are_pinned(image):
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_pods_do_not_mount_an_api_token(variation):
    # No component talks to the Kubernetes API with the pod's own identity.
    for name, pod, _ in pods(variation):
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"].endswith("-litemaas"), name
