"""The LiteMaaS frontend (nginx serving the SPA and proxying /api/ to the backend)."""

from __future__ import annotations

from typing import Any

from .context import RenderContext
from .pods import (
    CONTAINER_SECURITY,
    container,
    deployment,
    env,
    http_probe,
    pod_template,
    service,
)
from .targets import pinned

RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "200m", "memory": "256Mi"},
}


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """Frontend objects."""
    spec, names, inst, version = ctx.spec, ctx.names, ctx.instance, ctx.spec.version
    frontend = spec.frontend
    # The version and image the upgrade plan lets the frontend run now (the spec's, unless held).
    pin = ctx.target("frontend")
    image = pin.image
    # Upstream waited with an image that exists only in OpenShift's internal registry; the
    # frontend's own UBI image has bash, whose /dev/tcp does the same check anywhere.
    wait = {
        "name": "wait-for-backend",
        "image": image,
        "command": [
            "bash",
            "-c",
            f"until timeout 2 bash -c '</dev/tcp/{names.backend}/8080'; "
            "do echo waiting for backend; sleep 5; done",
        ],
        "resources": {
            "requests": {"cpu": "25m", "memory": "64Mi"},
            "limits": {"cpu": "100m", "memory": "128Mi"},
        },
        "securityContext": CONTAINER_SECURITY,
    }
    main = container(
        "frontend",
        image,
        frontend,
        RESOURCES,
        ports=[{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        env=[env("BACKEND_URL", f"http://{names.backend}:8080"), *ctx.extra_env(frontend)],
        livenessProbe=http_probe("/", "http", 30, 10, 5, 3),
        readinessProbe=http_probe("/", "http", 5, 5, 3, 3),
    )
    template = pod_template(
        inst,
        "web",
        pin.version,
        frontend,
        {"initContainers": [wait], "containers": [main]},
        platform=ctx.facts.platform,
        service_account=names.service_account,
    )
    return [
        pinned(deployment(inst, names.frontend, "web", pin.version, frontend, template), pin),
        service(inst, names.frontend, "web", version, 8080, "http"),
    ]
