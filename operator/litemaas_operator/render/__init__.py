"""Pure rendering: (spec, cluster facts) -> the complete list of child manifests.

The same function serves the ``render`` command and the reconciler. Each module builds one
component, in the spirit of CloudNativePG's ``pkg/specs``; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import credentials as cred
from ..api.spec import LiteMaaSSpec
from ..facts import ClusterFacts, Instance
from . import (
    auth,
    backend,
    database,
    frontend,
    litellm,
    networkpolicy,
    password_rotation,
    redis,
    routing,
)
from .context import RenderContext
from .endpoints import Endpoints, Problem, resolve
from .groups import desired_groups, group_manifest
from .pods import with_image_pull_secrets
from .secrets import carry_hash_key, hash_key_carriers

BUILDERS = (
    auth.build,
    database.build,
    password_rotation.build,
    redis.build,
    litellm.build,
    backend.build,
    frontend.build,
    routing.build,
    networkpolicy.build,
)


@dataclass
class DesiredState:
    """What one instance should look like, and what stopped any part of it from rendering."""

    objects: list[dict[str, Any]]
    endpoints: Endpoints
    groups: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def by_kind(self, kind: str) -> list[dict[str, Any]]:
        """The rendered objects of one kind."""
        return [o for o in self.objects if o["kind"] == kind]


def desired_state(spec: LiteMaaSSpec, facts: ClusterFacts, instance: Instance) -> DesiredState:
    """Render every child of ``instance``: Deployments, StatefulSet, Secrets, Services, routes..."""
    endpoints = resolve(spec, facts, instance)
    ctx = RenderContext(spec, facts, instance, endpoints, problems=list(endpoints.problems))
    objects = [obj for build in BUILDERS for obj in build(ctx)]
    hash_key = facts.credentials.get(cred.CONFIG_HASH_KEY.key)
    objects = carry_hash_key(objects, hash_key_carriers(ctx.names), hash_key)
    objects = with_image_pull_secrets(objects, spec.image_pull_secrets)
    groups = desired_groups(spec.groups, instance) if facts.has_user_api else {}
    if spec.groups.manage and not facts.has_user_api:
        ctx.problems.append(
            Problem(
                "invalid",
                "auth",
                "GroupsUnavailable",
                "groups.manage is set but this cluster does not serve user.openshift.io",
            )
        )
    # One problem per (component, reason): builders that share an input report it once.
    unique = list({(p.component, p.reason): p for p in ctx.problems}.values())
    return DesiredState(objects, endpoints, groups, unique)


__all__ = ["DesiredState", "Problem", "desired_state", "group_manifest"]
