"""The embedded PostgreSQL: init script, Secret, StatefulSet and Service."""

from __future__ import annotations

from typing import Any

from .. import credentials as cred
from .context import RenderContext
from .names import MANAGED_BY, labels, selector
from .pods import (
    POSTGRES_IMAGE,
    POSTGRES_UID,
    container,
    env,
    exec_probe,
    pod_template,
    secret_env,
    service,
)
from .secrets import DB_USER, LITELLM_DB, LITEMAAS_DB, secret

# Runs only on an empty data directory (the image's entrypoint contract). litemaas_db comes from
# POSTGRES_DB; LiteLLM's database is created here, idempotently.
INIT_SCRIPT = f"""#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'EOSQL'
SELECT 'CREATE DATABASE {LITELLM_DB}'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{LITELLM_DB}')\\gexec
EOSQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\
  -c "GRANT ALL PRIVILEGES ON DATABASE {LITELLM_DB} TO \\"$POSTGRES_USER\\""
"""

RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
PG_READY = ["sh", "-c", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB"']
DATA_DIR = "/var/lib/postgresql/data"


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """PostgreSQL objects, or nothing when the database is external."""
    spec, names, inst, version = ctx.spec, ctx.names, ctx.instance, ctx.spec.version
    if spec.database.mode != "embedded":
        return []
    password = ctx.credential(cred.POSTGRES_PASSWORD, "database")
    if password is None:
        return []
    db = spec.database
    init = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.postgres_init,
            "namespace": inst.namespace,
            "labels": labels(inst, "database", version),
        },
        "data": {"init-db.sh": INIT_SCRIPT},
    }
    pg_secret = secret(
        inst, names.postgres, "database", version, {"username": DB_USER, "password": password}
    )
    # volumeClaimTemplates are immutable: only labels that never change (no version) go here.
    # managed-by lets the operator delete the claim on opt-in (its admission policy allows it
    # to write only objects carrying that label).
    claim: dict[str, Any] = {
        "metadata": {
            "name": "data",
            "labels": {**selector(inst, "database"), "app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": str(db.storage.size or "10Gi")}},
        },
    }
    if db.storage.storage_class_name:
        claim["spec"]["storageClassName"] = db.storage.storage_class_name
    main = container(
        "postgres",
        db.image or POSTGRES_IMAGE,
        db,
        RESOURCES,
        ports=[{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}],
        env=[
            env("POSTGRES_DB", LITEMAAS_DB),
            secret_env("POSTGRES_USER", names.postgres, "username"),
            secret_env("POSTGRES_PASSWORD", names.postgres, "password"),
            env("PGDATA", f"{DATA_DIR}/pgdata"),
            *ctx.extra_env(db),
        ],
        livenessProbe=exec_probe(PG_READY, 30, 10, 5, 3),
        readinessProbe=exec_probe(PG_READY, 5, 5, 3, 3),
        volumeMounts=[
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "init", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
            {"name": "run", "mountPath": "/var/run/postgresql"},
        ],
    )
    # No LiteMaaS version in the pod template: an upgrade must not restart PostgreSQL.
    template = pod_template(
        inst,
        "database",
        None,
        db,
        {
            "containers": [main],
            "volumes": [
                {"name": "init", "configMap": {"name": names.postgres_init, "defaultMode": 0o755}},
                {"name": "run", "emptyDir": {}},
            ],
        },
        platform=ctx.facts.platform,
        service_account=names.service_account,
        uid=POSTGRES_UID,
        inputs_hash=ctx.config_hash("database", pg_secret["data"], init["data"]),
    )
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": names.postgres,
            "namespace": inst.namespace,
            "labels": labels(inst, "database", version),
        },
        "spec": {
            "serviceName": names.postgres,
            "replicas": 1 if db.replicas is None else db.replicas,
            "selector": {"matchLabels": selector(inst, "database")},
            "updateStrategy": {"type": "RollingUpdate"},
            # Explicit, not left to the default: the volume must outlive the StatefulSet.
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
            "template": template,
            "volumeClaimTemplates": [claim],
        },
    }
    return [
        init,
        pg_secret,
        statefulset,
        service(inst, names.postgres, "database", version, 5432, "postgres"),
    ]
