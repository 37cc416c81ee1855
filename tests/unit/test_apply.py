"""Drift detection, ownership and pruning decisions of the apply step."""

from __future__ import annotations

import pytest
from rendering import VARIATIONS, Variation

from litemaas_operator.controller.apply import (
    apply_waves,
    contains,
    needs_apply,
    owner_reference,
    prunable,
    stamped,
    with_owner,
)
from litemaas_operator.render.names import RETAIN_LABEL
from litemaas_operator.render.pods import with_image_pull_secrets

CR = {"metadata": {"name": "lm", "namespace": "ns", "uid": "u-1"}}


def deployment(**spec):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "lm-backend", "namespace": "ns"},
        "spec": spec,
    }


def test_server_defaults_are_not_drift():
    desired = deployment(replicas=1, template={"spec": {"containers": [{"name": "a"}]}})
    live = deployment(
        replicas=1,
        revisionHistoryLimit=10,
        template={
            "spec": {
                "containers": [{"name": "a", "terminationMessagePath": "/dev/x"}],
                "dnsPolicy": "ClusterFirst",
            }
        },
    )
    live["status"] = {"readyReplicas": 1}
    assert not needs_apply(desired, live)


def test_changed_or_missing_fields_are_drift():
    desired = deployment(replicas=1)
    assert needs_apply(desired, None)
    assert needs_apply(desired, deployment(replicas=3))
    assert needs_apply(desired, deployment())


def test_lists_compare_item_by_item_and_empty_matches_absent():
    assert contains({"env": [{"name": "A", "value": "1"}]}, {"env": [{"name": "A", "value": "1"}]})
    assert not contains(
        {"env": [{"name": "A", "value": "2"}]}, {"env": [{"name": "A", "value": "1"}]}
    )
    assert not contains({"env": [{"name": "A"}, {"name": "B"}]}, {"env": [{"name": "A"}]})
    assert contains({}, {"volumes": []})
    assert not contains({"flag": 1}, {"flag": True})


def test_owner_reference_only_where_garbage_collection_is_wanted():
    owner = owner_reference(CR)
    assert owner["controller"] and owner["blockOwnerDeletion"] and owner["uid"] == "u-1"
    owned = with_owner(deployment(), owner)
    assert owned["metadata"]["ownerReferences"] == [owner]
    retained = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "ns", "labels": {RETAIN_LABEL: "true"}},
    }
    assert "ownerReferences" not in with_owner(retained, owner)["metadata"]
    cluster_scoped = {
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthClient",
        "metadata": {"name": "c"},
    }
    assert "ownerReferences" not in with_owner(cluster_scoped, owner)["metadata"]


def test_prune_spares_volumes_retained_data_and_protected_names():
    live = [
        {"kind": "Deployment", "metadata": {"name": "lm-redis"}},
        {"kind": "Deployment", "metadata": {"name": "lm-backend"}},
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "lm-backend-backup"}},
        {"kind": "Secret", "metadata": {"name": "lm-credentials"}},
        {"kind": "Secret", "metadata": {"name": "kept", "labels": {RETAIN_LABEL: "true"}}},
        # Already terminating (a finalizer holds it): not deleted again on every reconcile.
        {
            "kind": "Service",
            "metadata": {"name": "lm-old", "deletionTimestamp": "2026-11-28T09:00:00Z"},
        },
    ]
    gone = prunable(live, {("Deployment", "lm-backend")}, {"lm-credentials"})
    assert [o["metadata"]["name"] for o in gone] == ["lm-redis"]


def test_a_field_the_spec_stopped_asking_for_forces_an_apply():
    before = stamped(deployment(replicas=1, template={"spec": {"nodeSelector": {"a": "b"}}}))
    after = stamped(deployment(replicas=1, template={"spec": {}}))
    assert not needs_apply(before, before)
    assert needs_apply(after, before)  # live still holds the nodeSelector, hash differs
    assert not needs_apply(after, after)


def test_a_deny_all_policy_is_pruned_before_the_policies_that_open_it():
    def policy(name: str, ingress: list) -> dict:
        return {
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": {}},
            "spec": {"podSelector": {}, "ingress": ingress},
        }

    live = [
        policy("allow-web", [{"from": []}]),
        policy("default-deny", []),
        policy("allow-api", [{}]),
    ]
    order = [o["metadata"]["name"] for o in prunable(live, set(), set())]
    assert order[0] == "default-deny"
    assert sorted(order) == ["allow-api", "allow-web", "default-deny"]


def test_a_job_is_created_once_and_never_reapplied() -> None:
    """A Job's pod template is immutable: a later change (imagePullSecrets) must not be sent."""
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "rotate-1", "namespace": "ns"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    desired = stamped(with_image_pull_secrets([job], ["mirror"])[0])
    assert needs_apply(desired, None)
    assert not needs_apply(desired, job)


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_what_pods_need_is_applied_in_a_wave_before_the_workloads(variation: Variation):
    objects = variation.render().objects
    waves = apply_waves(objects)
    assert sorted(id(o) for wave in waves for o in wave) == sorted(map(id, objects))
    first = {(o["kind"], o["metadata"]["name"]) for o in waves[0]}
    rendered = {(o["kind"], o["metadata"]["name"]) for o in objects}
    # Every ServiceAccount, Secret, ConfigMap and claim that a pod template names (and the
    # operator renders) exists before a pod could be created from it.
    for workload in (o for o in objects if o["kind"] in ("Deployment", "StatefulSet")):
        assert workload in waves[-1] and workload not in waves[0]
        pod = workload["spec"]["template"]["spec"]
        needed = {("ServiceAccount", pod.get("serviceAccountName", "default"))}
        for volume in pod.get("volumes") or []:
            for kind, field, name in (
                ("Secret", "secret", "secretName"),
                ("ConfigMap", "configMap", "name"),
                ("PersistentVolumeClaim", "persistentVolumeClaim", "claimName"),
            ):
                if field in volume:
                    needed.add((kind, volume[field][name]))
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for item in container.get("env") or []:
                ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    needed.add(("Secret", ref["name"]))
        assert needed & rendered <= first, sorted((needed & rendered) - first)
    # Each wave keeps the rendered order.
    for wave in waves:
        assert wave == [o for o in objects if any(o is w for w in wave)]
