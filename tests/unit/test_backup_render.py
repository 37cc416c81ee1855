"""The pure builders of backups and restores: the backup volume, the Jobs and their scripts.

The scripts themselves run against a real PostgreSQL server in tests/postgres/; here: the
restricted Pod Security Standard, credentials only through Secret references, stable names,
the volume's retention, and the writers a restore stops.
"""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
from rendering import CREDENTIALS, INSTANCE, render

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.render import backup as rb
from litemaas_operator.render.names import RETAIN_LABEL

RESTRICTED_VOLUMES = {"configMap", "emptyDir", "persistentVolumeClaim", "projected", "secret"}
OWNER = {
    "apiVersion": "litemaas.io/v1alpha1",
    "kind": "LiteMaaSBackup",
    "name": "nightly",
    "uid": "1234",
    "controller": True,
    "blockOwnerDeletion": True,
}


def spec(**fields: Any) -> LiteMaaSSpec:
    return LiteMaaSSpec.model_validate(fields)


def jobs(platform: str, s: LiteMaaSSpec | None = None) -> list[dict[str, Any]]:
    s = s or spec()
    return [
        rb.backup_job(s, INSTANCE, platform, "nightly", OWNER),  # type: ignore[arg-type]
        rb.restore_job(s, INSTANCE, platform, "undo", "nightly"),  # type: ignore[arg-type]
        rb.prune_job(s, INSTANCE, platform, ["b2", "b1"]),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("platform", ["openshift", "kubernetes"])
def test_jobs_meet_the_restricted_pod_security_standard(platform: str) -> None:
    for job in jobs(platform):
        pod = job["spec"]["template"]["spec"]
        where = job["metadata"]["name"]
        assert not any(pod.get(h) for h in ("hostNetwork", "hostPID", "hostIPC")), where
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        # The operator's admission policy admits pods of an instance ServiceAccount only.
        assert pod["serviceAccountName"] == f"{INSTANCE.name}-litemaas"
        for volume in pod["volumes"]:
            assert set(volume) - {"name"} <= RESTRICTED_VOLUMES, volume
        [c] = pod["containers"]
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["readOnlyRootFilesystem"] is True
        assert sc.get("privileged", False) is False
        uid = pod["securityContext"].get("runAsUser")
        if platform == "openshift":  # restricted-v2 assigns the UID; a fixed one is refused
            assert not {"runAsUser", "runAsGroup", "fsGroup"} & pod["securityContext"].keys()
        else:  # the postgres image defaults to root: a numeric non-root user
            assert uid == 70 and pod["securityContext"]["fsGroup"] == 70


@pytest.mark.parametrize("platform", ["openshift", "kubernetes"])
def test_jobs_and_the_volume_validate_against_the_kubernetes_schema(platform: str) -> None:
    for obj in [*jobs(platform), rb.backup_claim(spec(), INSTANCE)]:
        kubernetes_validate.validate(obj, "1.34", strict=True)


def test_credentials_come_from_the_postgres_secret_never_the_command_line() -> None:
    for job in jobs("openshift"):
        [c] = job["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in c["env"]}
        assert env["PGPASSWORD"] == {
            "name": "PGPASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "litemaas-postgres", "key": "password"}},
        }
        assert env["PGUSER"]["valueFrom"]["secretKeyRef"]["name"] == "litemaas-postgres"
        assert env["PGHOST"]["value"] == "litemaas-postgres"
        # The command is a fixed script; no argument carries a value, and none of the
        # instance's credentials appears anywhere in the Job.
        assert c["command"][:2] == ["/bin/sh", "-c"] and "args" not in c
        assert c["command"][2] == rb.SCRIPTS[c["name"]]
        text = json.dumps(job)
        for value in CREDENTIALS.values():
            assert value not in text
        for word in ("PGPASSWORD=", "--password", "postgresql://"):
            assert word not in c["command"][2]


def test_each_job_mounts_the_backup_volume_and_knows_its_target() -> None:
    backup, restore, prune = jobs("kubernetes")
    for job in (backup, restore, prune):
        pod = job["spec"]["template"]["spec"]
        claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
        assert claim["persistentVolumeClaim"]["claimName"] == "litemaas-db-backups"
        assert job["spec"]["backoffLimit"] == 0
        assert job["spec"]["activeDeadlineSeconds"] > 0
        assert pod["restartPolicy"] == "Never"
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "backup"
        assert labels["app.kubernetes.io/instance"] == INSTANCE.name
        assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "litemaas-operator"
    env = {
        e["name"]: e.get("value")
        for e in restore["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["BACKUP_NAME"] == "nightly"
    assert env["DATABASES"] == "litemaas_db litellm_db"
    restore_pod = restore["spec"]["template"]["spec"]
    assert restore_pod["containers"][0]["volumeMounts"][0]["readOnly"] is True
    prune_env = {
        e["name"]: e.get("value") for e in prune["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert prune_env["PRUNE"] == "b1 b2"
    assert backup["metadata"]["ownerReferences"] == [OWNER]
    assert backup["metadata"]["annotations"][rb.TARGET_ANNOTATION] == "nightly"


def test_job_names_are_short_stable_and_distinct() -> None:
    long_name = "litemaas-pre-upgrade-0.5.0-to-0.6.0-" + "x" * 200
    names = {
        rb.job_name(INSTANCE, "backup", "nightly"),
        rb.job_name(INSTANCE, "restore", "nightly"),
        rb.job_name(INSTANCE, "backup", long_name),
    }
    assert len(names) == 3
    assert all(len(n) <= 63 for n in names)
    assert rb.job_name(INSTANCE, "backup", "nightly") == rb.job_name(INSTANCE, "backup", "nightly")


def test_jobs_follow_the_database_image_and_scheduling() -> None:
    s = spec(
        database={
            "image": "registry.example.com/postgres:16.4",
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "db", "operator": "Exists", "effect": "NoSchedule"}],
        }
    )
    pod = rb.backup_job(s, INSTANCE, "openshift", "b")["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example.com/postgres:16.4"
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["tolerations"] == [{"key": "db", "operator": "Exists", "effect": "NoSchedule"}]


def test_the_backup_volume_is_retained_like_the_data() -> None:
    claim = rb.backup_claim(spec(), INSTANCE)
    assert claim["metadata"]["name"] == "litemaas-db-backups"
    assert claim["metadata"]["labels"][RETAIN_LABEL] == "true"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    sized = spec(backup={"volume": {"size": "50Gi", "storageClassName": "fast"}})
    claim = rb.backup_claim(sized, INSTANCE)
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    doomed = spec(database={"deleteClaimOnDelete": True})
    assert RETAIN_LABEL not in rb.backup_claim(doomed, INSTANCE)["metadata"]["labels"]


def test_a_restore_stops_exactly_the_writers() -> None:
    objects = render({}, "openshift").objects
    stopped = rb.stop_writers(objects, INSTANCE)
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"] for o in stopped if o["kind"] == "Deployment"
    }
    assert replicas == {
        "litemaas-backend": 0,
        "litemaas-litellm": 0,
        "litemaas-redis": 0,
        "litemaas-frontend": 1,
    }
    # The database keeps running (the restore needs it), and the input is left as it was.
    assert next(o for o in stopped if o["kind"] == "StatefulSet")["spec"]["replicas"] == 1
    assert all(o["spec"]["replicas"] == 1 for o in objects if o["kind"] == "Deployment")


def test_dump_sizes_are_read_from_the_termination_message() -> None:
    assert rb.parse_report("litemaas_db.dump 1234\nlitellm_db.dump 99\n") == {
        "litemaas_db.dump": 1234,
        "litellm_db.dump": 99,
    }
    # A message that is not the report (the log tail of a failure) gives nothing.
    assert rb.parse_report("pg_dump: error: connection failed") == {}
    assert rb.parse_report(None) == {}
    assert rb.dump_files("nightly") == ["nightly/litemaas_db.dump", "nightly/litellm_db.dump"]


def test_the_backup_pods_are_admitted_to_postgresql_and_nothing_else() -> None:
    objects = render({}, "openshift").objects
    pod_labels = rb.backup_job(spec(), INSTANCE, "openshift", "b")["spec"]["template"]["metadata"]
    pod_labels = pod_labels["labels"]

    def admits(policy: str) -> bool:
        found = [o for o in objects if o["metadata"]["name"] == f"{INSTANCE.name}-{policy}"]
        return any(
            peer.get("podSelector", {}).get("matchLabels", {}).items() <= pod_labels.items()
            for rule in found[0]["spec"]["ingress"]
            for peer in rule["from"]
        )

    assert admits("allow-database")
    assert not admits("allow-cache")
