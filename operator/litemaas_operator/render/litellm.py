"""The LiteLLM proxy: Secret, Deployment and Service."""

from __future__ import annotations

from typing import Any

from .. import credentials as cred
from .context import RenderContext
from .database_urls import database_urls
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
    "requests": {"cpu": "200m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """LiteLLM objects."""
    spec, names, inst, version = ctx.spec, ctx.names, ctx.instance, ctx.spec.version
    litellm = spec.litellm
    urls = database_urls(ctx)
    values = {
        "master-key": ctx.credential(cred.LITELLM_MASTER_KEY, "litellm"),
        "ui-password": ctx.credential(cred.LITELLM_UI_PASSWORD, "litellm"),
        "salt-key": ctx.credential(cred.LITELLM_SALT_KEY, "litellm"),
    }
    redis_password = None
    if spec.redis.enabled and spec.redis.auth:
        redis_password = ctx.credential(cred.REDIS_PASSWORD, "litellm")
        values["redis-password"] = redis_password
    if urls is None or any(v is None for v in values.values()):
        return []
    data = {
        "database-url": urls.litellm,
        "ui-username": litellm.ui_username,
        **{k: v for k, v in values.items() if v is not None},
    }
    litellm_secret = secret(inst, names.litellm, "ai-proxy", version, data)
    container_env = [
        secret_env("DATABASE_URL", names.litellm, "database-url"),
        secret_env("LITELLM_MASTER_KEY", names.litellm, "master-key"),
        secret_env("LITELLM_SALT_KEY", names.litellm, "salt-key"),
        secret_env("UI_USERNAME", names.litellm, "ui-username"),
        secret_env("UI_PASSWORD", names.litellm, "ui-password"),
        env("LITELLM_MODE", "PRODUCTION"),
        env("STORE_MODEL_IN_DB", "True"),
        # PRs #126/#127: `true` broke fresh installs; LiteLLM migrates its own schema.
        env("DISABLE_SCHEMA_UPDATE", "false"),
    ]
    if spec.redis.enabled:
        container_env += [env("REDIS_HOST", names.redis), env("REDIS_PORT", "6379")]
        if redis_password is not None:
            container_env.append(secret_env("REDIS_PASSWORD", names.litellm, "redis-password"))
    if litellm.ssl_verify is not None:
        container_env.append(env("SSL_VERIFY", str(litellm.ssl_verify).lower()))
    container_env += ctx.extra_env(litellm)
    # The upgrade plan rolls LiteLLM's image only once the backend runs the new version.
    pin = ctx.target("litellm")
    main = container(
        "litellm",
        pin.image,
        litellm,
        RESOURCES,
        ports=[{"name": "http", "containerPort": 4000, "protocol": "TCP"}],
        env=container_env,
        livenessProbe=http_probe("/health/liveness", "http", 60, 30, 10, 3),
        readinessProbe=http_probe("/health/readiness", "http", 30, 10, 5, 3),
        volumeMounts=list(litellm.extra_volume_mounts or []),
    )
    # No LiteMaaS version in the pod template: LiteLLM rolls when its image changes, not with
    # every LiteMaaS release.
    template = pod_template(
        inst,
        "ai-proxy",
        None,
        litellm,
        {
            "initContainers": [
                wait_for_database(
                    spec.database.image or POSTGRES_IMAGE, names.litellm, "database-url"
                )
            ],
            "containers": [main],
            "volumes": list(litellm.extra_volumes or []),
        },
        platform=ctx.facts.platform,
        service_account=names.service_account,
        inputs_hash=ctx.config_hash("litellm", litellm_secret["data"]),
    )
    return [
        litellm_secret,
        pinned(deployment(inst, names.litellm, "ai-proxy", pin.version, litellm, template), pin),
        service(inst, names.litellm, "ai-proxy", version, 4000, "http"),
    ]
