"""Backups and restores of the embedded PostgreSQL, as pure builders: the backup volume, the
backup, restore and prune Jobs with their shell scripts, and the writers stopped for a restore.

The scripts run in the postgres image (busybox ``sh``), connect with libpq's ``PG*`` variables
(the password comes from the instance's ``<name>-postgres`` Secret into ``PGPASSWORD``, never
onto a command line), and keep the volume consistent:

- a backup dumps each database with ``pg_dump -Fc`` into ``.<backup>.partial/``, writes
  ``SHA256SUMS``, and renames the directory to ``<backup>/`` only when everything is on disk, so
  a directory without ``.partial`` is a complete backup; run again, it keeps what is complete;
- a restore checks the checksums, then runs ``pg_restore --clean --if-exists`` of each dump in
  one transaction per database (a failure leaves that database as it was);
- a prune deletes the directories of backups whose LiteMaaSBackup resources are being deleted.

The pod reports the dump sizes in its termination message (``<file> <bytes>`` per line), which
the operator copies into the backup's status.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any, Literal

from ..api.spec import LiteMaaSSpec
from ..facts import Instance, Platform
from .names import PREFIX, RETAIN_LABEL, Names, labels, selector
from .pods import CONTAINER_SECURITY, POSTGRES_IMAGE, POSTGRES_UID, env, pod_security, secret_env
from .secrets import LITELLM_DB, LITEMAAS_DB

Operation = Literal["backup", "restore", "prune"]

DATABASES = (LITEMAAS_DB, LITELLM_DB)
MOUNT = "/backups"
DEFAULT_SIZE = "10Gi"
# Labels and annotations that tie a Job to what it does and for whom.
OPERATION_LABEL = f"{PREFIX}/operation"
TARGET_ANNOTATION = f"{PREFIX}/target"  # the LiteMaaSBackup/LiteMaaSRestore (or pruned names)
# A dump of a large instance takes a while; one that hangs (a lock never released) must not
# hold the volume, and every later backup, forever.
ACTIVE_DEADLINE_SECONDS = 6 * 3600
# Finished Jobs stay a week for `kubectl logs`; the operator has copied their outcome by then.
TTL_SECONDS_AFTER_FINISHED = 7 * 24 * 3600
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}
# Deployments scaled to 0 while a restore runs: the two that write to the databases, and Redis,
# LiteLLM's cache, which would otherwise keep serving keys and spend newer than the backup.
WRITERS = ("backend", "litellm", "redis")

_WAIT_FOR_SERVER = """tries=0
until pg_isready -q --dbname=postgres; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then
    echo "PostgreSQL at $PGHOST:$PGPORT did not answer for 3 minutes" >&2
    exit 1
  fi
  sleep 2
done
"""

BACKUP_SCRIPT = (
    """set -euf
final="$BACKUP_ROOT/$BACKUP_NAME"
partial="$BACKUP_ROOT/.$BACKUP_NAME.partial"
report() {
  # The termination message the operator reads: "<file> <bytes>" per dump.
  for db in $DATABASES; do
    printf '%s %s\\n' "$db.dump" "$(wc -c < "$final/$db.dump" | tr -d ' ')"
  done > "${TERMINATION_LOG:-/dev/termination-log}"
}
if [ -f "$final/SHA256SUMS" ]; then
  echo "backup $BACKUP_NAME is already complete"
  report
  exit 0
fi
"""
    + _WAIT_FOR_SERVER
    + """rm -rf "$partial"
mkdir -p "$partial"
for db in $DATABASES; do
  echo "dumping $db"
  pg_dump --format=custom --no-password --dbname="$db" --file="$partial/$db.dump"
done
(cd "$partial" && set +f && sha256sum *.dump > SHA256SUMS)
sync
rm -rf "$final"
mv "$partial" "$final"
sync
report
echo "backup $BACKUP_NAME complete"
"""
)

RESTORE_SCRIPT = (
    """set -euf
dir="$BACKUP_ROOT/$BACKUP_NAME"
if [ ! -f "$dir/SHA256SUMS" ]; then
  echo "backup $BACKUP_NAME is not complete on the backup volume (no $BACKUP_NAME/SHA256SUMS)" >&2
  exit 1
fi
if ! (cd "$dir" && sha256sum -c SHA256SUMS); then
  echo "backup $BACKUP_NAME is damaged: its files do not match SHA256SUMS" >&2
  exit 1
fi
"""
    + _WAIT_FOR_SERVER
    + """for db in $DATABASES; do
  # A fresh server lacks the databases; the init script would have created them.
  psql -X -q -v ON_ERROR_STOP=1 -v db="$db" --dbname=postgres <<'EOSQL'
SELECT format('CREATE DATABASE %I', :'db')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\\gexec
EOSQL
  # The writers are stopped; whatever is still connected would hold locks the restore needs.
  psql -X -q -t -v ON_ERROR_STOP=1 -v db="$db" --dbname=postgres >/dev/null <<'EOSQL'
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = :'db' AND pid <> pg_backend_pid();
EOSQL
  echo "restoring $db"
  pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \\
    --exit-on-error --no-password --dbname="$db" "$dir/$db.dump"
done
echo "restore of $BACKUP_NAME complete"
"""
)

PRUNE_SCRIPT = """set -euf
for name in $PRUNE; do
  case "$name" in
    ''|.*|*/*) echo "skipping unsafe name $name" >&2; continue ;;
  esac
  rm -rf "$BACKUP_ROOT/$name" "$BACKUP_ROOT/.$name.partial"
  echo "deleted $name"
done
"""

SCRIPTS: dict[Operation, str] = {
    "backup": BACKUP_SCRIPT,
    "restore": RESTORE_SCRIPT,
    "prune": PRUNE_SCRIPT,
}


def claim_name(instance: Instance) -> str:
    """The backup volume's PersistentVolumeClaim."""
    return f"{instance.name}-db-backups"


def job_name(instance: Instance, operation: Operation, target: str) -> str:
    """A Job's name: short (names of backups may be long) and the same on every reconcile."""
    digest = hashlib.sha256(target.encode()).hexdigest()[:10]
    return f"{instance.name}-{operation}-{digest}"


def dump_files(backup: str) -> list[str]:
    """The files of a complete backup, relative to the root of the backup volume."""
    return [f"{backup}/{db}.dump" for db in DATABASES]


def backup_claim(spec: LiteMaaSSpec, instance: Instance) -> dict[str, Any]:
    """The backup volume; retained when the CR is deleted, like the database's own volume."""
    claim_labels = labels(instance, "backup", spec.version)
    if not spec.database.delete_claim_on_delete:
        claim_labels[RETAIN_LABEL] = "true"
    volume = spec.backup.volume
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": claim_name(instance),
            "namespace": instance.namespace,
            "labels": claim_labels,
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": str(volume.size or DEFAULT_SIZE)}},
        },
    }
    if volume.storage_class_name:
        claim["spec"]["storageClassName"] = volume.storage_class_name
    return claim


def _job(
    spec: LiteMaaSSpec,
    instance: Instance,
    platform: Platform,
    operation: Operation,
    target: str,
    extra_env: list[dict[str, Any]],
    owner: dict[str, Any] | None,
) -> dict[str, Any]:
    names = Names(instance)
    db = spec.database
    job_labels = {**labels(instance, "backup", spec.version), OPERATION_LABEL: operation}
    pod_labels = {**selector(instance, "backup"), OPERATION_LABEL: operation}
    container: dict[str, Any] = {
        "name": operation,
        "image": db.image or POSTGRES_IMAGE,  # pg_dump of the server's own major version
        "command": ["/bin/sh", "-c", SCRIPTS[operation]],
        "env": [
            env("PGHOST", names.postgres),
            env("PGPORT", "5432"),
            secret_env("PGUSER", names.postgres, "username"),
            secret_env("PGPASSWORD", names.postgres, "password"),
            env("PGCONNECT_TIMEOUT", "10"),
            env("HOME", "/tmp"),
            env("BACKUP_ROOT", MOUNT),
            env("DATABASES", " ".join(DATABASES)),
            *extra_env,
        ],
        "resources": copy.deepcopy(RESOURCES),
        "securityContext": {**CONTAINER_SECURITY, "readOnlyRootFilesystem": True},
        # Success: the sizes the script wrote; failure: the last lines of its log.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "backups", "mountPath": MOUNT, "readOnly": operation == "restore"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if db.image_pull_policy:
        container["imagePullPolicy"] = db.image_pull_policy
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": names.service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security(platform, POSTGRES_UID),
        "containers": [container],
        "volumes": [
            {
                "name": "backups",
                "persistentVolumeClaim": {
                    "claimName": claim_name(instance),
                    "readOnly": operation == "restore",
                },
            },
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
    }
    # The database's scheduling constraints (tainted or dedicated nodes) hold for its backups.
    if db.node_selector:
        pod["nodeSelector"] = dict(db.node_selector)
    if db.tolerations:
        pod["tolerations"] = [t.to_wire() for t in db.tolerations]
    metadata: dict[str, Any] = {
        "name": job_name(instance, operation, target),
        "namespace": instance.namespace,
        "labels": job_labels,
        "annotations": {TARGET_ANNOTATION: target},
    }
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            # No retries: a failed backup is reported and the next one tries again; a failed
            # restore is for a person to look at.
            "backoffLimit": 0,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {"metadata": {"labels": pod_labels}, "spec": pod},
        },
    }


def backup_job(
    spec: LiteMaaSSpec,
    instance: Instance,
    platform: Platform,
    backup: str,
    owner: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Job that dumps both databases into ``<backup>/`` on the backup volume."""
    return _job(spec, instance, platform, "backup", backup, [env("BACKUP_NAME", backup)], owner)


def restore_job(
    spec: LiteMaaSSpec,
    instance: Instance,
    platform: Platform,
    restore: str,
    backup: str,
    owner: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Job that loads the dumps of ``backup`` into both databases (for ``restore``)."""
    return _job(spec, instance, platform, "restore", restore, [env("BACKUP_NAME", backup)], owner)


def prune_job(
    spec: LiteMaaSSpec,
    instance: Instance,
    platform: Platform,
    backups: list[str],
    owner: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Job that deletes the directories of ``backups`` from the backup volume."""
    chosen = sorted(backups)
    return _job(
        spec, instance, platform, "prune", " ".join(chosen), [env("PRUNE", " ".join(chosen))], owner
    )


def stop_writers(objects: list[dict[str, Any]], instance: Instance) -> list[dict[str, Any]]:
    """``objects`` with the backend, LiteLLM and Redis Deployments scaled to 0."""
    names = Names(instance)
    stopped = {getattr(names, writer) for writer in WRITERS}
    out = []
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] in stopped:
            obj = copy.deepcopy(obj)
            obj["spec"]["replicas"] = 0
        out.append(obj)
    return out


def writer_names(instance: Instance) -> list[str]:
    """The Deployments a restore stops."""
    names = Names(instance)
    return [getattr(names, writer) for writer in WRITERS]


def parse_report(message: str | None) -> dict[str, int]:
    """Dump sizes from a backup pod's termination message; {} when it holds something else."""
    sizes: dict[str, int] = {}
    for line in (message or "").splitlines():
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or not parts[0].endswith(".dump"):
            return {}
        sizes[parts[0]] = int(parts[1])
    return sizes
