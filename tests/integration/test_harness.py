"""The test clusters behave like the real thing where the operator depends on it.

These pin the harness itself (tests/harness): workloads become Ready on the kwok node, PVCs
bind, garbage collection follows ownerReferences, the SA token controller runs, each flavour
serves exactly its APIs, and Routes get hosts as on OpenShift. They run unchanged on kind
(hack/e2e-kind.sh), except the API server restart, which needs a harness-owned cluster.
"""

from __future__ import annotations

import base64

import pytest
from kubernetes import client

from harness import Cluster, host_for, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

OPENSHIFT_GROUPS = ("route.openshift.io", "oauth.openshift.io", "user.openshift.io",
                    "config.openshift.io")  # fmt: skip
# A real, tiny image, so the same manifests run on kind; kwok never pulls it.
IMAGE = "registry.k8s.io/pause:3.10"

WORKLOADS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: {IMAGE}}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  replicas: 1
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: {IMAGE}, volumeMounts: [{{name: data, mountPath: /data}}]}}]
  volumeClaimTemplates:
    - metadata: {{name: data}}
      spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
"""


def api_groups(cluster: Cluster) -> set[str]:
    return {gv.split("/")[0] for gv in cluster.kubectl("api-versions").stdout.split()}


def test_deployment_and_statefulset_become_ready_and_pvc_binds(cluster: Cluster, namespace: str):
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WORKLOADS)
    with cluster.api_client() as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        wait_until(
            lambda: (
                apps.read_namespaced_deployment_status("web", namespace).status.available_replicas
                == 2
            ),
            what="Deployment web available",
        )
        wait_until(
            lambda: (
                apps.read_namespaced_stateful_set_status("db", namespace).status.ready_replicas == 1
            ),
            what="StatefulSet db ready",
        )
        pvc = core.read_namespaced_persistent_volume_claim("data-db-0", namespace)
        assert pvc.status.phase == "Bound"
        assert pvc.spec.storage_class_name  # the default StorageClass was applied
        conditions = apps.read_namespaced_deployment_status("web", namespace).status.conditions
        assert {(c.type, c.status) for c in conditions} >= {("Available", "True")}


CLAIMS = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: grows}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fixed}
spec:
  storageClassName: fixed-size
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def test_a_claim_grows_on_the_default_class_and_not_on_the_fixed_size_one(
    cluster: Cluster, namespace: str
):
    if not cluster.owned:
        pytest.skip("the resizer and the fixed-size class are the harness's own")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=CLAIMS)
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)

        def claim(name: str) -> client.V1PersistentVolumeClaim:
            return core.read_namespaced_persistent_volume_claim(name, namespace)

        for name in ("grows", "fixed"):
            wait_until(lambda n=name: claim(n).status.phase == "Bound", what=f"{name} bound")
        grow = {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
        merge = "application/merge-patch+json"
        core.patch_namespaced_persistent_volume_claim("grows", namespace, grow, _content_type=merge)
        grown = wait_until(
            lambda: claim("grows") if claim("grows").status.capacity["storage"] == "2Gi" else None,
            what="grows: status.capacity 2Gi",
        )
        assert not grown.status.conditions  # Resizing cleared
        assert grown.status.allocated_resources == {"storage": "2Gi"}
        pv = core.read_persistent_volume(grown.spec.volume_name)
        assert pv.spec.capacity["storage"] == "2Gi"
        # The API server's own admission refuses a class without allowVolumeExpansion.
        with pytest.raises(client.ApiException) as refused:
            core.patch_namespaced_persistent_volume_claim(
                "fixed", namespace, grow, _content_type=merge
            )
        assert refused.value.status == 403
        assert "storageclass that provisions the pvc must support resize" in refused.value.body
        assert claim("fixed").status.capacity["storage"] == "1Gi"


def test_deleting_an_owner_garbage_collects_its_dependents(cluster: Cluster, namespace: str):
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        owner = core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
        )
        ref = client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
        )
        core.create_namespaced_config_map(
            namespace,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="dependent", owner_references=[ref])
            ),
        )
        core.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")

        def dependent_gone() -> bool:
            names = [cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items]
            return "dependent" not in names

        wait_until(dependent_gone, timeout=60, what="dependent ConfigMap garbage-collected")


def test_deleting_a_deployment_removes_its_replicasets_and_pods(cluster: Cluster, namespace: str):
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WORKLOADS.split("---")[0])
    with cluster.api_client() as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        wait_until(lambda: core.list_namespaced_pod(namespace).items, what="pods created")
        apps.delete_namespaced_deployment("web", namespace, propagation_policy="Background")
        wait_until(
            lambda: (
                not apps.list_namespaced_replica_set(namespace).items
                and not core.list_namespaced_pod(namespace).items
            ),
            what="ReplicaSets and Pods of the deleted Deployment gone",
        )


def test_service_account_token_secret_gets_a_token(cluster: Cluster, namespace: str):
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        wait_until(lambda: core.read_namespaced_service_account("default", namespace))
        core.create_namespaced_secret(
            namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(
                    name="token", annotations={"kubernetes.io/service-account.name": "default"}
                ),
                type="kubernetes.io/service-account-token",
            ),
        )
        data = wait_until(
            lambda: core.read_namespaced_secret("token", namespace).data,
            what="token controller filled the Secret",
        )
        assert base64.b64decode(data["token"]).count(b".") == 2  # a JWT
        assert "ca.crt" in data


def test_openshift_flavour_serves_the_openshift_apis(openshift_cluster: Cluster):
    assert api_groups(openshift_cluster) >= set(OPENSHIFT_GROUPS)
    domain = openshift_cluster.kubectl(
        "get", "ingresses.config.openshift.io", "cluster", "-o", "jsonpath={.spec.domain}"
    ).stdout
    assert domain == openshift_cluster.domain
    assert domain


def test_openshift_stand_ins_take_top_level_fields(openshift_cluster: Cluster, request):
    suffix = request.node.nodeid.__hash__() & 0xFFFFFF
    with openshift_cluster.api_client() as api:
        custom = client.CustomObjectsApi(api)
        group = custom.create_cluster_custom_object(
            "user.openshift.io", "v1", "groups",
            {"apiVersion": "user.openshift.io/v1", "kind": "Group",
             "metadata": {"name": f"harness-{suffix}"}, "users": ["alice"]},
        )  # fmt: skip
        oauth = custom.create_cluster_custom_object(
            "oauth.openshift.io", "v1", "oauthclients",
            {"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthClient",
             "metadata": {"name": f"harness-{suffix}"}, "secret": "s3cr3t",
             "redirectURIs": ["https://x.example/cb"], "grantMethod": "auto"},
        )  # fmt: skip
        try:
            assert group["users"] == ["alice"]
            assert oauth["redirectURIs"] == ["https://x.example/cb"]
        finally:
            custom.delete_cluster_custom_object(
                "user.openshift.io", "v1", "groups", f"harness-{suffix}"
            )
            custom.delete_cluster_custom_object(
                "oauth.openshift.io", "v1", "oauthclients", f"harness-{suffix}"
            )


def test_kubernetes_flavour_has_no_openshift_apis(kubernetes_cluster: Cluster):
    assert not api_groups(kubernetes_cluster) & set(OPENSHIFT_GROUPS)
    assert kubernetes_cluster.domain is None


# Indirect parametrization narrows the flavour-parametrized `cluster` (and so `namespace`).
@pytest.mark.parametrize("cluster", ["openshift"], indirect=True)
def test_routes_get_their_host_at_admission_and_router_status(cluster: Cluster, namespace: str):
    route = {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "spec": {"to": {"kind": "Service", "name": "web"}, "tls": {"termination": "edge"}},
    }
    with cluster.api_client() as api:
        custom = client.CustomObjectsApi(api)
        args = ("route.openshift.io", "v1", namespace, "routes")
        created = custom.create_namespaced_custom_object(
            *args, {**route, "metadata": {"name": "web"}}
        )
        # As on OpenShift, the host is generated in the create call itself.
        expected = host_for("web", namespace, cluster.domain)
        assert created["spec"]["host"] == expected
        assert created["metadata"]["annotations"]["openshift.io/host.generated"] == "true"
        assert created["spec"]["wildcardPolicy"] == "None"  # library-go's defaulting
        fixed = custom.create_namespaced_custom_object(
            *args,
            {**route, "metadata": {"name": "fixed"},
             "spec": {**route["spec"], "host": "fixed.example.com"}},
        )  # fmt: skip
        assert "openshift.io/host.generated" not in (fixed["metadata"].get("annotations") or {})

        def admitted(name: str) -> dict | None:
            obj = custom.get_namespaced_custom_object(*args, name)
            ingress = (obj.get("status") or {}).get("ingress") or []
            return obj if ingress and ingress[0]["conditions"][0]["type"] == "Admitted" else None

        web = wait_until(lambda: admitted("web"), timeout=30, what="Route web admitted")
        assert web["status"]["ingress"][0]["host"] == expected
        assert web["status"]["ingress"][0]["routerName"] == "default"
        assert web["status"]["ingress"][0]["conditions"][0]["status"] == "True"
        fixed = wait_until(lambda: admitted("fixed"), timeout=30, what="Route fixed admitted")
        assert fixed["spec"]["host"] == "fixed.example.com"


def test_metrics_text_is_prometheus_exposition(cluster: Cluster):
    assert "apiserver_request_total" in cluster.metrics_text()


def test_restart_apiserver_keeps_the_data(kubernetes_cluster: Cluster):
    if not kubernetes_cluster.owned:
        pytest.skip("restart_apiserver() needs a harness-started cluster")
    kubernetes_cluster.kubectl("create", "configmap", "survives-restart", "-n", "default")
    try:
        kubernetes_cluster.restart_apiserver()
        kubernetes_cluster.kubectl("get", "configmap", "survives-restart", "-n", "default")
    finally:
        kubernetes_cluster.kubectl("delete", "configmap", "survives-restart", "-n", "default")
