"""The LiteMaaS backend: Secret, backup PVC, Deployment and Service."""

from __future__ import annotations

from typing import Any

from .. import credentials as cred
from .context import RenderContext
from .database_urls import database_urls
from .names import RETAIN_LABEL, labels
from .pods import (
    POSTGRES_IMAGE,
    container,
    deployment,
    env,
    http_probe,
    pod_template,
    secret_env,
    service,
    wait_for_database,
)
from .secrets import secret
from .targets import pinned

RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
BACKUP_PATH = "/data/backups"
CA_PATH = "/etc/litemaas/ca"
# The UID the backend image runs as: its backup volume must be writable by it on Kubernetes.
BACKEND_FS_GROUP = 1001
SECRET_ENV = {
    "DATABASE_URL": "database-url",
    "CORS_ORIGIN": "cors-origin",
    "JWT_SECRET": "jwt-secret",
    "OAUTH_CLIENT_ID": "oauth-client-id",
    "OAUTH_CLIENT_SECRET": "oauth-client-secret",
    "OAUTH_ISSUER": "oauth-issuer",
    "OAUTH_CALLBACK_URL": "oauth-callback-url",
    "ADMIN_API_KEYS": "admin-api-keys",
    "LITELLM_API_KEY": "litellm-api-key",
    "LITELLM_MASTER_KEY": "litellm-master-key",
    "LITELLM_DATABASE_URL": "litellm-database-url",
}


def oauth_client(ctx: RenderContext) -> tuple[str, str | None]:
    """The OAuth client ID and secret for the resolved auth mode (secret None: not yet known)."""
    mode, auth, facts = ctx.endpoints.auth_mode, ctx.spec.auth, ctx.facts
    if mode == "oidc":
        client_id = auth.oidc.client_id if auth.oidc else ""
        if facts.oidc_client_secret is None:
            ctx.wait("backend", "WaitingForOIDCSecret", "the OIDC client secret is not available")
        return client_id, facts.oidc_client_secret
    if mode == "serviceaccount":
        if facts.service_account_token is None:
            ctx.wait(
                "backend",
                "WaitingForServiceAccountToken",
                f"Secret {ctx.names.oauth_token} has no token yet",
            )
        return ctx.names.service_account_client_id(), facts.service_account_token
    name = auth.oauth_client.name or ctx.names.oauth_client
    return name, ctx.credential(cred.OAUTH_CLIENT_SECRET, "backend")


def backup_claim(ctx: RenderContext) -> dict[str, Any]:
    """The backend's backup volume; retained on delete like the database's."""
    spec, inst = ctx.spec, ctx.instance
    claim_labels = labels(inst, "api", spec.version)
    if not spec.database.delete_claim_on_delete:
        claim_labels[RETAIN_LABEL] = "true"
    storage = spec.backend.backup_storage
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": ctx.names.backend_backup,
            "namespace": inst.namespace,
            "labels": claim_labels,
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": str(storage.size or "5Gi")}},
        },
    }
    if storage.storage_class_name:
        claim["spec"]["storageClassName"] = storage.storage_class_name
    return claim


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """Backend objects; the Secret and Deployment wait until every derived URL is known."""
    spec, names, inst, version = ctx.spec, ctx.names, ctx.instance, ctx.spec.version
    backend, ep = spec.backend, ctx.endpoints
    urls = database_urls(ctx)
    client_id, client_secret = oauth_client(ctx)
    values = {
        "jwt-secret": ctx.credential(cred.JWT_SECRET, "backend"),
        "admin-api-keys": ctx.credential(cred.ADMIN_API_KEYS, "backend"),
        "litellm-api-key": ctx.credential(cred.LITELLM_MASTER_KEY, "backend"),
        "litellm-master-key": ctx.credential(cred.BACKEND_ENCRYPTION_KEY, "backend"),
        "oauth-client-secret": client_secret,
    }
    if spec.redis.enabled and spec.redis.auth:
        values["redis-password"] = ctx.credential(cred.REDIS_PASSWORD, "backend")
    objects: list[dict[str, Any]] = [backup_claim(ctx)]
    derived = {
        "cors-origin": ep.frontend_url,
        "oauth-callback-url": ep.callback_url,
        "oauth-issuer": ep.oauth_issuer,
    }
    if ep.litellm_api_url is None or any(v is None for v in derived.values()):
        ctx.wait("backend", "WaitingForEndpoints", "waiting for public hosts to derive URLs")
        return objects
    if urls is None or any(v is None for v in values.values()):
        return objects
    data: dict[str, str] = {
        "database-url": urls.litemaas,
        "litellm-database-url": urls.litellm,
        "oauth-client-id": client_id,
        **{k: v for k, v in {**values, **derived}.items() if v is not None},
    }
    backend_secret = secret(inst, names.backend, "api", version, data)
    literal = [
        env("HOST", "0.0.0.0"),
        env("PORT", "8080"),
        # production also keeps mock auth off (it is on in development).
        env("NODE_ENV", "production"),
        env("LOG_LEVEL", backend.log_level),
        env("JWT_EXPIRES_IN", backend.jwt_expires_in),
        env("LITELLM_API_URL", ep.litellm_api_url),
        env("BACKUP_STORAGE_PATH", BACKUP_PATH),
        env("RATE_LIMIT_MAX", str(backend.rate_limit.max)),
        env("RATE_LIMIT_TIME_WINDOW", backend.rate_limit.time_window),
        env("DEFAULT_USER_MAX_BUDGET", f"{backend.default_user.max_budget:g}"),
        env("DEFAULT_USER_TPM_LIMIT", str(backend.default_user.tpm_limit)),
        env("DEFAULT_USER_RPM_LIMIT", str(backend.default_user.rpm_limit)),
    ]
    if spec.redis.enabled:
        literal += [env("REDIS_HOST", names.redis), env("REDIS_PORT", "6379")]
    if ep.auth_mode == "oidc" and spec.auth.oidc is not None:
        literal += [
            env("AUTH_PROVIDER", "oidc"),
            env("OIDC_GROUPS_CLAIM", spec.auth.oidc.groups_claim),
            env("OIDC_SCOPES", spec.auth.oidc.scopes),
        ]
    if spec.auth.initial_admin_users:
        literal.append(env("INITIAL_ADMIN_USERS", ",".join(spec.auth.initial_admin_users)))
    if spec.auth.openshift_api_url:
        literal.append(env("OPENSHIFT_API_URL", spec.auth.openshift_api_url))
    if spec.auth.skip_api_tls_verify:
        literal.append(env("K8S_API_SKIP_TLS_VERIFY", "true"))
    if not backend.node_tls_reject_unauthorized:
        literal.append(env("NODE_TLS_REJECT_UNAUTHORIZED", "0"))
    secret_refs = [secret_env(var, names.backend, key) for var, key in SECRET_ENV.items()]
    # The version and image the upgrade plan lets the backend run now (the spec's, unless held).
    pin = ctx.target("backend")
    if "redis-password" in data:
        secret_refs.append(secret_env("REDIS_PASSWORD", names.backend, "redis-password"))
    volumes = [{"name": "backups", "persistentVolumeClaim": {"claimName": names.backend_backup}}]
    mounts = [{"name": "backups", "mountPath": BACKUP_PATH}]
    if backend.ca_bundle is not None:
        # NODE_EXTRA_CA_CERTS adds to Node's built-in CAs instead of replacing them.
        key = backend.ca_bundle.key
        volumes.append(
            {
                "name": "ca-bundle",
                "configMap": {
                    "name": backend.ca_bundle.config_map_name,
                    "items": [{"key": key, "path": key}],
                },
            }
        )
        mounts.append({"name": "ca-bundle", "mountPath": CA_PATH, "readOnly": True})
        literal.append(env("NODE_EXTRA_CA_CERTS", f"{CA_PATH}/{key}"))
    main = container(
        "backend",
        pin.image,
        backend,
        RESOURCES,
        ports=[{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        env=[*secret_refs, *literal, *ctx.extra_env(backend)],
        livenessProbe=http_probe("/api/v1/health/live", "http", 30, 10, 5, 3),
        readinessProbe=http_probe("/api/v1/health/ready", "http", 5, 5, 3, 3),
        volumeMounts=mounts,
    )
    template = pod_template(
        inst,
        "api",
        pin.version,
        backend,
        {
            "initContainers": [
                wait_for_database(
                    spec.database.image or POSTGRES_IMAGE, names.backend, "database-url"
                )
            ],
            "containers": [main],
            "volumes": volumes,
        },
        platform=ctx.facts.platform,
        service_account=names.service_account,
        fs_group=backend.fs_group or BACKEND_FS_GROUP,
        inputs_hash=ctx.config_hash("backend", backend_secret["data"]),
    )
    # Recreate: the backup volume is ReadWriteOnce, and OAuth state lives in pod memory.
    return [
        *objects,
        backend_secret,
        pinned(
            deployment(
                inst, names.backend, "api", pin.version, backend, template, strategy="Recreate"
            ),
            pin,
        ),
        service(inst, names.backend, "api", version, 8080, "http"),
    ]
