"""Redis, LiteLLM's cache: Secret, Deployment and Service."""

from __future__ import annotations

from typing import Any

from .. import credentials as cred
from .context import RenderContext
from .pods import (
    REDIS_IMAGE,
    REDIS_UID,
    container,
    deployment,
    exec_probe,
    pod_template,
    secret_env,
    service,
)
from .secrets import secret

RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "200m", "memory": "128Mi"},
}
# redis-cli reads the password from REDISCLI_AUTH, which keeps it out of the process list.
PING = ["sh", "-c", "redis-cli ping | grep -q PONG"]


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """Redis objects, or nothing when Redis is disabled."""
    spec, names, inst, version = ctx.spec, ctx.names, ctx.instance, ctx.spec.version
    redis = spec.redis
    if not redis.enabled:
        return []
    env: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    command = "exec redis-server --save '' --appendonly no"
    hash_inputs: Any = None
    if redis.auth:
        password = ctx.credential(cred.REDIS_PASSWORD, "redis")
        if password is None:
            return []
        redis_secret = secret(inst, names.redis, "cache", version, {"password": password})
        objects.append(redis_secret)
        hash_inputs = redis_secret["data"]
        env = [
            secret_env("REDIS_PASSWORD", names.redis, "password"),
            secret_env("REDISCLI_AUTH", names.redis, "password"),
        ]
        command += ' --requirepass "$REDIS_PASSWORD"'
    main = container(
        "redis",
        redis.image or REDIS_IMAGE,
        redis,
        RESOURCES,
        command=["sh", "-c", command],
        ports=[{"name": "redis", "containerPort": 6379, "protocol": "TCP"}],
        env=[*env, *ctx.extra_env(redis)],
        livenessProbe=exec_probe(PING, 10, 10, 3, 3),
        readinessProbe=exec_probe(PING, 5, 5, 3, 3),
        volumeMounts=[{"name": "data", "mountPath": "/data"}],
    )
    # No LiteMaaS version in the pod template: an upgrade must not restart Redis.
    template = pod_template(
        inst,
        "cache",
        None,
        redis,
        {"containers": [main], "volumes": [{"name": "data", "emptyDir": {}}]},
        platform=ctx.facts.platform,
        service_account=names.service_account,
        uid=REDIS_UID,
        inputs_hash=ctx.config_hash("redis", hash_inputs),
    )
    return [
        *objects,
        deployment(inst, names.redis, "cache", version, redis, template),
        service(inst, names.redis, "cache", version, 6379, "redis"),
    ]
